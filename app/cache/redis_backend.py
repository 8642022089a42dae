"""A cache backend in Redis, shared by every worker of every app instance that uses it.

Each named cache keeps its generation in one Redis key,
``<prefix>:<cache>:generation``, and its entries in keys
``<prefix>:<cache>:entry:<repr of the cache key>``. An entry stores the
generation it was computed in beside the value. So a ``get`` is one ``MGET`` of
the generation and the entry, and a ``clear`` is one ``INCR``. Entries of an
older generation are never returned and expire with their TTL.

Values are pickled, so pydantic models, dates, decimals, integer dictionary
keys and cached "not found" exceptions come back with their types. Pickle runs
code named in the data it loads, so only the app may write to this Redis
database: keep it on a private network with a password (``LEITSTAND_REDIS_URL``).

Redis bounds the memory (``maxmemory`` with ``allkeys-lru``), so the capacity
knob of the control API applies to the memory backend only.
"""

from __future__ import annotations

import pickle
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.cache.backend import MISSING
from app.cache.keys import CacheKey

# Stores the entry only while the generation is still the one the value was
# computed in, atomically, so a write that invalidates meanwhile wins.
_SET_IF_GENERATION = """
local current = redis.call('GET', KEYS[1])
if (current or '0') == ARGV[1] then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
    return 1
end
return 0
"""


def connect(url: str, timeout_seconds: float) -> redis.Redis:
    """Return a client for ``url`` that fails fast instead of retrying.

    A failed call counts in ``erp_cache_errors_total`` and the request reads
    the database instead, so a retry would only add latency. The client's
    connection pool reconnects on the next call, which is how the cache
    recovers when Redis returns. The pool notices a fork and opens new
    connections in the child.
    """
    # NOTE: a refused connection fails at once, but an unreachable host that
    # drops packets blocks the event loop for up to the timeout on every call
    # (two or three calls per cached read) until Redis answers again.
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


class RedisBackend:
    """Storage of one named cache in Redis (see the module docstring for the layout)."""

    def __init__(self, client: redis.Redis, name: str, prefix: str = "leitstand:cache") -> None:
        self._client = client
        self._generation_key = f"{prefix}:{name}:generation"
        self._entry_prefix = f"{prefix}:{name}:entry:"
        self._set_script = client.register_script(_SET_IF_GENERATION)

    def get(self, key: CacheKey) -> Any:
        generation, payload = self._client.mget(self._generation_key, self._entry_key(key))
        if payload is None:
            return MISSING
        # Only the app writes this database (see the module docstring).
        stored_generation, value = pickle.loads(cast(bytes, payload))  # noqa: S301
        if stored_generation != _parse_generation(generation):
            return MISSING
        return value

    def set(self, key: CacheKey, value: Any, ttl_seconds: float, generation: int) -> None:
        payload = pickle.dumps((generation, value), protocol=pickle.HIGHEST_PROTOCOL)
        milliseconds = max(1, round(ttl_seconds * 1000))
        self._set_script(
            keys=[self._generation_key, self._entry_key(key)],
            args=[str(generation), payload, milliseconds],
        )

    def delete(self, key: CacheKey) -> None:
        self._client.delete(self._entry_key(key))

    def clear(self) -> None:
        self._client.incr(self._generation_key)

    def generation(self) -> int:
        return _parse_generation(self._client.get(self._generation_key))

    def _entry_key(self, key: CacheKey) -> str:
        # The repr of a key is the same in every process (see CacheBackend).
        return self._entry_prefix + repr(key)


def _parse_generation(raw: Any) -> int:
    return 0 if raw is None else int(raw)
