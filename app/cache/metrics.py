"""Prometheus metrics of the caches, labelled by cache name.

The app runs prometheus_client in multiprocess mode with several workers.
Counters keep the totals of workers that exited. The gauges use ``livesum``:
each worker keeps its own entries, so the instance's entries and capacity are
the sums over the workers that are alive, and a worker that exits drops out.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge

HITS = Counter("erp_cache_hits", "Cache lookups that found a live entry.", ["cache"])
MISSES = Counter(
    "erp_cache_misses", "Cache lookups that found no live entry and computed it.", ["cache"]
)
EVICTIONS = Counter(
    "erp_cache_evictions",
    "Live entries removed to make room within the cache's capacity.",
    ["cache"],
)
ERRORS = Counter(
    "erp_cache_errors",
    "Cache backend operations that failed; the call computed its result without the cache.",
    ["cache"],
)
ENTRIES = Gauge(
    "erp_cache_entries",
    "Entries held by the cache, summed over live workers.",
    ["cache"],
    multiprocess_mode="livesum",
)
CAPACITY = Gauge(
    "erp_cache_capacity_entries",
    "Maximum entries of the cache, summed over live workers.",
    ["cache"],
    multiprocess_mode="livesum",
)


@dataclass(frozen=True)
class CacheMetrics:
    """The labelled children of one named cache, bound once so a lookup costs no label lookup."""

    hits: Counter
    misses: Counter
    evictions: Counter
    errors: Counter
    entries: Gauge
    capacity: Gauge

    @classmethod
    def bind(cls, name: str) -> CacheMetrics:
        return cls(
            hits=HITS.labels(cache=name),
            misses=MISSES.labels(cache=name),
            evictions=EVICTIONS.labels(cache=name),
            errors=ERRORS.labels(cache=name),
            entries=ENTRIES.labels(cache=name),
            capacity=CAPACITY.labels(cache=name),
        )
