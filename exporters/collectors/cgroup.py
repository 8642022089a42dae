"""The ``cgroup`` collector: the exporter's own container limits and usage, apart from the host's.

Inside a container, ``/proc/meminfo`` and ``/proc/stat`` show the whole host. The limits that
apply are those of the cgroup: cgroup v2 (``memory.max``, ``memory.current``, ``cpu.max``,
``cpu.stat``) or the v1 ``memory``, ``cpu`` and ``cpuacct`` controllers. A limit of ``max``
(v2), ``-1`` (v1 CPU quota) or the page-aligned maximum (v1 memory) means no limit, and then
the ``*_limit_*`` series is absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.files import read_bytes
from exporters.host import Host

# cgroup v1 writes "no limit" as PAGE_COUNTER_MAX pages, which is just under 2**63 bytes.
_V1_UNLIMITED_BYTES = 1 << 62


@dataclass
class CgroupStats:
    version: int
    memory_limit_bytes: float | None = None
    memory_usage_bytes: float | None = None
    cpu_limit_cores: float | None = None
    cpu_usage_seconds: float | None = None
    cpu_periods: float | None = None
    cpu_throttled_periods: float | None = None
    cpu_throttled_seconds: float | None = None


class CgroupCollector:
    """Read the cgroup that the exporter runs in, or the one named by ``path``.

    ``path`` is relative to the cgroup root, as in ``/proc/self/cgroup``. When that folder does
    not exist under the cgroup mount, the mount's root is read: in a container with its own
    cgroup namespace, the root is the container's cgroup.
    """

    name = "cgroup"

    def __init__(self, host: Host, path: str | None = None) -> None:
        self.host = host
        self.path = path

    def collect(self) -> Iterator[Metric]:
        # Plain strings and os.path: pathlib's object per path part costs more than the reads.
        root = f"{self.host.sysfs}/fs/cgroup"
        paths = self._own_paths()
        if os.path.isfile(f"{root}/cgroup.controllers"):
            stats = read_v2(self._folder(root, paths.get("", "/")))
        else:
            stats = read_v1(
                memory=self._v1_folder(root, paths, "memory"),
                cpu=self._v1_folder(root, paths, "cpu"),
                cpuacct=self._v1_folder(root, paths, "cpuacct"),
            )
        yield from _families(stats)

    def _own_paths(self) -> dict[str, str]:
        """Map each controller ("" for v2) to the exporter's cgroup path."""
        text = _read(f"{self.host.procfs}/self/cgroup")
        if text is None:
            return {}
        paths: dict[str, str] = {}
        for line in text.splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
        return paths

    def _folder(self, mount: str, path: str) -> str:
        relative = (self.path or path).strip("/")
        if not relative:
            return mount
        folder = f"{mount}/{relative}"
        return folder if os.path.isdir(folder) else mount

    def _v1_folder(self, root: str, paths: dict[str, str], controller: str) -> str | None:
        # "cpu" and "cpuacct" are often mounted together as "cpu,cpuacct" with symlinks.
        for mount in (f"{root}/{controller}", f"{root}/cpu,cpuacct"):
            if os.path.isdir(mount):
                return self._folder(mount, paths.get(controller, "/"))
        return None


def read_v2(folder: str) -> CgroupStats:
    stats = CgroupStats(version=2)
    memory_max = _read(f"{folder}/memory.max")
    if memory_max is not None and memory_max != "max":
        stats.memory_limit_bytes = float(memory_max)
    memory_current = _read(f"{folder}/memory.current")
    if memory_current is not None:
        stats.memory_usage_bytes = float(memory_current)
    cpu_max = _read(f"{folder}/cpu.max")
    if cpu_max is not None:
        quota, _, period = cpu_max.partition(" ")
        if quota != "max":
            stats.cpu_limit_cores = float(quota) / float(period or 100_000)
    cpu_stat = _read_flat_keyed(f"{folder}/cpu.stat")
    if "usage_usec" in cpu_stat:
        stats.cpu_usage_seconds = cpu_stat["usage_usec"] / 1e6
    if "nr_periods" in cpu_stat:
        stats.cpu_periods = cpu_stat["nr_periods"]
        stats.cpu_throttled_periods = cpu_stat.get("nr_throttled", 0.0)
        stats.cpu_throttled_seconds = cpu_stat.get("throttled_usec", 0.0) / 1e6
    return stats


def read_v1(memory: str | None, cpu: str | None, cpuacct: str | None) -> CgroupStats:
    stats = CgroupStats(version=1)
    if memory is not None:
        limit = _read(f"{memory}/memory.limit_in_bytes")
        if limit is not None and int(limit) < _V1_UNLIMITED_BYTES:
            stats.memory_limit_bytes = float(limit)
        usage = _read(f"{memory}/memory.usage_in_bytes")
        if usage is not None:
            stats.memory_usage_bytes = float(usage)
    if cpu is not None:
        quota = _read(f"{cpu}/cpu.cfs_quota_us")
        period = _read(f"{cpu}/cpu.cfs_period_us")
        if quota is not None and period is not None and int(quota) > 0:
            stats.cpu_limit_cores = float(quota) / float(period)
        cpu_stat = _read_flat_keyed(f"{cpu}/cpu.stat")
        if "nr_periods" in cpu_stat:
            stats.cpu_periods = cpu_stat["nr_periods"]
            stats.cpu_throttled_periods = cpu_stat.get("nr_throttled", 0.0)
            stats.cpu_throttled_seconds = cpu_stat.get("throttled_time", 0.0) / 1e9
    if cpuacct is not None:
        usage_ns = _read(f"{cpuacct}/cpuacct.usage")
        if usage_ns is not None:
            stats.cpu_usage_seconds = float(usage_ns) / 1e9
    return stats


def _families(stats: CgroupStats) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        "leitstand_exporter_cgroup_info",
        "The cgroup version the exporter reads its container figures from.",
        labels=["version"],
    )
    info.add_metric([str(stats.version)], 1.0)
    yield info
    gauges = (
        (
            "leitstand_exporter_cgroup_memory_limit_bytes",
            "Memory limit of the cgroup in bytes; absent when unlimited.",
            stats.memory_limit_bytes,
        ),
        (
            "leitstand_exporter_cgroup_memory_usage_bytes",
            "Memory in use by the cgroup in bytes, page cache included.",
            stats.memory_usage_bytes,
        ),
        (
            "leitstand_exporter_cgroup_cpu_limit_cores",
            "CPU quota of the cgroup in cores (quota / period); absent when unlimited.",
            stats.cpu_limit_cores,
        ),
    )
    for name, help_text, value in gauges:
        if value is not None:
            yield GaugeMetricFamily(name, help_text, value=value)
    counters = (
        (
            "leitstand_exporter_cgroup_cpu_usage_seconds_total",
            "CPU time consumed by the cgroup in seconds.",
            stats.cpu_usage_seconds,
        ),
        (
            "leitstand_exporter_cgroup_cpu_periods_total",
            "CPU quota enforcement periods that have elapsed.",
            stats.cpu_periods,
        ),
        (
            "leitstand_exporter_cgroup_cpu_throttled_periods_total",
            "CPU quota enforcement periods in which the cgroup was throttled.",
            stats.cpu_throttled_periods,
        ),
        (
            "leitstand_exporter_cgroup_cpu_throttled_seconds_total",
            "Time the cgroup spent throttled by its CPU quota in seconds.",
            stats.cpu_throttled_seconds,
        ),
    )
    for name, help_text, value in counters:
        if value is not None:
            yield CounterMetricFamily(name, help_text, value=value)


def _read(path: str) -> str | None:
    try:
        return read_bytes(path).decode().strip()
    except FileNotFoundError:
        return None


def _read_flat_keyed(path: str) -> dict[str, float]:
    text = _read(path)
    if text is None:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        values[key] = float(value)
    return values
