"""Fixtures for the cache tests: fresh shared state and uniquely named caches."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from app.cache import Cache, CacheConfig
from app.shared_state import SharedState

_names = itertools.count()

MakeCache = Callable[..., Cache]


class ManualClock:
    """A monotonic clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def state() -> Iterator[SharedState]:
    shared = SharedState.temporary()
    yield shared
    shared.close()


@pytest.fixture
def make_cache(state: SharedState) -> MakeCache:
    """Build a cache with a name no other test uses, so its metrics start at zero."""

    def make(
        capacity: int = 100,
        ttl_seconds: float = 60.0,
        negative_ttl_seconds: float = 5.0,
        **options: object,
    ) -> Cache:
        config = CacheConfig(capacity, ttl_seconds, negative_ttl_seconds)
        return Cache(f"test{next(_names)}", config, state, **options)  # type: ignore[arg-type]

    return make
