"""A stand-in for the psutil module with fixed numbers, shaped as psutil is on each platform."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil
from prometheus_client import CollectorRegistry

from exporters.scrape import Collector, NodeCollector

# Field sets of psutil's named tuples per platform, from psutil's documentation.
LinuxCPUTimes = namedtuple(
    "LinuxCPUTimes",
    "user nice system idle iowait irq softirq steal guest guest_nice",
)
DarwinCPUTimes = namedtuple("DarwinCPUTimes", "user nice system idle")
WindowsCPUTimes = namedtuple("WindowsCPUTimes", "user system idle interrupt dpc")
DarwinVirtualMemory = namedtuple(
    "DarwinVirtualMemory", "total available percent used free active inactive wired"
)
WindowsVirtualMemory = namedtuple("WindowsVirtualMemory", "total available percent used free")
SwapMemory = namedtuple("SwapMemory", "total used free percent sin sout")
NetIO = namedtuple(
    "NetIO",
    "bytes_sent bytes_recv packets_sent packets_recv errin errout dropin dropout",
)
DarwinDiskIO = namedtuple(
    "DarwinDiskIO", "read_count write_count read_bytes write_bytes read_time write_time"
)
LinuxDiskIO = namedtuple(
    "LinuxDiskIO",
    "read_count write_count read_bytes write_bytes read_time write_time "
    "read_merged_count write_merged_count busy_time",
)
CPUStats = namedtuple("CPUStats", "ctx_switches interrupts soft_interrupts syscalls")
Partition = namedtuple("Partition", "device mountpoint fstype opts")
DiskUsage = namedtuple("DiskUsage", "total used free percent")
PCPUTimes = namedtuple("PCPUTimes", "user system children_user children_system")
PMemInfo = namedtuple("PMemInfo", "rss vms")


@dataclass
class FakeProcess:
    """A process as psutil.process_iter yields it; ``gone`` makes it exit before as_dict."""

    pid: int
    ppid: int
    name: str
    cmdline: list[str] | None
    user: float = 1.0
    system: float = 0.5
    rss: int = 1000
    vms: int = 5000
    fds: int | None = 3
    threads: int = 2
    create_time: float = 1_700_000_000.0
    gone: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, attrs: list[str], ad_value: Any = None) -> dict[str, Any]:
        if self.gone:
            raise psutil.NoSuchProcess(self.pid)
        return self.listing(attrs, ad_value)

    def listing(self, attrs: list[str], ad_value: Any = None) -> dict[str, Any]:
        """The attributes as process_iter reads them, before a ``gone`` process exits."""
        values = {
            "cpu_times": PCPUTimes(self.user, self.system, 0.0, 0.0),
            "memory_info": PMemInfo(self.rss, self.vms),
            "num_threads": self.threads,
            "create_time": self.create_time,
            "num_fds": self.fds,
            "num_handles": self.fds,
            "ppid": self.ppid,
            "name": self.name,
            "cmdline": self.cmdline,
        }
        return {attr: ad_value if values[attr] is None else values[attr] for attr in attrs}


@dataclass
class FakePsutil:
    """Module-level psutil functions over fixed data; every field can be replaced by a test."""

    cpu: list[Any] = field(default_factory=list)
    memory: Any = None
    swap: Any = None
    load: tuple[float, float, float] = (0.5, 0.25, 0.125)
    nics: dict[str, Any] = field(default_factory=dict)
    disks: dict[str, Any] = field(default_factory=dict)
    partitions: list[Any] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    boot: float = 1_700_000_000.0
    stats: Any = None
    processes: list[FakeProcess] = field(default_factory=list)

    def cpu_times(self, percpu: bool = False) -> Any:
        return list(self.cpu)

    def cpu_stats(self) -> Any:
        return self.stats

    def virtual_memory(self) -> Any:
        return self.memory

    def swap_memory(self) -> Any:
        return self.swap

    def getloadavg(self) -> tuple[float, float, float]:
        return self.load

    def net_io_counters(self, pernic: bool = False, nowrap: bool = True) -> Any:
        return dict(self.nics)

    def disk_io_counters(self, perdisk: bool = False, nowrap: bool = True) -> Any:
        return dict(self.disks)

    def disk_partitions(self, all: bool = False) -> Any:
        return list(self.partitions)

    def disk_usage(self, path: str) -> Any:
        return self.usage[path]

    def boot_time(self) -> float:
        return self.boot

    def process_iter(self, attrs: Any = None, ad_value: Any = None) -> Iterator[Any]:
        for process in self.processes:
            process.info = process.listing(attrs, ad_value)
            yield process


def registry_of(*collectors: Collector) -> CollectorRegistry:
    """A registry that scrapes ``collectors`` through NodeCollector, as the exporter does."""
    registry = CollectorRegistry()
    registry.register(NodeCollector(collectors))
    return registry
