"""One named cache: lookups, single-flight computation, invalidation and knobs."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cachetools import LRUCache

from app.cache.backend import MISSING, CacheBackend, MemoryBackend
from app.cache.config import CacheConfig, SharedRegion
from app.cache.flight import FlightAbandoned, Flights
from app.cache.keys import CacheKey
from app.cache.metrics import CacheMetrics
from app.shared_state import SharedState

logger = logging.getLogger("leitstand.cache")

# Seconds between two log lines about failures of one cache's backend.
ERROR_LOG_INTERVAL = 60.0

_lookup_only: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "leitstand_cache_lookup_only", default=False
)


class CacheMissError(LookupError):
    """A call inside ``lookup_only()`` found no entry, live or last, and did not compute one."""

    def __init__(self, cache: str) -> None:
        super().__init__(
            f"no entry in cache {cache!r}, live or last, and computing is off (lookup_only)"
        )
        self.cache = cache


@contextmanager
def lookup_only() -> Iterator[None]:
    """Serve cached results only: a miss inside the block raises ``CacheMissError``.

    The flag lives in a context variable, so it covers the current task or
    thread and what it starts, e.g. a degraded request handler.
    """
    token = _lookup_only.set(True)
    try:
        yield
    finally:
        _lookup_only.reset(token)


class NotFound:
    """A "not found" exception stored as an entry; a hit raises a copy of it."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        # The traceback and the exceptions chained to it hold the frames of the
        # computation (and their database session) alive while the entry lives.
        self.error = error.with_traceback(None)
        self.error.__context__ = self.error.__cause__ = None

    def __repr__(self) -> str:
        return f"NotFound({self.error!r})"


def unwrap(value: Any) -> Any:
    """Return a cached value, or raise the "not found" exception it stands for."""
    if type(value) is NotFound:
        raise _copy_exception(value.error)
    return value


def _copy_exception(error: BaseException) -> BaseException:
    """Copy ``error`` without calling its ``__init__`` (whose signature may differ from args).

    Raising one stored instance again would append every raise to its
    traceback, and callers in several threads would share it.
    """
    kind = type(error)
    try:
        fresh = kind.__new__(kind, *error.args)
        fresh.__dict__.update(error.__dict__)
    except (TypeError, AttributeError):  # a C type or a class with __slots__
        return error
    return fresh


class Cache:
    """A named cache in front of a backend (in-process memory unless one is given).

    ``call`` and ``acall`` return the cached result of a function for a key or
    compute it, once per key however many callers miss at the same time.
    Results are stored for the TTL in the shared state. ``None`` results and
    the exceptions listed as ``not_found`` are "not found" results, which are
    stored for the shorter negative TTL. Other exceptions are never stored.
    """

    def __init__(
        self,
        name: str,
        config: CacheConfig,
        state: SharedState,
        *,
        enabled: bool = True,
        backend: CacheBackend | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.config = config
        self.enabled = enabled
        self.metrics = CacheMetrics.bind(name)
        self._timer = timer
        self._flights = Flights()
        self._error_lock = threading.Lock()
        self._errors_since_log = 0
        self._last_error_log = -ERROR_LOG_INTERVAL
        self.region = SharedRegion(state, name, config)
        self.backend: CacheBackend = backend or MemoryBackend(self.region, self.metrics, timer)
        self._last_lock = threading.Lock()
        self._last: LRUCache[CacheKey, Any] = LRUCache(maxsize=config.capacity)

    def bind(self, state: SharedState, enabled: bool, config: CacheConfig) -> None:
        """Move the cache to another shared state (a new app instance in this process)."""
        self.enabled = enabled
        self.config = config
        self.region = SharedRegion(state, self.name, self.config)
        self.backend = MemoryBackend(self.region, self.metrics, self._timer)
        self._flights = Flights()
        self._last = LRUCache(maxsize=config.capacity)

    def reset_after_fork(self) -> None:
        self._flights.reset_after_fork()
        self._error_lock = threading.Lock()
        self._last_lock = threading.Lock()
        if isinstance(self.backend, MemoryBackend):
            self.backend.reset_after_fork()

    # Lookups and computation.

    def lookup(self, key: CacheKey, count_miss: bool = True) -> Any:
        """Return the live entry of ``key`` or ``MISSING``, counting a hit or a miss.

        ``count_miss=False`` counts only a hit, for a lookup whose miss goes on
        to a cached function that counts the outcome itself.
        """
        try:
            value = self.backend.get(key)
        except Exception as error:
            self._backend_failed("get", error)
            value = MISSING
        if value is not MISSING:
            self.metrics.hits.inc()
        elif count_miss:
            self.metrics.misses.inc()
        return value

    def generation(self) -> int | None:
        """Return the current generation, or ``None`` when the backend failed."""
        return self._generation()

    def store(self, key: CacheKey, value: Any, generation: int) -> None:
        """Store ``value`` computed in ``generation`` for the cache's TTL."""
        self._store(key, value, generation)

    def call(
        self,
        key: CacheKey,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        not_found: tuple[type[BaseException], ...] = (),
    ) -> Any:
        """Return the cached result of ``func(*args, **kwargs)`` under ``key``."""
        value = self.lookup(key)
        if value is MISSING:
            value = self._compute(key, func, args, kwargs, not_found)
        return unwrap(value)

    async def acall(
        self,
        key: CacheKey,
        func: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        not_found: tuple[type[BaseException], ...] = (),
    ) -> Any:
        """Return the cached result of ``await func(*args, **kwargs)`` under ``key``."""
        value = self.lookup(key)
        if value is MISSING:
            value = await self._acompute(key, func, args, kwargs, not_found)
        return unwrap(value)

    def _compute(
        self,
        key: CacheKey,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        not_found: tuple[type[BaseException], ...],
    ) -> Any:
        if _lookup_only.get():
            return self._last_result(key)
        while True:
            generation = self._generation()
            if generation is None:  # the backend failed: compute without the cache
                return _run(func, args, kwargs, not_found)
            # The generation is part of the flight's key: a caller that arrives
            # after a write must not get the value a leader computed before it.
            flight_key = (generation, key)
            flight, leader = self._flights.join(flight_key)
            if leader:
                break
            try:
                return flight.result()
            except FlightAbandoned:
                continue

        try:
            # A flight that landed between this caller's miss and its join
            # has stored the value already.
            value = self._peek(key)
            if value is MISSING:
                value = _run(func, args, kwargs, not_found)
                self._store(key, value, generation)
        except Exception as error:
            self._flights.fail(flight_key, flight, error)
            raise
        except BaseException:
            self._flights.abandon(flight_key, flight)
            raise
        self._flights.land(flight_key, flight, value)
        return value

    async def _acompute(
        self,
        key: CacheKey,
        func: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        not_found: tuple[type[BaseException], ...],
    ) -> Any:
        if _lookup_only.get():
            return self._last_result(key)
        while True:
            generation = self._generation()
            if generation is None:
                return await _arun(func, args, kwargs, not_found)
            flight_key = (generation, key)
            flight, leader = self._flights.join(flight_key)
            if leader:
                break
            try:
                return await asyncio.wrap_future(flight)
            except FlightAbandoned:
                continue

        try:
            value = self._peek(key)
            if value is MISSING:
                value = await _arun(func, args, kwargs, not_found)
                self._store(key, value, generation)
        except Exception as error:
            self._flights.fail(flight_key, flight, error)
            raise
        except BaseException:  # cancelled: a follower takes over
            self._flights.abandon(flight_key, flight)
            raise
        self._flights.land(flight_key, flight, value)
        return value

    def _peek(self, key: CacheKey) -> Any:
        try:
            return self.backend.get(key)
        except Exception as error:
            self._backend_failed("get", error)
            return MISSING

    def _generation(self) -> int | None:
        try:
            return self.backend.generation()
        except Exception as error:
            self._backend_failed("generation", error)
            return None

    def _last_result(self, key: CacheKey) -> Any:
        """Return the last result computed for ``key`` or raise ``CacheMissError``."""
        with self._last_lock:
            value = self._last.get(key, MISSING)
        if value is MISSING:
            raise CacheMissError(self.name)
        return value

    def _store(self, key: CacheKey, value: Any, generation: int) -> None:
        if value is None or type(value) is NotFound:
            ttl = min(self.config.negative_ttl_seconds, self.region.ttl_seconds())
        else:
            ttl = self.region.ttl_seconds()
            if self.config.keep_last:
                with self._last_lock:
                    self._last[key] = value
        try:
            self.backend.set(key, value, ttl, generation)
        except Exception as error:
            self._backend_failed("set", error)

    def _backend_failed(self, operation: str, error: Exception) -> None:
        self.metrics.errors.inc()
        with self._error_lock:
            self._errors_since_log += 1
            now = time.monotonic()
            if now - self._last_error_log < ERROR_LOG_INTERVAL:
                return
            count, self._errors_since_log = self._errors_since_log, 0
            self._last_error_log = now
        logger.warning(
            "cache %s: backend %s failed (%d failures since the last message), serving "
            "without the cache: %r; check the backend, the counter is erp_cache_errors_total",
            self.name,
            operation,
            count,
            error,
        )

    # Invalidation and knobs.

    def clear(self) -> None:
        """Drop every entry in every worker: they notice on their next access."""
        try:
            self.backend.clear()
        except Exception as error:
            # NOTE: entries of a shared backend that is unreachable now but keeps
            # its data can be served stale after it returns, for their TTL at most.
            self._backend_failed("clear", error)

    def set_capacity(self, capacity: int) -> int:
        """Set the maximum entries per worker (empties the cache); return the previous value."""
        previous = self.region.set_capacity(capacity)
        logger.info("cache %s: capacity %d -> %d entries", self.name, previous, capacity)
        return previous

    def set_ttl(self, seconds: float) -> float:
        """Set the time to live of entries (empties the cache); return the previous value."""
        previous = self.region.set_ttl(seconds)
        logger.info("cache %s: TTL %g -> %g s", self.name, previous, seconds)
        return previous

    def describe(self) -> dict[str, Any]:
        """Return the cache's knob values and this worker's entry count."""
        backend = self.backend
        return {
            "enabled": self.enabled,
            "capacity": self.region.capacity(),
            "ttl_seconds": self.region.ttl_seconds(),
            "negative_ttl_seconds": self.config.negative_ttl_seconds,
            "default_capacity": self.config.capacity,
            "default_ttl_seconds": self.config.ttl_seconds,
            "generation": int(self.region.generation()),
            "entries": len(backend) if isinstance(backend, MemoryBackend) else None,
        }


def _run(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    not_found: tuple[type[BaseException], ...],
) -> Any:
    try:
        return func(*args, **kwargs)
    except not_found as error:
        return NotFound(error)


async def _arun(
    func: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    not_found: tuple[type[BaseException], ...],
) -> Any:
    try:
        return await func(*args, **kwargs)
    except not_found as error:
        return NotFound(error)
