"""Node collectors on Linux, macOS and Windows shapes, read back the way a scrape reads them."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from exporters.collectors.cpu import CPUCollector
from exporters.collectors.diskstats import DiskstatsCollector
from exporters.collectors.filesystem import FilesystemCollector, Usage, parse_mounts
from exporters.collectors.loadavg import LoadavgCollector
from exporters.collectors.meminfo import MeminfoCollector, parse_meminfo
from exporters.collectors.netdev import NetdevCollector
from exporters.collectors.stat import StatCollector
from exporters.filters import (
    DISKSTATS_EXCLUDE,
    FILESYSTEM_FS_TYPES_EXCLUDE,
    FILESYSTEM_MOUNT_POINTS_EXCLUDE,
    NETDEV_EXCLUDE,
    NameFilter,
)
from exporters.host import Host
from tests.exporters import fakes
from tests.support.processes import wait_until

MEMINFO = """\
MemTotal:        2048000 kB
MemFree:          512000 kB
MemAvailable:    1024000 kB
Buffers:           10000 kB
Cached:           300000 kB
SwapTotal:             0 kB
SwapFree:              0 kB
Active(anon):      40000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
"""

PROC_STAT = """\
cpu  100 0 50 1000 5 0 1 0 0 0
cpu0 100 0 50 1000 5 0 1 0 0 0
intr 12345 0 0 7
ctxt 67890
btime 1700000000
processes 4242
procs_running 3
procs_blocked 1
softirq 10 1 2
"""


def node_filter(exclude: str) -> NameFilter:
    return NameFilter.from_patterns(None, exclude, "test")


def test_cpu_linux_modes_and_guest() -> None:
    system = fakes.FakePsutil(
        cpu=[fakes.LinuxCPUTimes(10.0, 1.0, 5.0, 100.0, 2.0, 0.5, 0.25, 0.125, 3.0, 0.0)]
    )
    registry = fakes.registry_of(CPUCollector(Host(system=system, platform="linux")))

    def value(mode: str) -> float | None:
        return registry.get_sample_value("node_cpu_seconds_total", {"cpu": "0", "mode": mode})

    assert value("user") == 10.0
    assert value("steal") == 0.125
    assert value("guest") is None
    assert (
        registry.get_sample_value("node_cpu_guest_seconds_total", {"cpu": "0", "mode": "user"})
        == 3.0
    )


def test_cpu_windows_modes_get_linux_names() -> None:
    system = fakes.FakePsutil(
        cpu=[
            fakes.WindowsCPUTimes(10.0, 5.0, 100.0, 1.5, 0.5),
            fakes.WindowsCPUTimes(20.0, 6.0, 90.0, 2.5, 0.75),
        ]
    )
    registry = fakes.registry_of(CPUCollector(Host(system=system, platform="win32")))

    assert registry.get_sample_value("node_cpu_seconds_total", {"cpu": "1", "mode": "irq"}) == 2.5
    assert (
        registry.get_sample_value("node_cpu_seconds_total", {"cpu": "1", "mode": "softirq"}) == 0.75
    )
    assert registry.get_sample_value("node_cpu_seconds_total", {"cpu": "0", "mode": "dpc"}) is None
    assert (
        registry.get_sample_value("node_cpu_guest_seconds_total", {"cpu": "0", "mode": "user"})
        is None
    )


def test_cpu_darwin_reports_four_modes() -> None:
    system = fakes.FakePsutil(cpu=[fakes.DarwinCPUTimes(1.0, 2.0, 3.0, 4.0)])
    registry = fakes.registry_of(CPUCollector(Host(system=system, platform="darwin")))

    modes = {
        sample.labels["mode"]
        for family in registry.collect()
        if family.name == "node_cpu_seconds"
        for sample in family.samples
    }
    assert modes == {"user", "nice", "system", "idle"}


def test_meminfo_parses_node_exporter_names() -> None:
    fields = parse_meminfo(MEMINFO)

    assert fields["MemTotal_bytes"] == 2048000 * 1024
    assert fields["Active_anon_bytes"] == 40000 * 1024
    assert fields["HugePages_Total"] == 0
    assert fields["Hugepagesize_bytes"] == 2048 * 1024


def test_meminfo_linux_reads_procfs(tmp_path: Path) -> None:
    (tmp_path / "meminfo").write_text(MEMINFO)
    host = Host(system=fakes.FakePsutil(), platform="linux", procfs=tmp_path)
    registry = fakes.registry_of(MeminfoCollector(host))

    assert registry.get_sample_value("node_memory_MemAvailable_bytes") == 1024000 * 1024
    assert registry.get_sample_value("node_memory_Cached_bytes") == 300000 * 1024


def test_meminfo_darwin_uses_linux_names() -> None:
    system = fakes.FakePsutil(
        memory=fakes.DarwinVirtualMemory(8000, 5000, 37.5, 3000, 1000, 2000, 1500, 700),
        swap=fakes.SwapMemory(4000, 1000, 3000, 25.0, 0, 0),
    )
    registry = fakes.registry_of(MeminfoCollector(Host(system=system, platform="darwin")))

    assert registry.get_sample_value("node_memory_MemTotal_bytes") == 8000
    assert registry.get_sample_value("node_memory_MemAvailable_bytes") == 5000
    assert registry.get_sample_value("node_memory_MemFree_bytes") == 1000
    assert registry.get_sample_value("node_memory_Active_bytes") == 2000
    assert registry.get_sample_value("node_memory_SwapTotal_bytes") == 4000
    assert registry.get_sample_value("node_memory_SwapFree_bytes") == 3000
    assert registry.get_sample_value("node_memory_Buffers_bytes") is None
    assert registry.get_sample_value("leitstand_exporter_memory_wired_bytes") == 700


def test_meminfo_windows_reports_what_psutil_has() -> None:
    system = fakes.FakePsutil(
        memory=fakes.WindowsVirtualMemory(16000, 9000, 43.75, 7000, 9000),
        swap=fakes.SwapMemory(2000, 500, 1500, 25.0, 0, 0),
    )
    registry = fakes.registry_of(MeminfoCollector(Host(system=system, platform="win32")))

    assert registry.get_sample_value("node_memory_MemTotal_bytes") == 16000
    assert registry.get_sample_value("node_memory_MemAvailable_bytes") == 9000
    assert registry.get_sample_value("node_memory_SwapFree_bytes") == 1500
    assert registry.get_sample_value("leitstand_exporter_memory_wired_bytes") is None


def test_loadavg_linux_reads_procfs(tmp_path: Path) -> None:
    (tmp_path / "loadavg").write_text("1.50 0.75 0.25 2/300 4242\n")
    host = Host(system=fakes.FakePsutil(load=(9.0, 9.0, 9.0)), platform="linux", procfs=tmp_path)
    registry = fakes.registry_of(LoadavgCollector(host))

    assert registry.get_sample_value("node_load1") == 1.5
    assert registry.get_sample_value("node_load5") == 0.75
    assert registry.get_sample_value("node_load15") == 0.25


def test_loadavg_windows_uses_psutil() -> None:
    host = Host(system=fakes.FakePsutil(load=(0.5, 0.25, 0.125)), platform="win32")
    registry = fakes.registry_of(LoadavgCollector(host))

    assert registry.get_sample_value("node_load15") == 0.125


def test_stat_linux_reads_procfs(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text(PROC_STAT)
    registry = fakes.registry_of(
        StatCollector(Host(system=fakes.FakePsutil(), platform="linux", procfs=tmp_path))
    )

    assert registry.get_sample_value("node_boot_time_seconds") == 1_700_000_000
    assert registry.get_sample_value("node_context_switches_total") == 67890
    assert registry.get_sample_value("node_intr_total") == 12345
    assert registry.get_sample_value("node_forks_total") == 4242
    assert registry.get_sample_value("node_procs_running") == 3
    assert registry.get_sample_value("node_procs_blocked") == 1


def test_stat_darwin_uses_psutil() -> None:
    system = fakes.FakePsutil(boot=1_600_000_000.0, stats=fakes.CPUStats(500, 70, 0, 0))
    registry = fakes.registry_of(StatCollector(Host(system=system, platform="darwin")))

    assert registry.get_sample_value("node_boot_time_seconds") == 1_600_000_000
    assert registry.get_sample_value("node_context_switches_total") == 500
    assert registry.get_sample_value("node_intr_total") == 70


def nic(received: int) -> fakes.NetIO:
    return fakes.NetIO(10, received, 1, 2, 3, 4, 5, 6)


def test_netdev_excludes_virtual_interfaces_by_default() -> None:
    names = ["eth0", "lo", "veth1a2b", "docker0", "br-5f1", "virbr0", "cali9", "flannel.1", "cni0"]
    system = fakes.FakePsutil(nics={name: nic(100) for name in names})
    collector = NetdevCollector(Host(system=system, platform="linux"), node_filter(NETDEV_EXCLUDE))
    registry = fakes.registry_of(collector)

    devices = {
        sample.labels["device"]
        for family in registry.collect()
        if family.name == "node_network_receive_bytes"
        for sample in family.samples
    }
    assert devices == {"eth0"}
    labels = {"device": "eth0"}
    assert registry.get_sample_value("node_network_receive_bytes_total", labels) == 100
    assert registry.get_sample_value("node_network_transmit_bytes_total", labels) == 10
    assert registry.get_sample_value("node_network_receive_packets_total", labels) == 2
    assert registry.get_sample_value("node_network_transmit_packets_total", labels) == 1
    assert registry.get_sample_value("node_network_receive_errs_total", labels) == 3
    assert registry.get_sample_value("node_network_transmit_errs_total", labels) == 4
    assert registry.get_sample_value("node_network_receive_drop_total", labels) == 5
    assert registry.get_sample_value("node_network_transmit_drop_total", labels) == 6


def test_netdev_include_pattern_selects_devices() -> None:
    system = fakes.FakePsutil(nics={"lo": nic(1), "eth0": nic(2), "veth9": nic(3)})
    devices = NameFilter.from_patterns("^(lo|veth.*)$", None, "collector.netdev.device")
    registry = fakes.registry_of(NetdevCollector(Host(system=system), devices))

    assert registry.get_sample_value("node_network_receive_bytes_total", {"device": "lo"}) == 1
    assert registry.get_sample_value("node_network_receive_bytes_total", {"device": "veth9"}) == 3
    assert registry.get_sample_value("node_network_receive_bytes_total", {"device": "eth0"}) is None


def test_name_filter_rejects_include_with_exclude() -> None:
    with pytest.raises(ValueError, match="mutually exclusive"):
        NameFilter.from_patterns("^eth", "^lo$", "collector.netdev.device")


def test_name_filter_names_flag_of_bad_regex() -> None:
    with pytest.raises(ValueError, match=r"--collector\.netdev\.device-exclude.*invalid"):
        NameFilter.from_patterns(None, "(unclosed", "collector.netdev.device")


def test_diskstats_excludes_loop_ram_and_partitions() -> None:
    disk = fakes.LinuxDiskIO(10, 20, 4096, 8192, 1500, 2500, 1, 2, 3000)
    names = ["sda", "sda1", "nvme0n1", "nvme0n1p2", "vda", "vda1", "loop0", "ram0", "dm-0"]
    system = fakes.FakePsutil(disks={name: disk for name in names})
    collector = DiskstatsCollector(Host(system=system), node_filter(DISKSTATS_EXCLUDE))
    registry = fakes.registry_of(collector)

    devices = {
        sample.labels["device"]
        for family in registry.collect()
        if family.name == "node_disk_read_bytes"
        for sample in family.samples
    }
    assert devices == {"sda", "nvme0n1", "vda", "dm-0"}
    labels = {"device": "sda"}
    assert registry.get_sample_value("node_disk_reads_completed_total", labels) == 10
    assert registry.get_sample_value("node_disk_writes_completed_total", labels) == 20
    assert registry.get_sample_value("node_disk_written_bytes_total", labels) == 8192
    assert registry.get_sample_value("node_disk_read_time_seconds_total", labels) == 1.5
    assert registry.get_sample_value("node_disk_io_time_seconds_total", labels) == 3.0


def test_diskstats_darwin_omits_linux_only_counters() -> None:
    system = fakes.FakePsutil(disks={"disk0": fakes.DarwinDiskIO(1, 2, 512, 1024, 30, 40)})
    collector = DiskstatsCollector(
        Host(system=system, platform="darwin"), node_filter(DISKSTATS_EXCLUDE)
    )
    registry = fakes.registry_of(collector)

    labels = {"device": "disk0"}
    assert registry.get_sample_value("node_disk_read_bytes_total", labels) == 512
    assert registry.get_sample_value("node_disk_write_time_seconds_total", labels) == 0.04
    assert registry.get_sample_value("node_disk_io_time_seconds_total", labels) is None
    names = {family.name for family in registry.collect()}
    assert "node_disk_io_time_seconds" not in names


def test_parse_mounts_unescapes_octal() -> None:
    mounts = parse_mounts("/dev/sdb1 /media/my\\040disk ext4 rw 0 0\nshort line\n")

    assert len(mounts) == 1
    assert mounts[0].mountpoint == "/media/my disk"
    assert mounts[0].device == "/dev/sdb1"
    assert mounts[0].fstype == "ext4"


def filesystem_collector(host: Host) -> FilesystemCollector:
    return FilesystemCollector(
        host,
        mount_points=node_filter(FILESYSTEM_MOUNT_POINTS_EXCLUDE),
        fs_types=node_filter(FILESYSTEM_FS_TYPES_EXCLUDE),
    )


def test_filesystem_linux_statvfs_and_exclusions(tmp_path: Path) -> None:
    procfs = tmp_path / "proc"
    (procfs / "1").mkdir(parents=True)
    data = tmp_path / "root" / "data"
    data.mkdir(parents=True)
    (procfs / "1" / "mounts").write_text(
        "/dev/vdb /data ext4 rw 0 0\n"
        "/dev/vdb /data ext4 rw 0 0\n"
        "proc /proc proc rw 0 0\n"
        "tmpfs /run tmpfs rw 0 0\n"
        "overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n"
        "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
    )
    host = Host(
        system=fakes.FakePsutil(), platform="linux", procfs=procfs, rootfs=tmp_path / "root"
    )
    registry = fakes.registry_of(filesystem_collector(host))

    mountpoints = {
        sample.labels["mountpoint"]
        for family in registry.collect()
        if family.name == "node_filesystem_size_bytes"
        for sample in family.samples
    }
    assert mountpoints == {"/data"}
    labels = {"device": "/dev/vdb", "fstype": "ext4", "mountpoint": "/data"}
    st = os.statvfs(data)
    size = registry.get_sample_value("node_filesystem_size_bytes", labels)
    assert size == st.f_blocks * st.f_frsize
    assert registry.get_sample_value("node_filesystem_files", labels) == st.f_files
    assert registry.get_sample_value("node_filesystem_device_error", labels) == 0
    assert (
        registry.get_sample_value("node_scrape_collector_success", {"collector": "filesystem"}) == 1
    )


def test_filesystem_missing_mount_reports_device_error(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "mounts").write_text("/dev/vdc /gone ext4 rw 0 0\n")
    host = Host(
        system=fakes.FakePsutil(), platform="linux", procfs=tmp_path, rootfs=tmp_path / "none"
    )
    registry = fakes.registry_of(filesystem_collector(host))

    labels = {"device": "/dev/vdc", "fstype": "ext4", "mountpoint": "/gone"}
    assert registry.get_sample_value("node_filesystem_device_error", labels) == 1
    assert registry.get_sample_value("node_filesystem_size_bytes", labels) is None


def test_filesystem_windows_uses_disk_usage() -> None:
    system = fakes.FakePsutil(
        partitions=[fakes.Partition("C:\\", "C:\\", "NTFS", "rw,fixed")],
        usage={"C:\\": fakes.DiskUsage(1000, 600, 400, 60.0)},
    )
    registry = fakes.registry_of(filesystem_collector(Host(system=system, platform="win32")))

    labels = {"device": "C:\\", "fstype": "NTFS", "mountpoint": "C:\\"}
    assert registry.get_sample_value("node_filesystem_size_bytes", labels) == 1000
    assert registry.get_sample_value("node_filesystem_avail_bytes", labels) == 400
    assert registry.get_sample_value("node_filesystem_free_bytes", labels) == 400
    assert registry.get_sample_value("node_filesystem_files", labels) is None


def test_filesystem_darwin_excludes_devfs() -> None:
    system = fakes.FakePsutil(
        partitions=[
            fakes.Partition("/dev/disk3s1", "/", "apfs", "rw"),
            fakes.Partition("devfs", "/dev", "devfs", "rw"),
        ],
    )
    registry = fakes.registry_of(filesystem_collector(Host(system=system, platform="darwin")))

    mountpoints = {
        sample.labels["mountpoint"]
        for family in registry.collect()
        if family.name == "node_filesystem_device_error"
        for sample in family.samples
    }
    assert mountpoints == {"/"}


def test_filesystem_stuck_network_mount_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "mounts").write_text(
        "server:/export /remote nfs4 rw 0 0\n/dev/vda / ext4 rw 0 0\n"
    )
    host = Host(system=fakes.FakePsutil(), platform="linux", procfs=tmp_path)
    collector = FilesystemCollector(
        host,
        mount_points=node_filter(FILESYSTEM_MOUNT_POINTS_EXCLUDE),
        fs_types=node_filter(FILESYSTEM_FS_TYPES_EXCLUDE),
        mount_timeout=0.1,
    )
    server_back = threading.Event()
    calls: list[str] = []
    real_stat = collector._stat

    def stat(mountpoint: str) -> Usage:
        calls.append(mountpoint)
        if mountpoint == "/remote":
            server_back.wait(30)
        return real_stat("/")

    monkeypatch.setattr(collector, "_stat", stat)
    registry = fakes.registry_of(collector)
    remote = {"device": "server:/export", "fstype": "nfs4", "mountpoint": "/remote"}
    root = {"device": "/dev/vda", "fstype": "ext4", "mountpoint": "/"}

    assert registry.get_sample_value("node_filesystem_device_error", remote) == 1
    assert registry.get_sample_value("node_filesystem_device_error", root) == 0
    assert calls.count("/remote") == 1
    # Stuck: later scrapes do not wait on it again.
    assert registry.get_sample_value("node_filesystem_device_error", remote) == 1
    assert calls.count("/remote") == 1

    server_back.set()
    wait_until(lambda: "/remote" not in collector._in_flight, timeout=10, what="the stat to return")
    assert registry.get_sample_value("node_filesystem_device_error", remote) == 0
    assert calls.count("/remote") == 2
