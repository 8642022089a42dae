"""The named caches of the app, and the calls the control API and write paths make.

``caches`` is the process's registry. ``create_app`` calls
``caches.configure(settings)``, which binds every cache to the instance's
shared state (``Settings.state_path``, or a temporary one for a single process)
and applies ``Settings.cache_enabled`` and ``Settings.cache_negative_ttl_seconds``.
A registry that was never configured configures itself from the environment on
first use.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from redis import Redis

from app.cache.config import DEFAULT_CONFIGS, CacheConfig
from app.cache.redis_backend import RedisBackend, connect
from app.cache.region import Cache
from app.settings import Settings
from app.shared_state import SharedState

logger = logging.getLogger("leitstand.cache")


class UnknownCacheError(KeyError):
    """A cache name that is not in the registry."""

    def __init__(self, name: str, names: list[str]) -> None:
        super().__init__(name)
        self.message = f"unknown cache {name!r}: expected one of {', '.join(names)}"

    def __str__(self) -> str:
        return self.message


class CacheRegistry:
    """The named caches of one process, created on first use from their configs."""

    def __init__(self, configs: Mapping[str, CacheConfig] = DEFAULT_CONFIGS) -> None:
        self._configs = dict(configs)
        self._caches: dict[str, Cache] = {}
        self._lock = threading.Lock()
        self._state: SharedState | None = None
        self._state_path: Path | None = None
        self._enabled = True
        self._negative_ttl_seconds: float | None = None
        self._redis: Redis | None = None
        reference = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _reset_after_fork(reference))

    def configure(self, settings: Settings | None = None) -> None:
        """Bind every cache to the shared state of ``settings`` and switch caching on or off."""
        settings = settings or Settings()
        with self._lock:
            self._configure_locked(settings)
        logger.debug(
            "caches bound to %s, caching %s",
            settings.state_path or "a temporary shared state",
            "on" if settings.cache_enabled else "off",
        )

    def names(self) -> list[str]:
        return list(self._configs)

    def get(self, name: str) -> Cache:
        """Return the named cache, creating it on first use."""
        cache = self._caches.get(name)
        if cache is not None:
            return cache
        if name not in self._configs:
            raise UnknownCacheError(name, self.names())
        with self._lock:
            cache = self._caches.get(name)
            if cache is None:
                state = self._state or self._configure_locked(Settings())
                cache = Cache(name, self._config(name), state, enabled=self._enabled)
                if self._redis is not None:
                    cache.backend = RedisBackend(self._redis, name)
                self._caches[name] = cache
            return cache

    def clear(self, name: str | None = None) -> list[str]:
        """Empty one cache (or all, for ``None``) in every worker; return the names cleared."""
        names = self.names() if name is None else [self.get(name).name]
        for cache_name in names:
            self.get(cache_name).clear()
        logger.info("cleared caches %s", ", ".join(names))
        return names

    def invalidate(self, *names: str) -> None:
        """Drop the entries of the named caches after a write changed their data.

        Call it after the transaction committed: a worker that computes a value
        between the bump and the commit would store the old data again.
        """
        for name in names:
            self.get(name).clear()

    def set_capacity(self, name: str, capacity: int) -> int:
        """Set a cache's capacity in every worker; return the previous capacity."""
        return self.get(name).set_capacity(capacity)

    def set_ttl(self, name: str, seconds: float) -> float:
        """Set a cache's TTL in every worker; return the previous TTL."""
        return self.get(name).set_ttl(seconds)

    def describe(self) -> dict[str, dict[str, Any]]:
        """Return every cache's knob values and this worker's entry count, by name."""
        return {name: self.get(name).describe() for name in self.names()}

    def _configure_locked(self, settings: Settings) -> SharedState:
        # No state path means a new single-process instance (an app built in a
        # test, say), whose caches must not serve another instance's entries.
        if self._state is None or settings.state_path is None:
            self._state = _open_state(settings.state_path)
        elif settings.state_path != self._state_path:
            self._state = _open_state(settings.state_path)
            self._state_path = settings.state_path
        self._enabled = settings.cache_enabled
        self._negative_ttl_seconds = settings.cache_negative_ttl_seconds
        self._redis = None
        if settings.cache_backend == "redis":
            self._redis = connect(settings.redis_url, settings.redis_timeout_seconds)
        for name, cache in self._caches.items():
            cache.bind(self._state, self._enabled, self._config(name))
            if self._redis is not None:
                cache.backend = RedisBackend(self._redis, name)
        return self._state

    def _config(self, name: str) -> CacheConfig:
        config = self._configs[name]
        if self._negative_ttl_seconds is None:
            return config
        return dataclasses.replace(config, negative_ttl_seconds=self._negative_ttl_seconds)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        for cache in self._caches.values():
            cache.reset_after_fork()


def _open_state(path: Path | None) -> SharedState:
    return SharedState(path) if path is not None else SharedState.temporary()


def _reset_after_fork(reference: weakref.ref[CacheRegistry]) -> None:
    registry = reference()
    if registry is not None:
        registry._reset_after_fork()


caches = CacheRegistry()
