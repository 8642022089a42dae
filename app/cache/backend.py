"""Storage behind a named cache: the backend interface and the in-process backend.

The front end (``app.cache.region.Cache``) talks to its storage only through
``CacheBackend``, so a shared backend (Redis) can replace the in-process one
without changing any caller.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Final, Protocol

from cachetools import TLRUCache

from app.cache.config import SharedRegion
from app.cache.keys import CacheKey
from app.cache.metrics import CacheMetrics


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""The result of ``CacheBackend.get`` for a key without a live entry."""


class CacheBackend(Protocol):
    """Storage of one named cache.

    Every entry belongs to a generation. ``clear`` starts a new generation in
    every process that shares the cache, and from then on ``get`` returns no
    entry of an older one. ``set`` takes the generation that was current when
    the caller started computing the value, and stores nothing when a newer
    generation began meanwhile, because a write may have changed the data the
    value was computed from. A backend for several processes (Redis) keeps the
    generation where all of them see it and may put it into its keys.

    Keys are tuples of strings, numbers, classes and nested tuples, whose
    ``repr`` is the same in every process. Values are the results of the cached
    functions (pydantic models, lists of them, ``None``). Methods are called
    from threads and from event loops at once, so they must be thread-safe, and
    they are synchronous, so a remote backend must respond in well under a
    millisecond. An exception from any method counts in
    ``erp_cache_errors_total``, and the call then computes its result without
    the cache.
    """

    def get(self, key: CacheKey) -> Any:
        """Return the live value stored under ``key``, or ``MISSING``."""
        ...

    def set(self, key: CacheKey, value: Any, ttl_seconds: float, generation: int) -> None:
        """Store ``value`` for ``ttl_seconds`` unless the generation moved past ``generation``."""
        ...

    def delete(self, key: CacheKey) -> None:
        """Remove the entry under ``key``, if any."""
        ...

    def clear(self) -> None:
        """Start a new generation: every process drops every entry on its next access."""
        ...

    def generation(self) -> int:
        """Return the current generation."""
        ...


def _expiry(_key: Hashable, entry: tuple[Any, float], now: float) -> float:
    return now + entry[1]


class _Store(TLRUCache[CacheKey, tuple[Any, float]]):
    """A size-bounded LRU map with a time to live per entry that counts its evictions."""

    def __init__(self, maxsize: int, timer: Callable[[], float], metrics: CacheMetrics) -> None:
        super().__init__(maxsize, ttu=_expiry, timer=timer)
        self._evictions = metrics.evictions

    def popitem(self) -> tuple[CacheKey, tuple[Any, float]]:
        # TLRUCache calls popitem only to make room; expired entries leave
        # through expire() first and are not counted as evictions.
        item = super().popitem()
        self._evictions.inc()
        return item


class MemoryBackend:
    """Entries in this process's memory, invalidated through the shared generation.

    Each worker process keeps its own entries: at most the capacity stored in
    the shared state, least recently used first out. Expired entries are removed
    on the next insert (``TLRUCache`` expires lazily), so memory stays bounded
    by the capacity. Times come from a monotonic clock, so a jump of the wall
    clock changes no entry's age.
    """

    def __init__(
        self,
        region: SharedRegion,
        metrics: CacheMetrics,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._region = region
        self._state = region.state
        self._generation_name = region.generation_name
        self._metrics = metrics
        self._timer = timer
        # Held only for dictionary operations, never while a value is computed.
        self._lock = threading.Lock()
        # No generation yet: the first access starts one and sets the gauges.
        # The app is built in the supervisor before it forks the workers, and
        # a gauge set there would count as one more live worker.
        self._generation = math.nan
        self._store = _Store(1, timer, metrics)

    def __len__(self) -> int:
        with self._lock:
            return len(self._store)

    def get(self, key: CacheKey) -> Any:
        generation = self._state.get(self._generation_name)
        with self._lock:
            if generation != self._generation:
                self._start_generation(generation)
                return MISSING
            try:
                entry = self._store[key]
            except KeyError:
                return MISSING
        return entry[0]

    def set(self, key: CacheKey, value: Any, ttl_seconds: float, generation: int) -> None:
        current = self._state.get(self._generation_name)
        if current != generation:
            return  # a write or a clear happened while the value was computed
        with self._lock:
            if current != self._generation:
                self._start_generation(current)
            self._store[key] = (value, ttl_seconds)
            self._metrics.entries.set(len(self._store))

    def delete(self, key: CacheKey) -> None:
        with self._lock:
            self._store.pop(key, None)
            self._metrics.entries.set(len(self._store))

    def clear(self) -> None:
        self._region.bump_generation()

    def generation(self) -> int:
        return int(self._state.get(self._generation_name))

    def reset_after_fork(self) -> None:
        """Give a forked child a fresh lock and no entries; the parent's lock may be held."""
        self._lock = threading.Lock()
        self._generation = math.nan
        self._store = _Store(1, self._timer, self._metrics)

    def _start_generation(self, generation: float) -> None:
        # Called with the lock held. Dropping the old store is O(1); its
        # entries are freed after the lock is released.
        capacity = max(1, self._region.capacity())
        self._generation = generation
        self._store = _Store(capacity, self._timer, self._metrics)
        self._metrics.capacity.set(capacity)
        self._metrics.entries.set(0)
