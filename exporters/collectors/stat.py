"""The ``stat`` collector: boot time, context switches, interrupts, forks and run queue."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.host import Host


class StatCollector:
    name = "stat"

    def __init__(self, host: Host) -> None:
        self.host = host

    def collect(self) -> Iterator[Metric]:
        if self.host.is_linux:
            yield from self._collect_procfs()
            return
        yield GaugeMetricFamily(
            "node_boot_time_seconds",
            "Node boot time, in unixtime.",
            value=self.host.system.boot_time(),
        )
        stats = self.host.system.cpu_stats()
        yield CounterMetricFamily(
            "node_context_switches_total",
            "Total number of context switches.",
            value=stats.ctx_switches,
        )
        yield CounterMetricFamily(
            "node_intr_total", "Total number of interrupts serviced.", value=stats.interrupts
        )

    def _collect_procfs(self) -> Iterator[Metric]:
        lines = (self.host.procfs / "stat").read_text().splitlines()
        values = {}
        for line in lines:
            key, _, rest = line.partition(" ")
            if key in {"btime", "ctxt", "intr", "processes", "procs_running", "procs_blocked"}:
                # "intr" is followed by one count per interrupt; the first is the total.
                values[key] = float(rest.split(maxsplit=1)[0])
        yield GaugeMetricFamily(
            "node_boot_time_seconds", "Node boot time, in unixtime.", value=values["btime"]
        )
        yield CounterMetricFamily(
            "node_context_switches_total",
            "Total number of context switches.",
            value=values["ctxt"],
        )
        yield CounterMetricFamily(
            "node_intr_total", "Total number of interrupts serviced.", value=values["intr"]
        )
        yield CounterMetricFamily(
            "node_forks_total", "Total number of forks.", value=values["processes"]
        )
        yield GaugeMetricFamily(
            "node_procs_running",
            "Number of processes in runnable state.",
            value=values["procs_running"],
        )
        yield GaugeMetricFamily(
            "node_procs_blocked",
            "Number of processes blocked waiting for I/O to complete.",
            value=values["procs_blocked"],
        )
