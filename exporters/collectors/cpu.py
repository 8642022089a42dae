"""The ``cpu`` collector: cumulative CPU seconds per CPU and mode, never a sampled percentage."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric

from exporters.host import Host

# psutil's per-platform field names that have a different name in Linux's /proc/stat.
_MODE_NAMES = {"interrupt": "irq", "dpc": "softirq"}

# Linux counts guest time inside user and nice as well; node_exporter reports it apart.
_GUEST_MODES = {"guest": "user", "guest_nice": "nice"}


class CPUCollector:
    name = "cpu"

    def __init__(self, host: Host) -> None:
        self.host = host

    def collect(self) -> Iterator[Metric]:
        seconds = CounterMetricFamily(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
            labels=["cpu", "mode"],
        )
        guest = CounterMetricFamily(
            "node_cpu_guest_seconds_total",
            "Seconds the CPUs spent in guests (VMs) for each mode.",
            labels=["cpu", "mode"],
        )
        for index, times in enumerate(self.host.system.cpu_times(percpu=True)):
            cpu = str(index)
            for field, value in zip(times._fields, times, strict=True):
                if field in _GUEST_MODES:
                    guest.add_metric([cpu, _GUEST_MODES[field]], value)
                else:
                    seconds.add_metric([cpu, _MODE_NAMES.get(field, field)], value)
        yield seconds
        if guest.samples:
            yield guest
