"""The ``loadavg`` collector: ``node_load1``, ``node_load5`` and ``node_load15``."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from exporters.host import Host


class LoadavgCollector:
    name = "loadavg"

    def __init__(self, host: Host) -> None:
        self.host = host

    def collect(self) -> Iterator[Metric]:
        if self.host.is_linux:
            # The file, not os.getloadavg(), so that --path.procfs picks the host to report.
            fields = (self.host.procfs / "loadavg").read_text().split()
            loads = (float(fields[0]), float(fields[1]), float(fields[2]))
        else:
            # NOTE: psutil emulates the load average on Windows. It reads 0 until the
            # thread that the first call starts has sampled for a few seconds.
            loads = self.host.system.getloadavg()
        for minutes, load in zip((1, 5, 15), loads, strict=True):
            yield GaugeMetricFamily(f"node_load{minutes}", f"{minutes}m load average.", value=load)
