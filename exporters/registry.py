"""Build the exporter's registry from its settings: which collectors run, with which filters."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from exporters.collectors.cgroup import CgroupCollector
from exporters.collectors.clock import TimeCollector
from exporters.collectors.cpu import CPUCollector
from exporters.collectors.diskstats import DiskstatsCollector
from exporters.collectors.filesystem import FilesystemCollector
from exporters.collectors.loadavg import LoadavgCollector
from exporters.collectors.meminfo import MeminfoCollector
from exporters.collectors.netdev import NetdevCollector
from exporters.collectors.processes import ProcessGroup, ProcessGroupCollector
from exporters.collectors.stat import StatCollector
from exporters.collectors.uname import UnameCollector
from exporters.filters import DISKSTATS_EXCLUDE, NETDEV_EXCLUDE, NameFilter
from exporters.host import Host
from exporters.scrape import Collector, NodeCollector
from exporters.settings import ExporterSettings

COLLECTOR_NAMES = (
    "cgroup",
    "cpu",
    "diskstats",
    "filesystem",
    "loadavg",
    "meminfo",
    "netdev",
    "processes",
    "stat",
    "time",
    "uname",
)


def default_collectors(host: Host) -> list[str]:
    """Return every collector name, with ``cgroup`` only where cgroups exist (Linux)."""
    return [name for name in COLLECTOR_NAMES if name != "cgroup" or host.is_linux]


def build_collectors(
    settings: ExporterSettings, host: Host, self_pid: int | None = None
) -> list[Collector]:
    """Create the enabled collectors; raise ``ValueError`` naming the flag of a bad setting."""
    enabled = default_collectors(host) if settings.collectors is None else settings.collectors
    unknown = sorted(set(enabled) - set(COLLECTOR_NAMES))
    if unknown:
        raise ValueError(
            f"unknown collector {', '.join(unknown)}; choose from {', '.join(COLLECTOR_NAMES)}"
        )
    groups = [ProcessGroup.parse(spec) for spec in settings.process_groups]
    names = [group.name for group in groups]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"--process-group: group {', '.join(duplicates)} is given twice")

    factories: dict[str, Callable[[], Collector]] = {
        "cgroup": lambda: CgroupCollector(host, settings.cgroup_path),
        "cpu": lambda: CPUCollector(host),
        "diskstats": lambda: DiskstatsCollector(
            host,
            _device_filter(
                settings.diskstats_device_include,
                settings.diskstats_device_exclude,
                DISKSTATS_EXCLUDE,
                "collector.diskstats.device",
            ),
        ),
        "filesystem": lambda: FilesystemCollector(
            host,
            mount_points=NameFilter.from_patterns(
                None,
                settings.filesystem_mount_points_exclude,
                "collector.filesystem.mount-points",
            ),
            fs_types=NameFilter.from_patterns(
                None, settings.filesystem_fs_types_exclude, "collector.filesystem.fs-types"
            ),
            mount_timeout=settings.filesystem_mount_timeout_seconds,
        ),
        "loadavg": lambda: LoadavgCollector(host),
        "meminfo": lambda: MeminfoCollector(host),
        "netdev": lambda: NetdevCollector(
            host,
            _device_filter(
                settings.netdev_device_include,
                settings.netdev_device_exclude,
                NETDEV_EXCLUDE,
                "collector.netdev.device",
            ),
        ),
        "processes": lambda: ProcessGroupCollector(host, groups, self_pid=self_pid),
        "stat": lambda: StatCollector(host),
        "time": lambda: TimeCollector(),
        "uname": lambda: UnameCollector(host),
    }
    return [factories[name]() for name in COLLECTOR_NAMES if name in enabled]


def build_registry(collectors: list[Collector]) -> CollectorRegistry:
    """Build a registry of the collectors plus the exporter's own ``process_*`` metrics."""
    registry = CollectorRegistry()
    registry.register(NodeCollector(collectors))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def _device_filter(include: str, exclude: str, default_exclude: str, flag: str) -> NameFilter:
    # An include pattern replaces the default exclude pattern instead of conflicting with it.
    if include and exclude == default_exclude:
        exclude = ""
    return NameFilter.from_patterns(include, exclude, flag)
