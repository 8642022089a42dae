"""The ``cached`` decorator for sync and async functions."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar, cast

from app.cache.keys import key_function
from app.cache.region import Cache

P = ParamSpec("P")
R = TypeVar("R")

# Parameters that never belong in a key: a database session or a request
# differs on every call and does not change the result.
DEFAULT_IGNORE = ("session", "request")


def cached(
    cache: str | Cache,
    *,
    ignore: Iterable[str] | None = None,
    not_found: tuple[type[BaseException], ...] = (),
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache the results of a function (sync or ``async def``) in a named cache.

    ``cache`` is a name from ``caches.names()`` (resolved on the first call,
    so importing a decorated module does no work) or a ``Cache``. The key is
    built from every argument except those named in ``ignore``. Without
    ``ignore``, the parameters in ``DEFAULT_IGNORE`` are left out. An
    ``async def`` function's result is stored, never its coroutine. ``None``
    results and the exceptions in ``not_found`` are cached for the cache's
    short negative TTL, and other exceptions are never cached.

    The wrapper has ``cache_region()``, which returns the ``Cache``.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        names = inspect.signature(func).parameters
        ignored = (
            tuple(ignore) if ignore is not None else tuple(n for n in DEFAULT_IGNORE if n in names)
        )
        build_key = key_function(func, ignored)
        region: Cache | None = cache if isinstance(cache, Cache) else None

        def cache_region() -> Cache:
            nonlocal region
            if region is None:
                from app.cache.registry import caches

                region = caches.get(cast(str, cache))
            return region

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                target = region or cache_region()
                if not target.enabled:
                    return await func(*args, **kwargs)
                return await target.acall(build_key(args, kwargs), func, args, kwargs, not_found)

            async_wrapper.cache_region = cache_region  # type: ignore[attr-defined]
            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            target = region or cache_region()
            if not target.enabled:
                return func(*args, **kwargs)
            return target.call(build_key(args, kwargs), func, args, kwargs, not_found)

        wrapper.cache_region = cache_region  # type: ignore[attr-defined]
        return cast(Callable[P, R], wrapper)

    return decorate
