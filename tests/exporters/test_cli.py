"""``leitstand exporter`` as a process: HTTP, flags, promtool, first scrape, cgroups."""

from __future__ import annotations

import gzip
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporters import cli
from exporters.registry import COLLECTOR_NAMES, build_collectors, build_registry
from exporters.server import Endpoints, ExporterServer
from tests.conftest import require_binary
from tests.support.processes import ServerProcess, free_port, running, wait_until

EXPORTER = [sys.executable, "-m", "leitstand.cli", "exporter"]

# node_exporter's /proc/meminfo names are CamelCase; promtool flags them in node_exporter's
# own output too, and dashboards written for node_exporter need them as they are.
MEMINFO_NAME_FINDING = re.compile(
    r"^node_memory_\w+ metric names should be written in 'snake_case' not 'camelCase'$"
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_dir = tmp_path_factory.mktemp("exporter")
    url = f"http://127.0.0.1:{port}"
    with running("exporter", [*EXPORTER, "--port", str(port)], log_dir, ready_url=f"{url}/"):
        yield url


def test_landing_page_links_metrics(exporter: str, http: httpx.Client) -> None:
    response = http.get(f"{exporter}/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<a href="/metrics">' in response.text
    assert "processes" in response.text


def test_unknown_path_is_404(exporter: str, http: httpx.Client) -> None:
    assert http.get(f"{exporter}/nope").status_code == 404


def test_metrics_gzip_when_asked(exporter: str, http: httpx.Client) -> None:
    with http.stream("GET", f"{exporter}/metrics", headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b"node_cpu_seconds_total" in gzip.decompress(raw)


def test_metrics_plain_without_accept_encoding(exporter: str, http: httpx.Client) -> None:
    response = http.get(f"{exporter}/metrics", headers={"Accept-Encoding": "identity"})

    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert "# TYPE node_cpu_seconds_total counter" in response.text


def test_every_collector_succeeds_on_this_host(exporter: str, http: httpx.Client) -> None:
    text = http.get(f"{exporter}/metrics").text

    for name in COLLECTOR_NAMES:
        assert value(text, "node_scrape_collector_success", collector=name) == 1, name


def test_promtool_finds_only_node_exporter_names(exporter: str, http: httpx.Client) -> None:
    promtool = require_binary("promtool")
    text = http.get(f"{exporter}/metrics").text
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )

    findings = (result.stdout + result.stderr).splitlines()
    unexpected = [line for line in findings if not MEMINFO_NAME_FINDING.match(line)]
    assert unexpected == []


def test_counters_and_units_follow_conventions(exporter: str, http: httpx.Client) -> None:
    families = {
        family.name: family
        for family in text_string_to_metric_families(http.get(f"{exporter}/metrics").text)
    }

    for name in (
        "node_cpu_seconds",
        "node_network_receive_bytes",
        "node_network_transmit_packets",
        "node_network_receive_errs",
        "node_disk_read_bytes",
        "node_disk_written_bytes",
        "namedprocess_namegroup_cpu_seconds",
    ):
        assert families[name].type == "counter", name
    for family in families.values():
        if family.type != "counter":
            assert not family.name.endswith("_total"), family.name


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    server = ServerProcess("exporter", [*EXPORTER, "--port", str(port)], tmp_path / "log")
    try:
        wait_until(lambda: "listening" in server.log(), timeout=30, what="the exporter to start")
    finally:
        code = server.stop()

    assert code == 0
    assert "Shutting down" in server.log_path.read_text()


def test_taken_port_exits_with_hint() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [*EXPORTER, "--port", str(port)], capture_output=True, text=True, timeout=60
        )

    assert result.returncode == 2
    assert f"Cannot listen on 127.0.0.1 port {port}" in result.stderr
    assert "--port" in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--process-group", "nogroup"], "expected NAME=REGEX"),
        (["--port", "70000"], "invalid setting port=70000"),
        (["--collector.netdev.device-exclude", "(bad"], "invalid regular expression"),
        (["--process-group", "a=x", "--process-group", "a=y"], "group a is given twice"),
    ],
    ids=["group-spec", "port-range", "bad-regex", "duplicate-group"],
)
def test_invalid_flags_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_collector_flags_select_collectors() -> None:
    only_cpu = cli.load_settings(["--collector.disable-defaults", "--collector.cpu"])
    without_processes = cli.load_settings(["--no-collector.processes"])

    assert only_cpu.collectors == ["cpu"]
    assert without_processes.collectors is not None
    assert "processes" not in without_processes.collectors
    assert "cpu" in without_processes.collectors


def test_environment_sets_collectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEITSTAND_EXPORTER_COLLECTORS", '["meminfo", "loadavg"]')
    monkeypatch.setenv("LEITSTAND_EXPORTER_PORT", "9999")

    settings = cli.load_settings(["--collector.time", "--port", "9105"])

    assert settings.collectors == ["meminfo", "loadavg", "time"]
    assert settings.port == 9105


def test_cgroup_limits_from_fake_sysfs(tmp_path: Path, http: httpx.Client) -> None:
    cgroup = tmp_path / "sys" / "fs" / "cgroup"
    cgroup.mkdir(parents=True)
    (cgroup / "cgroup.controllers").write_text("cpu memory\n")
    (cgroup / "memory.max").write_text("268435456\n")
    (cgroup / "memory.current").write_text("73400320\n")
    (cgroup / "cpu.max").write_text("150000 100000\n")
    procfs = tmp_path / "proc"
    procfs.mkdir()
    (procfs / "meminfo").write_text("MemTotal:       16384000 kB\n")
    settings = cli.load_settings(
        [
            f"--path.sysfs={tmp_path / 'sys'}",
            f"--path.procfs={procfs}",
            "--collector.disable-defaults",
            "--collector.cgroup",
            "--collector.meminfo",
            "--collector.loadavg",
        ]
    )
    collectors = build_collectors(settings, cli.host_for(settings))
    server = ExporterServer(Endpoints(build_registry(collectors), []), "127.0.0.1", 0)
    server.start()
    try:
        response = http.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()
    text = response.text

    assert response.status_code == 200
    assert value(text, "leitstand_exporter_cgroup_memory_limit_bytes") == 268435456
    assert value(text, "leitstand_exporter_cgroup_memory_usage_bytes") == 73400320
    assert value(text, "leitstand_exporter_cgroup_cpu_limit_cores") == 1.5
    assert value(text, "node_memory_MemTotal_bytes") == 16384000 * 1024
    # The fake procfs has no loadavg file, so that collector fails alone.
    assert value(text, "node_scrape_collector_success", collector="loadavg") == 0
    assert value(text, "node_scrape_collector_success", collector="cgroup") == 1
    assert value(text, "node_scrape_collector_success", collector="meminfo") == 1


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def has_used_cpu(pid: int, seconds: float) -> Callable[[], bool]:
    def check() -> bool:
        return cpu_seconds(pid) >= seconds

    return check


def total_user_seconds() -> float:
    return sum(times.user for times in psutil.cpu_times(percpu=True))


def test_first_scrape_under_load_shows_cpu_seconds(tmp_path: Path) -> None:
    # Two busy processes, one per core, each bounded by its own CPU time.
    code = "import time\nend = time.process_time() + 30\nwhile time.process_time() < end: pass"
    burners = [subprocess.Popen([sys.executable, "-c", code, "load-marker-e1f0"]) for _ in range(2)]
    try:
        for burner in burners:
            wait_until(
                has_used_cpu(burner.pid, 0.05),
                timeout=60,
                what="a burner to start burning CPU",
            )
        user_before = total_user_seconds()
        group_before = sum(cpu_seconds(burner.pid) for burner in burners)
        port = free_port()
        argv = [*EXPORTER, "--port", str(port), "--process-group", "load=load-marker-e1f0"]
        url = f"http://127.0.0.1:{port}"
        with running("exporter", argv, tmp_path, ready_url=f"{url}/"):
            text = httpx.get(f"{url}/metrics").text
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()

    user_seconds = sum(
        seconds
        for (name, labels), seconds in samples(text).items()
        if name == "node_cpu_seconds_total" and dict(labels)["mode"] == "user"
    )
    assert user_seconds >= user_before
    group_user = value(
        text, "namedprocess_namegroup_cpu_seconds_total", groupname="load", mode="user"
    )
    group_system = value(
        text, "namedprocess_namegroup_cpu_seconds_total", groupname="load", mode="system"
    )
    assert group_user is not None
    assert group_system is not None
    # Cumulative: at least what the burners had used before the exporter started.
    assert group_user + group_system >= group_before
    assert value(text, "namedprocess_namegroup_num_procs", groupname="load") == 2


def test_unknown_collector_in_environment_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEITSTAND_EXPORTER_COLLECTORS", '["cpu", "gpu"]')

    assert cli.main([]) == 2
    assert "unknown collector gpu" in capsys.readouterr().err
