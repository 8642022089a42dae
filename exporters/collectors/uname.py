"""The ``uname`` collector: ``node_uname_info`` with the kernel's identification."""

from __future__ import annotations

import platform
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from exporters.host import Host


class UnameCollector:
    name = "uname"

    def __init__(self, host: Host) -> None:
        self.host = host

    def collect(self) -> Iterator[Metric]:
        uname = platform.uname()
        domainname = "(none)"
        if self.host.is_linux:
            path = self.host.procfs / "sys" / "kernel" / "domainname"
            domainname = path.read_text().strip()
        info = GaugeMetricFamily(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            labels=["domainname", "machine", "nodename", "release", "sysname", "version"],
        )
        info.add_metric(
            [domainname, uname.machine, uname.node, uname.release, uname.system, uname.version],
            1.0,
        )
        yield info
