"""The ``netdev`` collector: per-interface traffic counters, virtual interfaces excluded."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric

from exporters.filters import NameFilter
from exporters.host import Host

# node_exporter statistic -> psutil field of net_io_counters(pernic=True).
_STATISTICS = {
    "receive_bytes": "bytes_recv",
    "receive_packets": "packets_recv",
    "receive_errs": "errin",
    "receive_drop": "dropin",
    "transmit_bytes": "bytes_sent",
    "transmit_packets": "packets_sent",
    "transmit_errs": "errout",
    "transmit_drop": "dropout",
}


class NetdevCollector:
    name = "netdev"

    def __init__(self, host: Host, devices: NameFilter) -> None:
        self.host = host
        self.devices = devices

    def collect(self) -> Iterator[Metric]:
        families = {
            statistic: CounterMetricFamily(
                f"node_network_{statistic}_total",
                f"Network device statistic {statistic}.",
                labels=["device"],
            )
            for statistic in _STATISTICS
        }
        # Linux's counters are 64 bits wide; psutil's wrap correction matters elsewhere.
        nowrap = not self.host.is_linux
        counters = self.host.system.net_io_counters(pernic=True, nowrap=nowrap)
        for device, sample in sorted(counters.items()):
            if not self.devices.allows(device):
                continue
            for statistic, field in _STATISTICS.items():
                families[statistic].add_metric([device], getattr(sample, field))
        yield from families.values()
