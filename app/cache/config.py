"""Defaults and knob bounds of the named caches, and their values in the shared state.

Every worker process of one app instance maps the same shared state file, so
a value written there applies in every worker. One named cache has three
values there:

- ``cache.<name>.generation``: bumped by every write that makes entries
  stale, by every clear and by every capacity or TTL change. A worker compares
  it with the generation its entries belong to on every read (one mmap read)
  and drops them all when it has moved on.
- ``cache.<name>.capacity``: maximum number of entries per worker.
- ``cache.<name>.ttl_seconds``: time to live of new entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.shared_state import SharedState

CAPACITY_MIN = 16
CAPACITY_MAX = 1_000_000
TTL_MIN_SECONDS = 1.0
TTL_MAX_SECONDS = 86_400.0


class CacheKnobError(ValueError):
    """A capacity or TTL outside its bounds."""


@dataclass(frozen=True)
class CacheConfig:
    """Start values of one named cache; the knobs change capacity and TTL at run time."""

    capacity: int
    ttl_seconds: float
    # Time to live of "not found" results: short, so a row created later shows up
    # soon even where no write path invalidates the cache.
    negative_ttl_seconds: float = 5.0
    # Keep each key's last computed result after its entry expires, for
    # ``lookup_only()`` callers (degraded mode) to serve instead of computing.
    keep_last: bool = False

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"cache capacity must be at least 1, not {self.capacity}")
        for field, value in (
            ("ttl_seconds", self.ttl_seconds),
            ("negative_ttl_seconds", self.negative_ttl_seconds),
        ):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"cache {field} must be a positive number, not {value}")


# The caches of the ERP app. Capacities fit the hot rows of the default seed.
# Stock levels change with every order, so the lager entries live shortest.
# The forecast is the expensive read, so its entries live longest.
DEFAULT_CONFIGS: dict[str, CacheConfig] = {
    "kunden": CacheConfig(capacity=10_000, ttl_seconds=60.0),
    "artikel": CacheConfig(capacity=4_096, ttl_seconds=60.0),
    "auftraege": CacheConfig(capacity=10_000, ttl_seconds=30.0),
    "rechnungen": CacheConfig(capacity=10_000, ttl_seconds=60.0),
    "lager": CacheConfig(capacity=4_096, ttl_seconds=10.0),
    "prognose": CacheConfig(capacity=2_048, ttl_seconds=300.0, keep_last=True),
}


def check_capacity(name: str, capacity: int) -> int:
    """Return ``capacity`` if it is an integer within the knob's bounds, else raise."""
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise CacheKnobError(
            f"invalid capacity {capacity!r} for cache {name!r}: expected an integer"
        )
    if not CAPACITY_MIN <= capacity <= CAPACITY_MAX:
        raise CacheKnobError(
            f"capacity {capacity} for cache {name!r} is out of bounds: "
            f"expected {CAPACITY_MIN} to {CAPACITY_MAX} entries"
        )
    return capacity


def check_ttl(name: str, seconds: float) -> float:
    """Return ``seconds`` as a float if it is within the knob's bounds, else raise."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise CacheKnobError(f"invalid TTL {seconds!r} for cache {name!r}: expected seconds")
    if not TTL_MIN_SECONDS <= seconds <= TTL_MAX_SECONDS:
        raise CacheKnobError(
            f"TTL {seconds} s for cache {name!r} is out of bounds: "
            f"expected {TTL_MIN_SECONDS:g} to {TTL_MAX_SECONDS:g} seconds"
        )
    return float(seconds)


class SharedRegion:
    """The shared state values of one named cache."""

    def __init__(self, state: SharedState, name: str, config: CacheConfig) -> None:
        self.state = state
        self.name = name
        self.generation_name = f"cache.{name}.generation"
        self.capacity_name = f"cache.{name}.capacity"
        self.ttl_name = f"cache.{name}.ttl_seconds"
        # Allocate the slots now: a read of an allocated slot is a dict lookup and
        # one unpack, while a missing name costs a scan of the slot table.
        state.setdefault(self.generation_name, 0.0)
        state.setdefault(self.capacity_name, float(config.capacity))
        state.setdefault(self.ttl_name, config.ttl_seconds)

    def generation(self) -> float:
        return self.state.get(self.generation_name)

    def bump_generation(self) -> float:
        return self.state.add(self.generation_name)

    def capacity(self) -> int:
        return int(self.state.get(self.capacity_name))

    def ttl_seconds(self) -> float:
        return self.state.get(self.ttl_name)

    def set_capacity(self, capacity: int) -> int:
        """Store a new capacity and bump the generation; return the previous capacity."""
        previous = self.capacity()
        self.state.set(self.capacity_name, float(check_capacity(self.name, capacity)))
        self.bump_generation()
        return previous

    def set_ttl(self, seconds: float) -> float:
        """Store a new TTL and bump the generation; return the previous TTL."""
        previous = self.ttl_seconds()
        self.state.set(self.ttl_name, check_ttl(self.name, seconds))
        self.bump_generation()
        return previous
