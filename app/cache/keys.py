"""Cache keys built from a function's arguments.

A key is a tuple of hashable, immutable parts: the function's qualified name,
then its arguments. Arguments that are not hashable (dicts, lists, sets,
pydantic models, dataclasses) are frozen into tuples, and mappings and sets are
sorted, so equal values give equal keys whatever their insertion order. The
parts are built only from strings, numbers and classes, so ``repr(key)`` is the
same in every process and a shared backend can use it as its key.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Hashable, Iterable, Mapping, Set
from typing import Any, cast

from pydantic import BaseModel

CacheKey = tuple[Hashable, ...]
KeyFunction = Callable[[tuple[Any, ...], dict[str, Any]], CacheKey]

# Types that are used in keys as they are. Every other type is tagged with its
# class, so that ``True`` and ``1`` or ``1.0`` and ``1`` never share an entry.
_PLAIN: frozenset[type] = frozenset({int, str})
_IDENTITY_HASH: Any = object.__hash__


def freeze(value: Any) -> Hashable:
    """Convert ``value`` into a hashable key part; equal values give equal parts."""
    kind = type(value)
    if kind in _PLAIN or value is None:
        return cast(Hashable, value)
    if isinstance(value, BaseModel):
        # The field values as they are, nested models frozen in turn: faster
        # than model_dump(), which converts the whole tree first.
        values = tuple((name, freeze(item)) for name, item in value.__dict__.items())
        extra = value.__pydantic_extra__
        return (kind, values, freeze(extra) if extra else None)
    if isinstance(value, Mapping):
        return (dict, _sorted(tuple((freeze(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, Set):
        return (frozenset, _sorted(tuple(freeze(item) for item in value)))
    if isinstance(value, list | tuple):
        return (tuple, tuple(freeze(item) for item in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (kind, tuple((f.name, freeze(getattr(value, f.name))) for f in fields))
    if kind.__hash__ is None:
        raise TypeError(
            f"cannot build a cache key from an argument of type {kind.__qualname__}: it is "
            "not hashable; pass a dict, list, set, dataclass or pydantic model instead"
        )
    if kind.__hash__ is _IDENTITY_HASH:
        # Hashed by identity: every call would get a new key and miss.
        raise TypeError(
            f"cannot build a cache key from an argument of type {kind.__qualname__}: it is "
            "hashed by identity, so every call would miss; leave it out of the key "
            "with ignore=(...)"
        )
    return (kind, cast(Hashable, value))


def _sorted(parts: Iterable[Hashable]) -> tuple[Hashable, ...]:
    try:
        return tuple(sorted(parts))  # type: ignore[type-var]
    except TypeError:  # parts of different types: order them by their text instead
        return tuple(sorted(parts, key=repr))


def key_function(func: Callable[..., Any], ignore: Iterable[str] = ()) -> KeyFunction:
    """Build the key function of ``func``, leaving out the parameters named in ``ignore``.

    A parameter is left out whether it is passed by position or by keyword.
    Passing the same value once by position and once by keyword gives two keys
    (two entries for one result), as with ``functools.lru_cache``.
    """
    ignored = frozenset(ignore)
    parameters = list(inspect.signature(func).parameters.values())
    unknown = ignored - {parameter.name for parameter in parameters}
    if unknown:
        raise ValueError(
            f"invalid ignore={sorted(unknown)}: not parameters of {func.__qualname__}, "
            f"which has {[parameter.name for parameter in parameters]}"
        )
    positional_kinds = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    ignored_positions = frozenset(
        index
        for index, parameter in enumerate(parameters)
        if parameter.kind in positional_kinds and parameter.name in ignored
    )
    prefix = f"{func.__module__}.{func.__qualname__}"
    plain = _PLAIN

    def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CacheKey:
        parts: list[Hashable] = [prefix]
        for index, arg in enumerate(args):
            if index not in ignored_positions:
                parts.append(arg if type(arg) in plain else freeze(arg))
        if kwargs:
            named = [(name, freeze(arg)) for name, arg in kwargs.items() if name not in ignored]
            parts.append(tuple(sorted(named)))
        return tuple(parts)

    return build
