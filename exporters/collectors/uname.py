"""The ``uname`` collector: ``node_uname_info`` with the kernel's identification."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from exporters.host import Host


class UnameCollector:
    name = "uname"

    def __init__(self, host: Host) -> None:
        self.host = host

    def collect(self) -> Iterator[Metric]:
        # platform.uname() caches its first result, so only os.uname() reports a renamed host.
        uname = os.uname() if hasattr(os, "uname") else platform.uname()
        domainname = "(none)"
        if self.host.is_linux:
            path = self.host.procfs / "sys" / "kernel" / "domainname"
            domainname = path.read_text().strip()
        info = GaugeMetricFamily(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            labels=["domainname", "machine", "nodename", "release", "sysname", "version"],
        )
        if isinstance(uname, os.uname_result):
            labels = [uname.machine, uname.nodename, uname.release, uname.sysname, uname.version]
        else:
            labels = [uname.machine, uname.node, uname.release, uname.system, uname.version]
        info.add_metric([domainname, *labels], 1.0)
        yield info
