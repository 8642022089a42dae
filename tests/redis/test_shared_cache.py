"""Caches of two app instances on one Redis: shared entries, invalidation, outages."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from app.cache import Cache, CacheConfig
from app.cache.redis_backend import RedisBackend, connect
from app.shared_state import SharedState
from tests.redis.server import RedisServer

_names = itertools.count()


class Instance:
    """One app instance's view of a named cache: its own shared state, the common Redis."""

    def __init__(self, url: str, name: str, prefix: str) -> None:
        self.state = SharedState.temporary()
        backend = RedisBackend(connect(url, timeout_seconds=0.5), name, prefix=prefix)
        self.cache = Cache(name, CacheConfig(100, 60.0), self.state, backend=backend)
        self.calls = 0

    def read(self, key: int, rows: dict[int, str]) -> str:
        def compute(key: int) -> str:
            self.calls += 1
            return rows[key]

        result: str = self.cache.call(("row", key), compute, (key,), {})
        return result


@pytest.fixture
def name() -> str:
    return f"shared{next(_names)}"


@pytest.fixture
def instances(redis_url: str, name: str, prefix: str) -> Iterator[tuple[Instance, Instance]]:
    first, second = Instance(redis_url, name, prefix), Instance(redis_url, name, prefix)
    yield first, second
    first.state.close()
    second.state.close()


def errors(name: str) -> float:
    return REGISTRY.get_sample_value("erp_cache_errors_total", {"cache": name}) or 0.0


def test_entry_computed_once_for_both_instances(instances: tuple[Instance, Instance]) -> None:
    first, second = instances
    rows = {1: "alt"}

    assert first.read(1, rows) == "alt"
    assert second.read(1, rows) == "alt"

    assert first.calls == 1
    assert second.calls == 0


def test_write_invalidates_other_instance(
    instances: tuple[Instance, Instance],
) -> None:
    first, second = instances
    rows = {1: "alt"}
    assert first.read(1, rows) == "alt"
    assert second.read(1, rows) == "alt"

    rows[1] = "neu"  # the write commits through the second instance
    second.cache.clear()

    assert first.read(1, rows) == "neu"
    assert second.read(1, rows) == "neu"
    assert first.calls == 2


def test_outage_serves_from_source_and_recovers(
    restartable_redis: RedisServer, name: str, prefix: str
) -> None:
    instance = Instance(restartable_redis.url, name, prefix)
    rows = {1: "alt"}
    assert instance.read(1, rows) == "alt"
    assert instance.read(1, rows) == "alt"
    assert instance.calls == 1
    assert errors(name) == 0

    restartable_redis.stop()
    rows[1] = "neu"
    instance.cache.clear()  # the write's invalidation fails and is counted

    assert instance.read(1, rows) == "neu"
    assert instance.read(1, rows) == "neu"
    assert instance.calls == 3
    assert errors(name) >= 3

    restartable_redis.start()
    failed = errors(name)

    assert instance.read(1, rows) == "neu"
    assert instance.read(1, rows) == "neu"
    assert instance.calls == 4
    assert errors(name) == failed
    instance.state.close()
