"""In-process caching of the ERP app's reads, invalidated on write across workers.

Decorate a read with ``@cached("artikel")`` and call
``caches.invalidate("artikel")`` after a write commits. See docs/cache.md.
"""

from app.cache.backend import MISSING, CacheBackend, MemoryBackend
from app.cache.config import (
    CAPACITY_MAX,
    CAPACITY_MIN,
    DEFAULT_CONFIGS,
    TTL_MAX_SECONDS,
    TTL_MIN_SECONDS,
    CacheConfig,
    CacheKnobError,
)
from app.cache.decorator import cached
from app.cache.keys import CacheKey, freeze, key_function
from app.cache.region import Cache, CacheMissError, lookup_only
from app.cache.registry import CacheRegistry, UnknownCacheError, caches
from app.cache.responses import ResponseCache

__all__ = [
    "CAPACITY_MAX",
    "CAPACITY_MIN",
    "DEFAULT_CONFIGS",
    "MISSING",
    "TTL_MAX_SECONDS",
    "TTL_MIN_SECONDS",
    "Cache",
    "CacheBackend",
    "CacheConfig",
    "CacheKey",
    "CacheKnobError",
    "CacheMissError",
    "CacheRegistry",
    "MemoryBackend",
    "ResponseCache",
    "UnknownCacheError",
    "cached",
    "caches",
    "freeze",
    "key_function",
    "lookup_only",
]
