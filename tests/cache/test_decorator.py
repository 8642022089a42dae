from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY

from app.cache import Cache, CacheMissError, cached, lookup_only
from app.cache.config import CacheConfig
from app.shared_state import SharedState
from tests.cache.conftest import MakeCache, ManualClock


class KundeNotFoundError(LookupError):
    def __init__(self, kunde_id: int) -> None:
        super().__init__(f"Kunde {kunde_id} not found")
        self.kunde_id = kunde_id


def sample(metric: str, cache: Cache) -> float:
    value = REGISTRY.get_sample_value(metric, {"cache": cache.name})
    return 0.0 if value is None else value


async def test_async_function_result_is_cached(make_cache: MakeCache) -> None:
    cache = make_cache()
    calls: list[int] = []

    @cached(cache)
    async def get_kunde(session: object, kunde_id: int) -> dict[str, Any]:
        calls.append(kunde_id)
        await asyncio.sleep(0)
        return {"id": kunde_id, "name": "Muster GmbH"}

    first = await get_kunde(object(), 7)
    second = await get_kunde(object(), 7)
    assert first == {"id": 7, "name": "Muster GmbH"}
    assert second == first
    assert calls == [7]
    assert sample("erp_cache_hits_total", cache) == 1
    assert sample("erp_cache_misses_total", cache) == 1


def test_sync_function_result_is_cached(make_cache: MakeCache) -> None:
    cache = make_cache()
    calls: list[int] = []

    @cached(cache)
    def get_artikel(session: object, artikel_id: int) -> dict[str, int]:
        calls.append(artikel_id)
        return {"id": artikel_id}

    assert get_artikel(None, 1) == {"id": 1}
    assert get_artikel(None, 1) == {"id": 1}
    assert get_artikel(None, 2) == {"id": 2}
    assert calls == [1, 2]
    assert get_artikel.cache_region() is cache  # type: ignore[attr-defined]


async def test_reordered_filter_dict_hits_entry(make_cache: MakeCache) -> None:
    cache = make_cache()
    calls: list[dict[str, Any]] = []

    @cached(cache)
    async def list_auftraege(session: object, filters: dict[str, Any]) -> list[int]:
        calls.append(filters)
        return [1, 2, 3]

    assert await list_auftraege(object(), {"status": "offen", "page": 2}) == [1, 2, 3]
    assert await list_auftraege(object(), {"page": 2, "status": "offen"}) == [1, 2, 3]
    assert await list_auftraege(object(), filters={"page": 2, "status": "offen"}) == [1, 2, 3]
    assert await list_auftraege(object(), {"status": "offen", "page": 3}) == [1, 2, 3]
    # The keyword call is a separate key (like functools.lru_cache), page 3 another.
    assert len(calls) == 3
    assert sample("erp_cache_hits_total", cache) == 1


async def test_failure_is_not_cached(make_cache: MakeCache) -> None:
    cache = make_cache()
    outcomes: list[Exception | None] = [ConnectionError("database restarting"), None]

    @cached(cache)
    async def get_kunde(kunde_id: int) -> dict[str, int]:
        error = outcomes.pop(0)
        if error is not None:
            raise error
        return {"id": kunde_id}

    with pytest.raises(ConnectionError, match="database restarting"):
        await get_kunde(1)
    assert await get_kunde(1) == {"id": 1}
    assert await get_kunde(1) == {"id": 1}
    assert outcomes == []


def test_sync_failure_is_not_cached(make_cache: MakeCache) -> None:
    cache = make_cache()
    outcomes: list[Exception | None] = [TimeoutError("pool exhausted"), None]

    @cached(cache)
    def get_kunde(kunde_id: int) -> dict[str, int] | None:
        error = outcomes.pop(0)
        if error is not None:
            raise error
        return {"id": kunde_id}

    with pytest.raises(TimeoutError):
        get_kunde(1)
    assert get_kunde(1) == {"id": 1}
    assert outcomes == []


async def test_none_is_cached_for_negative_ttl(make_cache: MakeCache) -> None:
    clock = ManualClock()
    cache = make_cache(ttl_seconds=60, negative_ttl_seconds=2, timer=clock)
    rows: dict[int, dict[str, int]] = {}
    queries: list[int] = []

    @cached(cache)
    async def get_kunde(kunde_id: int) -> dict[str, int] | None:
        queries.append(kunde_id)
        return rows.get(kunde_id)

    for _ in range(100):
        assert await get_kunde(5) is None
    assert queries == [5]

    rows[5] = {"id": 5}
    clock.advance(2.5)
    assert await get_kunde(5) == {"id": 5}
    clock.advance(30)
    assert await get_kunde(5) == {"id": 5}
    assert queries == [5, 5]


async def test_not_found_exception_is_cached_and_raised(make_cache: MakeCache) -> None:
    cache = make_cache()
    queries: list[int] = []

    @cached(cache, not_found=(KundeNotFoundError,))
    async def get_kunde(kunde_id: int) -> dict[str, int]:
        queries.append(kunde_id)
        raise KundeNotFoundError(kunde_id)

    for _ in range(3):
        with pytest.raises(KundeNotFoundError, match="Kunde 9 not found") as raised:
            await get_kunde(9)
        assert raised.value.kunde_id == 9
    assert queries == [9]


async def test_write_ends_negative_entry_at_once(make_cache: MakeCache) -> None:
    cache = make_cache(negative_ttl_seconds=60)
    rows: dict[int, str] = {}

    @cached(cache)
    async def get_kunde(kunde_id: int) -> str | None:
        return rows.get(kunde_id)

    assert await get_kunde(1) is None
    rows[1] = "Muster GmbH"
    cache.clear()
    assert await get_kunde(1) == "Muster GmbH"


async def test_disabled_cache_calls_through(make_cache: MakeCache) -> None:
    cache = make_cache(enabled=False)
    calls: list[int] = []

    @cached(cache)
    async def get_artikel(artikel_id: int) -> int:
        calls.append(artikel_id)
        return artikel_id

    assert await get_artikel(1) == 1
    assert await get_artikel(1) == 1
    assert calls == [1, 1]
    assert sample("erp_cache_misses_total", cache) == 0


async def test_lookup_only_serves_hits_and_raises_on_miss(make_cache: MakeCache) -> None:
    cache = make_cache()
    calls: list[int] = []

    @cached(cache)
    async def get_prognose(artikel_id: int) -> list[float]:
        calls.append(artikel_id)
        return [1.0, 2.0]

    assert await get_prognose(1) == [1.0, 2.0]
    with lookup_only():
        assert await get_prognose(1) == [1.0, 2.0]
        with pytest.raises(CacheMissError, match="no entry in cache"):
            await get_prognose(2)
    assert calls == [1]
    assert await get_prognose(2) == [1.0, 2.0]


def test_lookup_only_applies_to_sync_functions(make_cache: MakeCache) -> None:
    cache = make_cache()

    @cached(cache)
    def get_prognose(artikel_id: int) -> list[float]:
        return [float(artikel_id)]

    with lookup_only(), pytest.raises(CacheMissError):
        get_prognose(3)


def test_session_and_request_are_left_out_by_default(make_cache: MakeCache) -> None:
    cache = make_cache()
    calls: list[int] = []

    @cached(cache)
    def get_lager(session: object, request: object, artikel_id: int) -> int:
        calls.append(artikel_id)
        return artikel_id

    assert get_lager(object(), object(), 4) == 4
    assert get_lager(object(), object(), 4) == 4
    assert calls == [4]


def test_named_cache_resolved_on_first_call() -> None:
    @cached("artikel")
    def get_artikel(artikel_id: int) -> int:
        return artikel_id

    assert get_artikel(1) == 1
    assert get_artikel.cache_region().name == "artikel"  # type: ignore[attr-defined]


class ArtikelNotFoundError(LookupError):
    """An exception whose __init__ takes other arguments than its args."""

    def __init__(self, resource: str, resource_id: int) -> None:
        super().__init__(f"{resource} {resource_id} not found")
        self.resource = resource
        self.resource_id = resource_id


async def test_not_found_hits_raise_fresh_copies(make_cache: MakeCache) -> None:
    cache = make_cache()

    @cached(cache, not_found=(ArtikelNotFoundError,))
    async def get_artikel(artikel_id: int) -> dict[str, int]:
        raise ArtikelNotFoundError("Artikel", artikel_id)

    raised: list[ArtikelNotFoundError] = []
    for _ in range(3):
        with pytest.raises(ArtikelNotFoundError) as info:
            await get_artikel(4)
        raised.append(info.value)

    assert len({id(error) for error in raised}) == 3
    assert all(str(error) == "Artikel 4 not found" for error in raised)
    assert all(error.resource_id == 4 for error in raised)
    # A hit's traceback starts at the cache, not at every earlier raise.
    depths = [len(list(_frames(error.__traceback__))) for error in raised[1:]]
    assert depths[0] == depths[1]


def _frames(traceback: Any) -> Any:
    while traceback is not None:
        yield traceback
        traceback = traceback.tb_next


async def test_lookup_only_serves_last_result(state: SharedState) -> None:
    clock = ManualClock()
    config = CacheConfig(capacity=10, ttl_seconds=2.0, keep_last=True)
    cache = Cache("test-keep-last", config, state, timer=clock)
    calls: list[int] = []

    @cached(cache)
    async def get_prognose(artikel_id: int) -> list[float]:
        calls.append(artikel_id)
        return [float(len(calls))]

    assert await get_prognose(1) == [1.0]
    clock.advance(5.0)  # the entry has expired
    with lookup_only():
        assert await get_prognose(1) == [1.0]
        with pytest.raises(CacheMissError):
            await get_prognose(2)
    assert calls == [1]
    assert await get_prognose(1) == [2.0]
