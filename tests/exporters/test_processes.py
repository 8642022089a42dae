"""Process groups: membership by pattern and ancestry, sums, counters across exits, churn."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import psutil
import pytest
from prometheus_client import CollectorRegistry

from exporters.collectors.processes import (
    DEFAULT_PROCESS_GROUPS,
    ProcessGroup,
    ProcessGroupCollector,
    assign_groups,
)
from exporters.host import Host
from exporters.process_table import ProcessEntry, ProcessUsage, ProcfsProcessTable
from tests.exporters import fakes
from tests.support.processes import wait_until


def entry(pid: int, ppid: int, name: str, cmdline: str = "") -> ProcessEntry:
    return ProcessEntry(pid=pid, ppid=ppid, name=name, cmdline=cmdline, start=float(pid))


LEITSTAND = ProcessGroup.parse(r"leitstand=\bleitstand\s+serve\b")
DB = ProcessGroup.parse("db=^postgres$")


def test_children_join_their_parents_group() -> None:
    entries = [
        entry(1, 0, "init"),
        entry(100, 1, "leitstand", "/venv/bin/python /venv/bin/leitstand serve --port 8003"),
        entry(101, 100, "python3", "python3 -c from multiprocessing.spawn import spawn_main"),
        entry(102, 100, "python3", "python3 -c from multiprocessing.spawn import spawn_main"),
        entry(103, 102, "sh", "sh -c true"),
        entry(200, 1, "bash", "bash"),
        entry(300, 100, "postgres", "postgres -D /data"),
        entry(301, 300, "postgres", "postgres: checkpointer"),
    ]
    groups = assign_groups(entries, [LEITSTAND, DB])

    assert groups == {
        100: "leitstand",
        101: "leitstand",
        102: "leitstand",
        103: "leitstand",
        300: "db",
        301: "db",
    }


def test_exporter_never_matches_itself() -> None:
    entries = [
        entry(1, 0, "init"),
        entry(50, 1, "leitstand", "leitstand exporter --process-group 'leitstand=leitstand serve'"),
    ]

    assert assign_groups(entries, [ProcessGroup.parse("x=leitstand")], self_pid=50) == {}


def test_name_or_cmdline_matches() -> None:
    group = ProcessGroup.parse("web=^nginx$|gunicorn")

    assert group.matches(entry(1, 0, "nginx"))
    assert group.matches(entry(2, 0, "python3", "/usr/bin/gunicorn app:app"))
    assert not group.matches(entry(3, 0, "nginx-helper", "nginx-helper"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("noequals", "expected NAME=REGEX"),
        ("=regex", "expected NAME=REGEX"),
        ("name=", "expected NAME=REGEX"),
        ("name=(unclosed", "invalid regular expression"),
    ],
    ids=["no-separator", "no-name", "no-regex", "bad-regex"],
)
def test_group_spec_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ProcessGroup.parse(spec)


def darwin_processes() -> list[fakes.FakeProcess]:
    return [
        fakes.FakeProcess(1, 0, "launchd", ["/sbin/launchd"]),
        fakes.FakeProcess(
            10, 1, "leitstand", ["python", "leitstand", "serve"], user=2.0, system=1.0
        ),
        fakes.FakeProcess(11, 10, "python", ["python", "-c", "worker"], user=3.0, system=0.5),
        fakes.FakeProcess(12, 10, "python", None, gone=True),
        fakes.FakeProcess(13, 10, "python", ["python"], fds=None),
        fakes.FakeProcess(20, 1, "zsh", ["-zsh"]),
    ]


def scrape_groups(collector: ProcessGroupCollector) -> CollectorRegistry:
    return fakes.registry_of(collector)


def test_psutil_path_sums_group_usage() -> None:
    system = fakes.FakePsutil(processes=darwin_processes())
    collector = ProcessGroupCollector(Host(system=system, platform="darwin"), [LEITSTAND])
    registry = scrape_groups(collector)

    group = {"groupname": "leitstand"}
    # 12 exits between the listing and as_dict; 13 has no fd count (access denied).
    assert registry.get_sample_value("namedprocess_namegroup_num_procs", group) == 3
    assert (
        registry.get_sample_value(
            "namedprocess_namegroup_cpu_seconds_total", {**group, "mode": "user"}
        )
        == 6.0
    )
    assert (
        registry.get_sample_value(
            "namedprocess_namegroup_cpu_seconds_total", {**group, "mode": "system"}
        )
        == 2.0
    )
    assert (
        registry.get_sample_value(
            "namedprocess_namegroup_memory_bytes", {**group, "memtype": "resident"}
        )
        == 3000
    )
    assert (
        registry.get_sample_value(
            "namedprocess_namegroup_memory_bytes", {**group, "memtype": "virtual"}
        )
        == 15000
    )
    assert registry.get_sample_value("namedprocess_namegroup_open_filedesc", group) == 6
    assert registry.get_sample_value("namedprocess_namegroup_num_threads", group) == 6
    assert (
        registry.get_sample_value("namedprocess_namegroup_oldest_start_time_seconds", group)
        == 1_700_000_000.0
    )


def test_windows_counts_handles() -> None:
    processes = [
        fakes.FakeProcess(4, 0, "System", None),
        fakes.FakeProcess(800, 4, "leitstand.exe", ["leitstand", "serve"], fds=120),
    ]
    system = fakes.FakePsutil(processes=processes)
    collector = ProcessGroupCollector(Host(system=system, platform="win32"), [LEITSTAND])
    registry = scrape_groups(collector)

    group = {"groupname": "leitstand"}
    assert registry.get_sample_value("namedprocess_namegroup_open_filedesc", group) == 120
    assert registry.get_sample_value("namedprocess_namegroup_num_procs", group) == 1


def test_empty_group_is_reported_as_zero() -> None:
    system = fakes.FakePsutil(processes=[fakes.FakeProcess(1, 0, "init", ["init"])])
    collector = ProcessGroupCollector(Host(system=system, platform="darwin"), [LEITSTAND])
    registry = scrape_groups(collector)

    assert (
        registry.get_sample_value("namedprocess_namegroup_num_procs", {"groupname": "leitstand"})
        == 0
    )


class ScriptedTable:
    """A process table whose entries and CPU times a test sets before each scrape."""

    def __init__(self) -> None:
        self.cpu: dict[int, float] = {}

    def entries(self, fresh: Collection[int] = ()) -> list[ProcessEntry]:
        return [entry(pid, 1, "leitstand", "leitstand serve") for pid in self.cpu]

    def usage(self, process: ProcessEntry) -> ProcessUsage | None:
        return ProcessUsage(self.cpu[process.pid], 0.0, 1.0, 1.0, 1, 1, 0.0)


def test_cpu_counter_keeps_exited_processes() -> None:
    table = ScriptedTable()
    collector = ProcessGroupCollector(Host(system=fakes.FakePsutil()), [LEITSTAND], table=table)
    registry = scrape_groups(collector)
    labels = {"groupname": "leitstand", "mode": "user"}

    table.cpu = {10: 5.0, 11: 3.0}
    assert registry.get_sample_value("namedprocess_namegroup_cpu_seconds_total", labels) == 8.0
    table.cpu = {10: 6.0}
    assert registry.get_sample_value("namedprocess_namegroup_cpu_seconds_total", labels) == 9.0
    table.cpu = {10: 6.5, 12: 1.0}
    assert registry.get_sample_value("namedprocess_namegroup_cpu_seconds_total", labels) == 10.5


@pytest.fixture
def process_tree() -> Iterator[subprocess.Popen[bytes]]:
    """A shell with two sleeping children, marked by its command line."""
    proc = subprocess.Popen(
        ["/bin/sh", "-c", "sleep 60 & sleep 60 & wait", "tree-marker-7f3a"],
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def test_procfs_groups_real_process_tree(process_tree: subprocess.Popen[bytes]) -> None:
    group = ProcessGroup.parse("tree=tree-marker-7f3a")
    collector = ProcessGroupCollector(Host(), [group], self_pid=os.getpid())
    registry = scrape_groups(collector)
    labels = {"groupname": "tree"}

    def procs() -> float | None:
        return registry.get_sample_value("namedprocess_namegroup_num_procs", labels)

    # The shell forks its children right after it starts.
    for _ in range(100):
        if procs() == 3:
            break
        time.sleep(0.02)
    assert procs() == 3
    resident = registry.get_sample_value(
        "namedprocess_namegroup_memory_bytes", {**labels, "memtype": "resident"}
    )
    assert resident is not None
    assert resident > 0
    assert registry.get_sample_value("namedprocess_namegroup_num_threads", labels) == 3
    open_fds = registry.get_sample_value("namedprocess_namegroup_open_filedesc", labels)
    assert open_fds is not None
    assert open_fds >= 3


def test_procfs_table_reads_own_process() -> None:
    table = ProcfsProcessTable(Path("/proc"))
    own = next(e for e in table.entries() if e.pid == os.getpid())
    usage = table.usage(own)

    assert own.ppid == os.getppid()
    assert "pytest" in own.cmdline or "python" in own.cmdline
    assert usage is not None
    assert usage.user_seconds + usage.system_seconds > 0
    assert usage.threads >= 1


def test_process_churn_never_breaks_a_scrape() -> None:
    # 2,000 short-lived children of one matched shell; each background job is a forked
    # shell. Each child vanishes at some point between the listing, the stat read and the
    # fd count, or lingers as a zombie until the shell reaps it.
    script = "for i in $(seq 2000); do : & done; wait"
    group = ProcessGroup.parse("churn=churn-marker-51c2")
    collector = ProcessGroupCollector(Host(), [group], self_pid=os.getpid())
    registry = scrape_groups(collector)
    cpu_labels = (("groupname", "churn"), ("mode", "system"))

    shell = subprocess.Popen(["/bin/bash", "-c", script, "churn-marker-51c2"])
    scrapes = 0
    largest_group = 0.0
    previous_cpu = 0.0
    try:
        while shell.poll() is None or scrapes < 3:
            scrapes += 1
            values = {
                (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in registry.collect()
                for sample in family.samples
            }
            success = values[("node_scrape_collector_success", (("collector", "processes"),))]
            assert success == 1, f"scrape {scrapes} failed during churn"
            procs = values[("namedprocess_namegroup_num_procs", (("groupname", "churn"),))]
            largest_group = max(largest_group, procs)
            cpu = values[("namedprocess_namegroup_cpu_seconds_total", cpu_labels)]
            assert cpu >= previous_cpu
            previous_cpu = cpu
            # Scrapes come at intervals, as from Prometheus, and leave the shell CPU to fork.
            time.sleep(0.02)
    finally:
        shell.wait(timeout=60)
    assert shell.returncode == 0
    assert largest_group >= 1
    assert scrapes >= 3


def test_first_scrape_shows_cumulative_cpu_of_busy_group() -> None:
    # Bounded by its own CPU time: the loop ends after 30 s of CPU at the latest.
    code = "import time\nend = time.process_time() + 30\nwhile time.process_time() < end: pass"
    burner = subprocess.Popen([sys.executable, "-c", code, "burn-marker-c0de"])
    try:
        wait_until(
            lambda: sum(psutil.Process(burner.pid).cpu_times()[:2]) >= 0.1,
            timeout=60,
            what="the burner to use 0.1 s of CPU",
        )
        used = sum(psutil.Process(burner.pid).cpu_times()[:2])
        group = ProcessGroup.parse("burn=burn-marker-c0de")
        collector = ProcessGroupCollector(Host(), [group], self_pid=os.getpid())
        registry = scrape_groups(collector)

        user = registry.get_sample_value(
            "namedprocess_namegroup_cpu_seconds_total", {"groupname": "burn", "mode": "user"}
        )
        system = registry.get_sample_value(
            "namedprocess_namegroup_cpu_seconds_total", {"groupname": "burn", "mode": "system"}
        )
        assert user is not None
        assert system is not None
        assert user + system >= used
    finally:
        burner.kill()
        burner.wait()


def test_group_follows_exec_of_a_young_process() -> None:
    # Before its exec, the child still has the command line it was started with. The
    # marker is assembled at run time, so only the exec'd command line contains it.
    code = (
        "import os, time\n"
        "time.sleep(0.3)\n"
        "os.execv('/bin/sh', ['sh', '-c', 'sleep 60', 'late-' + 'marker-9b1e'])\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        group = ProcessGroup.parse("late=late-marker-9b1e")
        collector = ProcessGroupCollector(Host(), [group], self_pid=os.getpid())
        registry = scrape_groups(collector)
        labels = {"groupname": "late"}

        assert registry.get_sample_value("namedprocess_namegroup_num_procs", labels) == 0
        wait_until(
            lambda: "late-marker-9b1e" in psutil.Process(child.pid).cmdline(),
            timeout=30,
            what="the child to exec",
        )
        # The shell, and its sleep child where the shell forks one.
        procs = registry.get_sample_value("namedprocess_namegroup_num_procs", labels)
        assert procs is not None
        assert procs >= 1
    finally:
        os.killpg(child.pid, 9)
        child.wait()


def stat_line(pid: int, name: str, ppid: int, utime: int, start: int, flags: int = 0) -> str:
    # Fields 3 to 24 of proc(5): state, ppid, ..., flags (9), utime (14), stime (15),
    # num_threads (20), starttime (22), vsize (23), rss (24).
    fields = ["S", ppid, 0, 0, 0, -1, flags, 0, 0, 0, 0, utime, 0, 0, 0, 20, 0, 1, 0, start]
    fields += [4096, 10, 0, 0]
    return f"{pid} ({name}) " + " ".join(str(field) for field in fields) + "\n"


def fake_process(procfs: Path, pid: int, name: str, cmdline: str, ppid: int, **stat: int) -> None:
    folder = procfs / str(pid)
    (folder / "fd").mkdir(parents=True, exist_ok=True)
    (folder / "stat").write_text(stat_line(pid, name, ppid, stat["utime"], stat["start"]))
    (folder / "cmdline").write_text(cmdline.replace(" ", "\0") + "\0")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_procfs_table_rereads_members_and_reused_pids(tmp_path: Path) -> None:
    (tmp_path / "uptime").write_text("1000.00 1500.00\n")
    (tmp_path / "stat").write_text("btime 1700000000\n")
    fake_process(tmp_path, 1, "init", "/sbin/init", 0, utime=0, start=1)
    fake_process(tmp_path, 10, "leitstand", "leitstand serve", 1, utime=100, start=500)
    fake_process(tmp_path, 20, "bash", "bash", 1, utime=0, start=600)
    clock = FakeClock()
    table = ProcfsProcessTable(tmp_path, full_read_seconds=60.0, clock=clock)
    collector = ProcessGroupCollector(Host(), [LEITSTAND], table=table)
    registry = scrape_groups(collector)
    group = {"groupname": "leitstand"}
    user = {**group, "mode": "user"}
    ticks = os.sysconf("SC_CLK_TCK")

    assert registry.get_sample_value("namedprocess_namegroup_num_procs", group) == 1
    assert registry.get_sample_value("namedprocess_namegroup_cpu_seconds_total", user) == (
        100 / ticks
    )

    # Members are read on every scrape.
    fake_process(tmp_path, 10, "leitstand", "leitstand serve", 1, utime=300, start=500)
    clock.now = 10.0
    assert registry.get_sample_value("namedprocess_namegroup_cpu_seconds_total", user) == (
        300 / ticks
    )

    # A worker that took over pid 20 between two scrapes is seen at the next full read.
    fake_process(tmp_path, 20, "python3", "python3 worker", 10, utime=50, start=700)
    clock.now = 20.0
    assert registry.get_sample_value("namedprocess_namegroup_num_procs", group) == 1
    clock.now = 61.0
    assert registry.get_sample_value("namedprocess_namegroup_num_procs", group) == 2
    assert registry.get_sample_value("namedprocess_namegroup_cpu_seconds_total", user) == (
        350 / ticks
    )


def test_procfs_table_skips_unreadable_process(tmp_path: Path) -> None:
    (tmp_path / "uptime").write_text("1000.00 1500.00\n")
    fake_process(tmp_path, 1, "init", "/sbin/init", 0, utime=0, start=1)
    fake_process(tmp_path, 10, "leitstand", "leitstand serve", 1, utime=100, start=500)
    # A stat file that cannot be read as a file, as with hidepid for another user's process.
    (tmp_path / "30" / "stat").mkdir(parents=True)
    table = ProcfsProcessTable(tmp_path)

    assert sorted(entry.pid for entry in table.entries()) == [1, 10]


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        ("/venv/bin/python3 /venv/bin/leitstand serve --workers 2 --port 8003", True),
        ("/venv/bin/python3 -m leitstand serve --host 127.0.0.1 --port 44701", True),
        ("/venv/bin/python3 -m leitstand exporter --port 9105", False),
        ("/venv/bin/python3 -m leitstand up", False),
        ("/venv/bin/python3 -m leitstand bench run --process-group leitstand", False),
    ],
    ids=["console-script", "module", "exporter", "stack", "bench"],
)
def test_default_group_matches_app_only(cmdline: str, expected: bool) -> None:
    (default,) = (ProcessGroup.parse(spec) for spec in DEFAULT_PROCESS_GROUPS)

    assert default.name == "leitstand"
    assert default.matches(entry(10, 1, "python3", cmdline)) is expected


def test_procfs_table_rereads_titles_at_full_read(tmp_path: Path) -> None:
    (tmp_path / "uptime").write_text("1000.00 1500.00\n")
    (tmp_path / "stat").write_text("btime 1700000000\n")
    fake_process(tmp_path, 1, "init", "/sbin/init", 0, utime=0, start=1)
    fake_process(tmp_path, 40, "python3", "python3 launcher.py", 1, utime=10, start=500)
    clock = FakeClock()
    table = ProcfsProcessTable(tmp_path, full_read_seconds=60.0, clock=clock)
    registry = scrape_groups(ProcessGroupCollector(Host(), [LEITSTAND], table=table))
    group = {"groupname": "leitstand"}

    assert registry.get_sample_value("namedprocess_namegroup_num_procs", group) == 0
    # The same process (same pid and start time) now shows another command line.
    fake_process(tmp_path, 40, "leitstand", "leitstand serve", 1, utime=10, start=500)
    clock.now = 30.0
    assert registry.get_sample_value("namedprocess_namegroup_num_procs", group) == 0
    clock.now = 61.0
    assert registry.get_sample_value("namedprocess_namegroup_num_procs", group) == 1


def test_procfs_table_tells_kernel_threads_by_flag(tmp_path: Path) -> None:
    (tmp_path / "uptime").write_text("1000.00 1500.00\n")
    # In a container's PID namespace, pid 2 is an ordinary process.
    fake_process(tmp_path, 1, "tini", "tini -- leitstand serve", 0, utime=0, start=1)
    fake_process(tmp_path, 2, "leitstand", "leitstand serve", 1, utime=0, start=2)
    # A kernel thread has no command line to read.
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "stat").write_text(stat_line(3, "kworker/0:1", 2, 0, 3, flags=0x00200000))
    table = ProcfsProcessTable(tmp_path)

    entries = {entry.pid: entry for entry in table.entries()}
    assert entries[2].cmdline == "leitstand serve"
    assert entries[3].name == "kworker/0:1"
    assert entries[3].cmdline == ""
