"""NodeCollector: per-collector duration and success, isolation of failures, no sampling sleep."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import psutil
import pytest
from prometheus_client.core import GaugeMetricFamily, Metric

from exporters.host import Host
from exporters.registry import build_collectors
from exporters.settings import ExporterSettings
from tests.exporters import fakes


class Steady:
    name = "steady"

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("leitstand_exporter_test_steady", "A fixed value.", value=1.0)


class Flaky:
    """Yields one family and then raises while ``broken`` is set."""

    name = "flaky"

    def __init__(self) -> None:
        self.broken = True

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("leitstand_exporter_test_flaky", "Half a result.", value=2.0)
        if self.broken:
            raise OSError("read failed")


def test_failing_collector_spares_the_rest() -> None:
    registry = fakes.registry_of(Steady(), Flaky())

    assert registry.get_sample_value("leitstand_exporter_test_steady") == 1.0
    assert registry.get_sample_value("leitstand_exporter_test_flaky") is None
    assert registry.get_sample_value("node_scrape_collector_success", {"collector": "flaky"}) == 0
    assert registry.get_sample_value("node_scrape_collector_success", {"collector": "steady"}) == 1
    duration = registry.get_sample_value(
        "node_scrape_collector_duration_seconds", {"collector": "flaky"}
    )
    assert duration is not None
    assert duration >= 0


def test_failure_logged_once_and_recovery(caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky()
    registry = fakes.registry_of(flaky)

    with caplog.at_level(logging.INFO, logger="leitstand.exporter"):
        for _ in range(3):
            registry.get_sample_value("leitstand_exporter_test_flaky")
        flaky.broken = False
        for _ in range(3):
            registry.get_sample_value("leitstand_exporter_test_flaky")

    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "Collector flaky failed, its metrics are missing until it recovers: OSError: read failed",
        "Collector flaky recovered",
    ]
    assert caplog.records[0].levelno == logging.WARNING
    assert registry.get_sample_value("leitstand_exporter_test_flaky") == 2.0


def test_scrape_never_sleeps_or_samples_cpu_percent(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a scrape must not sleep or sample a percentage")

    collectors = build_collectors(ExporterSettings(), Host())
    monkeypatch.setattr(time, "sleep", forbidden)
    monkeypatch.setattr(psutil, "cpu_percent", forbidden)
    monkeypatch.setattr(psutil.Process, "cpu_percent", forbidden)
    registry = fakes.registry_of(*collectors)

    for collector in collectors:
        success = registry.get_sample_value(
            "node_scrape_collector_success", {"collector": collector.name}
        )
        assert success == 1, f"collector {collector.name} failed"
    user = registry.get_sample_value("node_cpu_seconds_total", {"cpu": "0", "mode": "user"})
    assert user is not None
    assert user > 0


def psutil_like(platform: str) -> fakes.FakePsutil:
    if platform == "win32":
        partition = fakes.Partition("C:\\", "C:\\", "NTFS", "rw,fixed")
    else:
        partition = fakes.Partition("/dev/disk3s1", "/", "apfs", "rw")
    return fakes.FakePsutil(
        cpu=[fakes.DarwinCPUTimes(1.0, 0.0, 2.0, 30.0)] * 4,
        memory=fakes.DarwinVirtualMemory(8000, 5000, 37.5, 3000, 1000, 2000, 1500, 700),
        swap=fakes.SwapMemory(4000, 1000, 3000, 25.0, 0, 0),
        nics={
            "en0": fakes.NetIO(1, 2, 3, 4, 0, 0, 0, 0),
            "lo0": fakes.NetIO(5, 5, 1, 1, 0, 0, 0, 0),
        },
        disks={"disk0": fakes.DarwinDiskIO(1, 2, 512, 1024, 30, 40)},
        partitions=[partition],
        usage={"C:\\": fakes.DiskUsage(1000, 600, 400, 60.0)},
        stats=fakes.CPUStats(500, 70, 0, 0),
        processes=[
            fakes.FakeProcess(1, 0, "launchd", ["/sbin/launchd"]),
            fakes.FakeProcess(10, 1, "leitstand", ["leitstand", "serve"]),
        ],
    )


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_every_default_collector_runs_off_linux(platform: str) -> None:
    host = Host(system=psutil_like(platform), platform=platform)
    collectors = build_collectors(ExporterSettings(), host)
    registry = fakes.registry_of(*collectors)

    names = {collector.name for collector in collectors}
    assert "cgroup" not in names
    assert "processes" in names
    for name in names:
        success = registry.get_sample_value("node_scrape_collector_success", {"collector": name})
        assert success == 1, f"collector {name} failed on {platform}"
    mount = {
        "device": "C:\\" if platform == "win32" else "/dev/disk3s1",
        "fstype": "NTFS" if platform == "win32" else "apfs",
        "mountpoint": "C:\\" if platform == "win32" else "/",
    }
    assert registry.get_sample_value("node_filesystem_device_error", mount) == 0
    assert registry.get_sample_value("node_memory_MemTotal_bytes") == 8000
    assert registry.get_sample_value("node_cpu_seconds_total", {"cpu": "3", "mode": "idle"}) == 30
    assert (
        registry.get_sample_value("namedprocess_namegroup_num_procs", {"groupname": "leitstand"})
        == 1
    )
