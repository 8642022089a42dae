"""The ``time`` collector: ``node_time_seconds``, the host's clock at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric


class TimeCollector:
    name = "time"

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
            value=time.time(),
        )
