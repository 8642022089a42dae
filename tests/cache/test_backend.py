from __future__ import annotations

from app.cache import MISSING, CacheBackend, CacheConfig, MemoryBackend
from app.cache.config import SharedRegion
from app.cache.metrics import CacheMetrics
from app.shared_state import SharedState
from tests.cache.conftest import ManualClock


def memory_backend(state: SharedState, clock: ManualClock) -> MemoryBackend:
    region = SharedRegion(state, "backend", CacheConfig(capacity=16, ttl_seconds=60))
    return MemoryBackend(region, CacheMetrics.bind("backend"), timer=clock)


def test_memory_backend_is_a_cache_backend(state: SharedState) -> None:
    backend: CacheBackend = memory_backend(state, ManualClock())
    assert backend.generation() == 0


def test_get_set_delete(state: SharedState) -> None:
    clock = ManualClock()
    backend = memory_backend(state, clock)
    backend.set(("k", 1), "value", ttl_seconds=5, generation=0)
    assert backend.get(("k", 1)) == "value"
    backend.delete(("k", 1))
    assert backend.get(("k", 1)) is MISSING
    backend.delete(("k", 1))  # deleting a missing key is no error


def test_entry_has_its_own_ttl(state: SharedState) -> None:
    clock = ManualClock()
    backend = memory_backend(state, clock)
    backend.set(("short",), 1, ttl_seconds=1, generation=0)
    backend.set(("long",), 2, ttl_seconds=10, generation=0)
    clock.advance(1)
    assert backend.get(("short",)) is MISSING
    assert backend.get(("long",)) == 2


def test_clear_starts_generation_for_every_handle(state: SharedState) -> None:
    clock = ManualClock()
    first = memory_backend(state, clock)
    second = memory_backend(state, clock)
    first.set(("k",), 1, ttl_seconds=60, generation=0)
    second.set(("k",), 1, ttl_seconds=60, generation=0)

    second.clear()

    assert first.generation() == 1
    assert first.get(("k",)) is MISSING
    assert second.get(("k",)) is MISSING


def test_value_from_older_generation_is_not_stored(state: SharedState) -> None:
    backend = memory_backend(state, ManualClock())
    started_at = backend.generation()
    backend.clear()  # a write commits while the value is computed
    backend.set(("k",), "stale", ttl_seconds=60, generation=started_at)
    assert backend.get(("k",)) is MISSING
    backend.set(("k",), "fresh", ttl_seconds=60, generation=backend.generation())
    assert backend.get(("k",)) == "fresh"
