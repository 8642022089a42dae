"""The ``diskstats`` collector: per-disk I/O counters, partitions, loop and RAM disks excluded."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric

from exporters.filters import NameFilter
from exporters.host import Host

# (node_exporter metric, help, psutil field, factor to base units). psutil reports times in
# milliseconds; Linux-only fields (merges, busy time) are absent on other platforms.
_COUNTERS = (
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        "read_count",
        1.0,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        "write_count",
        1.0,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        "read_bytes",
        1.0,
    ),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        "write_bytes",
        1.0,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        "read_time",
        0.001,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        "write_time",
        0.001,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        "read_merged_count",
        1.0,
    ),
    (
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        "write_merged_count",
        1.0,
    ),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        "busy_time",
        0.001,
    ),
)


class DiskstatsCollector:
    name = "diskstats"

    def __init__(self, host: Host, devices: NameFilter) -> None:
        self.host = host
        self.devices = devices

    def collect(self) -> Iterator[Metric]:
        nowrap = not self.host.is_linux  # Linux's counters are 64 bits wide
        counters = self.host.system.disk_io_counters(perdisk=True, nowrap=nowrap) or {}
        samples = [(d, s) for d, s in sorted(counters.items()) if self.devices.allows(d)]
        for name, help_text, field, factor in _COUNTERS:
            family = CounterMetricFamily(name, help_text, labels=["device"])
            for device, sample in samples:
                value = getattr(sample, field, None)
                if value is not None:
                    family.add_metric([device], value * factor)
            if family.samples:
                yield family
