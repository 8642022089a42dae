from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from app.cache import Cache, cached
from tests.cache.conftest import MakeCache, ManualClock


def sample(metric: str, cache: Cache) -> float:
    value = REGISTRY.get_sample_value(metric, {"cache": cache.name})
    return 0.0 if value is None else value


def test_entry_expires_at_its_ttl(make_cache: MakeCache) -> None:
    clock = ManualClock()
    cache = make_cache(ttl_seconds=10, timer=clock)
    calls: list[int] = []

    @cached(cache)
    def get_artikel(artikel_id: int) -> int:
        calls.append(artikel_id)
        return artikel_id

    get_artikel(1)
    clock.advance(9.9)
    get_artikel(1)
    assert calls == [1]
    clock.advance(0.1)
    get_artikel(1)
    assert calls == [1, 1]


def test_wall_clock_jumps_do_not_change_expiry(
    make_cache: MakeCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    ttl = 1.0  # long enough that a starved test process still hits before it
    cache = make_cache(ttl_seconds=ttl)
    calls: list[int] = []
    real_time = time.time

    @cached(cache)
    def get_artikel(artikel_id: int) -> int:
        calls.append(artikel_id)
        return artikel_id

    get_artikel(1)
    # The wall clock jumps one hour ahead: the entry is not an hour old.
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    get_artikel(1)
    assert calls == [1]

    # It jumps back one hour: the entry still expires at its configured age.
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600)
    time.sleep(ttl + 0.1)
    get_artikel(1)
    assert calls == [1, 1]


def test_least_recently_used_entry_is_evicted(make_cache: MakeCache) -> None:
    cache = make_cache(capacity=3)
    calls: list[int] = []

    @cached(cache)
    def get_kunde(kunde_id: int) -> int:
        calls.append(kunde_id)
        return kunde_id

    for kunde_id in (1, 2, 3):
        get_kunde(kunde_id)
    get_kunde(1)  # 2 is now the least recently used
    get_kunde(4)
    assert sample("erp_cache_evictions_total", cache) == 1
    calls.clear()
    get_kunde(1)
    get_kunde(3)
    get_kunde(4)
    assert calls == []
    get_kunde(2)
    assert calls == [2]


def test_entries_stay_within_capacity(make_cache: MakeCache) -> None:
    cache = make_cache(capacity=20)

    @cached(cache)
    def get_kunde(kunde_id: int) -> int:
        return kunde_id

    for kunde_id in range(1000):
        get_kunde(kunde_id)
    assert len(cache.backend) == 20  # type: ignore[arg-type]
    assert sample("erp_cache_entries", cache) == 20
    assert sample("erp_cache_capacity_entries", cache) == 20
    assert sample("erp_cache_evictions_total", cache) == 980


def test_expired_entries_are_not_evictions(make_cache: MakeCache) -> None:
    clock = ManualClock()
    cache = make_cache(capacity=5, ttl_seconds=1, timer=clock)

    @cached(cache)
    def get_kunde(kunde_id: int) -> int:
        return kunde_id

    for kunde_id in range(5):
        get_kunde(kunde_id)
    clock.advance(2)
    for kunde_id in range(5, 10):
        get_kunde(kunde_id)
    assert sample("erp_cache_evictions_total", cache) == 0
    assert sample("erp_cache_entries", cache) == 5
