"""Run the enabled collectors on each scrape and report how each one did, as node_exporter does."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily, Metric

logger = logging.getLogger("leitstand.exporter")


class Collector(Protocol):
    """One named group of metrics; ``collect`` reads fresh values on every call."""

    name: str

    def collect(self) -> Iterable[Metric]: ...


class NodeCollector:
    """Collect every collector in turn and add ``node_scrape_collector_*`` for each.

    A collector that raises contributes no metrics to that scrape and reports success 0; the
    other collectors are unaffected. Failures are logged when a collector starts failing and
    when it recovers, never on every scrape.
    """

    def __init__(self, collectors: Sequence[Collector]) -> None:
        self.collectors = list(collectors)
        self._failing: set[str] = set()
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        duration = GaugeMetricFamily(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            labels=["collector"],
        )
        success = GaugeMetricFamily(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
            labels=["collector"],
        )
        for collector in self.collectors:
            start = time.perf_counter()
            try:
                # Materialised first, so that a collector failing halfway adds nothing.
                families = list(collector.collect())
            except Exception as exc:  # one broken collector must not break the scrape
                self._record_failure(collector.name, exc)
                ok = False
            else:
                self._record_success(collector.name)
                ok = True
                yield from families
            duration.add_metric([collector.name], time.perf_counter() - start)
            success.add_metric([collector.name], 1.0 if ok else 0.0)
        yield duration
        yield success

    def _record_failure(self, name: str, exc: Exception) -> None:
        with self._lock:
            if name in self._failing:
                return
            self._failing.add(name)
        logger.warning(
            "Collector %s failed, its metrics are missing until it recovers: %s: %s",
            name,
            type(exc).__name__,
            exc,
        )

    def _record_success(self, name: str) -> None:
        with self._lock:
            if name not in self._failing:
                return
            self._failing.discard(name)
        logger.info("Collector %s recovered", name)
