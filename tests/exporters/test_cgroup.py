"""Container limits from fake cgroup v1 and v2 trees, reported apart from the host's figures."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from exporters.collectors.cgroup import CgroupCollector
from exporters.collectors.meminfo import MeminfoCollector
from exporters.host import Host
from tests.exporters import fakes

MIB_256 = 268_435_456


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def v2_tree(root: Path, memory_max: str, cpu_max: str, folder: str = "") -> None:
    cgroup = root / "sys" / "fs" / "cgroup"
    write(cgroup / "cgroup.controllers", "cpu memory pids\n")
    write(cgroup / folder / "memory.max", f"{memory_max}\n")
    write(cgroup / folder / "memory.current", "104857600\n")
    write(cgroup / folder / "cpu.max", f"{cpu_max}\n")
    write(
        cgroup / folder / "cpu.stat",
        "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
        "nr_periods 40\nnr_throttled 4\nthrottled_usec 300000\n",
    )


def scrape(root: Path, path: str | None = None) -> CollectorRegistry:
    host = Host(system=fakes.FakePsutil(), procfs=root / "proc", sysfs=root / "sys")
    return fakes.registry_of(CgroupCollector(host, path))


def test_v2_memory_limit_256_mib(tmp_path: Path) -> None:
    v2_tree(tmp_path, str(MIB_256), "max 100000")
    registry = scrape(tmp_path)

    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_limit_bytes") == MIB_256
    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_usage_bytes") == 104857600
    assert registry.get_sample_value("leitstand_exporter_cgroup_info", {"version": "2"}) == 1


def test_v2_cpu_quota_in_cores(tmp_path: Path) -> None:
    v2_tree(tmp_path, "max", "150000 100000")
    registry = scrape(tmp_path)

    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_limit_cores") == 1.5
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_usage_seconds_total") == 2.5
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_periods_total") == 40
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_throttled_periods_total") == 4
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_throttled_seconds_total") == 0.3


def test_v2_max_means_no_limit_series(tmp_path: Path) -> None:
    v2_tree(tmp_path, "max", "max 100000")
    registry = scrape(tmp_path)

    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_limit_bytes") is None
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_limit_cores") is None
    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_usage_bytes") == 104857600


def test_v2_reads_own_cgroup_from_proc_self(tmp_path: Path) -> None:
    v2_tree(tmp_path, "max", "max 100000")
    v2_tree(tmp_path, str(MIB_256), "50000 100000", folder="kubepods/pod1/app")
    write(tmp_path / "proc" / "self" / "cgroup", "0::/kubepods/pod1/app\n")
    registry = scrape(tmp_path)

    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_limit_bytes") == MIB_256
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_limit_cores") == 0.5


def test_v2_path_override(tmp_path: Path) -> None:
    v2_tree(tmp_path, "max", "max 100000")
    v2_tree(tmp_path, "1048576", "200000 100000", folder="system.slice/app.service")
    registry = scrape(tmp_path, path="/system.slice/app.service")

    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_limit_bytes") == 1048576
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_limit_cores") == 2.0


def v1_tree(root: Path, limit: str, quota: str, folder: str = "") -> None:
    cgroup = root / "sys" / "fs" / "cgroup"
    write(cgroup / "memory" / folder / "memory.limit_in_bytes", f"{limit}\n")
    write(cgroup / "memory" / folder / "memory.usage_in_bytes", "52428800\n")
    write(cgroup / "cpu,cpuacct" / folder / "cpu.cfs_quota_us", f"{quota}\n")
    write(cgroup / "cpu,cpuacct" / folder / "cpu.cfs_period_us", "100000\n")
    write(
        cgroup / "cpu,cpuacct" / folder / "cpu.stat",
        "nr_periods 10\nnr_throttled 2\nthrottled_time 500000000\n",
    )
    write(cgroup / "cpu,cpuacct" / folder / "cpuacct.usage", "7500000000\n")


def test_v1_limits_from_controllers(tmp_path: Path) -> None:
    v1_tree(tmp_path, str(MIB_256), "150000", folder="docker/abc")
    write(
        tmp_path / "proc" / "self" / "cgroup",
        "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n",
    )
    registry = scrape(tmp_path)

    assert registry.get_sample_value("leitstand_exporter_cgroup_info", {"version": "1"}) == 1
    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_limit_bytes") == MIB_256
    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_usage_bytes") == 52428800
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_limit_cores") == 1.5
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_usage_seconds_total") == 7.5
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_throttled_seconds_total") == 0.5


def test_v1_unlimited_values_mean_no_limit_series(tmp_path: Path) -> None:
    v1_tree(tmp_path, "9223372036854771712", "-1")
    registry = scrape(tmp_path)

    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_limit_bytes") is None
    assert registry.get_sample_value("leitstand_exporter_cgroup_cpu_limit_cores") is None
    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_usage_bytes") == 52428800


def test_cgroup_figures_apart_from_host_memory(tmp_path: Path) -> None:
    v2_tree(tmp_path, str(MIB_256), "150000 100000")
    write(tmp_path / "proc" / "meminfo", "MemTotal:       16384000 kB\n")
    host = Host(
        system=fakes.FakePsutil(),
        platform="linux",
        procfs=tmp_path / "proc",
        sysfs=tmp_path / "sys",
    )
    registry = fakes.registry_of(MeminfoCollector(host), CgroupCollector(host))

    assert registry.get_sample_value("node_memory_MemTotal_bytes") == 16384000 * 1024
    assert registry.get_sample_value("leitstand_exporter_cgroup_memory_limit_bytes") == MIB_256
