"""The ``processes`` collector: process-exporter's ``namedprocess_namegroup_*`` per named group.

A process belongs to the first group whose pattern matches its name or command line, and so
do its descendants (a server's worker processes) unless they match a group themselves.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.host import Host
from exporters.process_table import (
    ProcessEntry,
    ProcessTable,
    ProcessUsage,
    ProcfsProcessTable,
    PsutilProcessTable,
)

# The app started as `leitstand serve`, however it was invoked (console script or -m).
DEFAULT_PROCESS_GROUPS = (r"leitstand=\bleitstand\s+serve\b",)


@dataclass(frozen=True)
class ProcessGroup:
    name: str
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, spec: str) -> ProcessGroup:
        """Parse ``NAME=REGEX`` as given to ``--process-group``."""
        name, sep, pattern = spec.partition("=")
        if not sep or not name or not pattern:
            raise ValueError(
                f"--process-group {spec!r}: expected NAME=REGEX, e.g. 'app=gunicorn|uvicorn'"
            )
        try:
            return cls(name, re.compile(pattern))
        except re.error as exc:
            raise ValueError(
                f"--process-group {spec!r}: invalid regular expression: {exc}"
            ) from None

    def matches(self, entry: ProcessEntry) -> bool:
        return (
            self.pattern.search(entry.name) is not None
            or self.pattern.search(entry.cmdline) is not None
        )


def first_match(entry: ProcessEntry, groups: Sequence[ProcessGroup]) -> str | None:
    """Return the name of the first group whose pattern matches the process itself."""
    for group in groups:
        if group.matches(entry):
            return group.name
    return None


def assign_groups(
    entries: Iterable[ProcessEntry],
    groups: Sequence[ProcessGroup],
    self_pid: int | None = None,
    matches: Mapping[int, str | None] | None = None,
) -> dict[int, str]:
    """Map the pid of every process that belongs to a group to that group's name.

    ``matches`` maps pids to ``first_match`` results already known; the others are matched.
    """
    entries = list(entries)
    parents = {entry.pid: entry.ppid for entry in entries}
    resolved: dict[int, str | None] = {}
    if self_pid is not None:
        # The exporter's own command line names the patterns it looks for.
        resolved[self_pid] = None
    for entry in entries:
        if entry.pid in resolved:
            continue
        if matches is not None and entry.pid in matches:
            group_name = matches[entry.pid]
        else:
            group_name = first_match(entry, groups)
        if group_name is not None:
            resolved[entry.pid] = group_name

    # Walk up from each process to the nearest ancestor whose group is known.
    for entry in entries:
        chain: list[int] = []
        pid = entry.pid
        while pid not in resolved and pid in parents and pid not in chain:
            chain.append(pid)
            pid = parents[pid]
        group_name = resolved.get(pid)
        for member in chain:
            resolved[member] = group_name
    return {pid: name for pid, name in resolved.items() if name is not None}


@dataclass
class _GroupTotals:
    procs: int = 0
    user_seconds: float = 0.0
    system_seconds: float = 0.0
    resident_bytes: float = 0.0
    virtual_bytes: float = 0.0
    open_fds: int = 0
    threads: int = 0
    oldest_start_seconds: float | None = None


class ProcessGroupCollector:
    """Sum the usage of each group's processes.

    The CPU counters stay monotonic while processes come and go: the last CPU time seen of a
    process that has exited is kept in its group's total. CPU time of a process that started
    and exited between two scrapes is never seen, as with process-exporter.
    """

    name = "processes"

    def __init__(
        self,
        host: Host,
        groups: Sequence[ProcessGroup],
        table: ProcessTable | None = None,
        self_pid: int | None = None,
    ) -> None:
        self.groups = list(groups)
        if table is None:
            if host.is_linux:
                table = ProcfsProcessTable(host.procfs)
            else:
                table = PsutilProcessTable(host.system, windows=host.is_windows)
        self.table = table
        self.self_pid = self_pid
        self._lock = threading.Lock()
        # (pid, start) -> (group, user seconds, system seconds) from the previous scrape.
        self._last_seen: dict[tuple[int, float], tuple[str, float, float]] = {}
        self._exited_cpu = {group.name: [0.0, 0.0] for group in self.groups}
        # (pid, start, name, command line) -> first_match result of settled processes.
        self._matches: dict[tuple[int, float, str, str], str | None] = {}
        self._members: set[int] = set()

    def collect(self) -> Iterator[Metric]:
        # Last scrape's members need fresh CPU and memory figures; the rest may be cached.
        entries = self.table.entries(fresh=self._members)
        members = assign_groups(entries, self.groups, self.self_pid, self._direct_matches(entries))
        self._members = set(members)
        usages: list[tuple[str, ProcessEntry, ProcessUsage]] = []
        for entry in entries:
            group_name = members.get(entry.pid)
            if group_name is None:
                continue
            usage = self.table.usage(entry)
            if usage is not None:
                usages.append((group_name, entry, usage))
        totals = self._totals(usages)
        yield from _families(totals)

    def _direct_matches(self, entries: list[ProcessEntry]) -> dict[int, str | None]:
        known = self._matches
        cache: dict[tuple[int, float, str, str], str | None] = {}
        matches: dict[int, str | None] = {}
        for entry in entries:
            key = (entry.pid, entry.start, entry.name, entry.cmdline)
            group_name = known[key] if key in known else first_match(entry, self.groups)
            matches[entry.pid] = group_name
            if entry.settled:
                cache[key] = group_name
        # Replaced whole, so only live processes stay cached.
        self._matches = cache
        return matches

    def _totals(
        self, usages: list[tuple[str, ProcessEntry, ProcessUsage]]
    ) -> dict[str, _GroupTotals]:
        totals = {group.name: _GroupTotals() for group in self.groups}
        seen: dict[tuple[int, float], tuple[str, float, float]] = {}
        for group_name, entry, usage in usages:
            total = totals[group_name]
            total.procs += 1
            total.user_seconds += usage.user_seconds
            total.system_seconds += usage.system_seconds
            total.resident_bytes += usage.resident_bytes
            total.virtual_bytes += usage.virtual_bytes
            total.threads += usage.threads
            total.open_fds += usage.open_fds or 0
            if total.oldest_start_seconds is None:
                total.oldest_start_seconds = usage.start_time_seconds
            else:
                total.oldest_start_seconds = min(
                    total.oldest_start_seconds, usage.start_time_seconds
                )
            seen[(entry.pid, entry.start)] = (group_name, usage.user_seconds, usage.system_seconds)

        # Concurrent scrapes must not both fold the same exited process into the totals.
        with self._lock:
            for key, (group_name, user, system) in self._last_seen.items():
                if seen.get(key, ("",))[0] != group_name:
                    self._exited_cpu[group_name][0] += user
                    self._exited_cpu[group_name][1] += system
            self._last_seen = seen
            for group_name, (user, system) in self._exited_cpu.items():
                totals[group_name].user_seconds += user
                totals[group_name].system_seconds += system
        return totals


def _families(totals: dict[str, _GroupTotals]) -> Iterator[Metric]:
    procs = GaugeMetricFamily(
        "namedprocess_namegroup_num_procs",
        "Number of processes in this group.",
        labels=["groupname"],
    )
    cpu = CounterMetricFamily(
        "namedprocess_namegroup_cpu_seconds_total",
        "CPU time used by the processes of this group, in seconds per mode.",
        labels=["groupname", "mode"],
    )
    memory = GaugeMetricFamily(
        "namedprocess_namegroup_memory_bytes",
        "Memory of the processes of this group in bytes, by memory type.",
        labels=["groupname", "memtype"],
    )
    fds = GaugeMetricFamily(
        "namedprocess_namegroup_open_filedesc",
        "Open file descriptors (handles on Windows) of the processes of this group.",
        labels=["groupname"],
    )
    threads = GaugeMetricFamily(
        "namedprocess_namegroup_num_threads",
        "Threads of the processes of this group.",
        labels=["groupname"],
    )
    oldest = GaugeMetricFamily(
        "namedprocess_namegroup_oldest_start_time_seconds",
        "Start time of the oldest process of this group, in seconds since the epoch.",
        labels=["groupname"],
    )
    for name, total in totals.items():
        procs.add_metric([name], total.procs)
        cpu.add_metric([name, "user"], total.user_seconds)
        cpu.add_metric([name, "system"], total.system_seconds)
        memory.add_metric([name, "resident"], total.resident_bytes)
        memory.add_metric([name, "virtual"], total.virtual_bytes)
        fds.add_metric([name], total.open_fds)
        threads.add_metric([name], total.threads)
        if total.oldest_start_seconds is not None:
            oldest.add_metric([name], total.oldest_start_seconds)
    yield from (procs, cpu, memory, fds, threads, oldest)
