"""Read the process table: every process's parent, name and command line, then the usage of
the few that belong to a group.

The two steps keep a scrape cheap on a busy host: the first reads little or nothing of a
process already seen, the second counts open files only for group members. On Linux both read procfs
directly (``--path.procfs``), which is several times faster than psutil's generic
``process_iter``; other platforms go through psutil. A process that exits between the steps
is skipped, never reported as an error.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil

from exporters.files import read_bytes
from exporters.host import SystemSource

# include/linux/sched.h: the task is a kernel thread.
_PF_KTHREAD = 0x00200000


@dataclass(slots=True)
class ProcessEntry:
    pid: int
    ppid: int
    name: str
    cmdline: str
    # Identifies the process together with its pid, since pids are reused.
    start: float
    # The reader's own data for usage(): stat fields on Linux, a psutil.Process elsewhere.
    handle: Any = None
    # Older than a second, so past the exec that normally follows a fork: name and command
    # line may be cached until the next full read.
    settled: bool = True


@dataclass(frozen=True)
class ProcessUsage:
    user_seconds: float
    system_seconds: float
    resident_bytes: float
    virtual_bytes: float
    threads: int
    open_fds: int | None
    start_time_seconds: float


class ProcessTable(Protocol):
    def entries(self, fresh: Collection[int] = ()) -> list[ProcessEntry]: ...

    def usage(self, entry: ProcessEntry) -> ProcessUsage | None: ...


class ProcfsProcessTable:
    """Linux: ``<procfs>/<pid>/stat``, ``cmdline`` and ``fd``.

    ``entries`` reads the stat file of new processes, of young ones and of the pids in
    ``fresh`` (the group members). Every other process keeps what was read of it before,
    because its parent and start time do not change. On a typical host that is most of the
    table: kernel threads and daemons. Every ``full_read_seconds`` all stat files are read
    again, names and command lines included. So a new process that reuses the pid of one that
    exited between two scrapes, or a process that changes its command line, is assigned to
    its group then.
    """

    def __init__(
        self,
        procfs: Path,
        full_read_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.procfs = procfs
        self.full_read_seconds = full_read_seconds
        self._clock = clock
        self._next_full_read = 0.0
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._page_size = os.sysconf("SC_PAGE_SIZE")
        self._boot_time: float | None = None
        # (pid, start) -> (name, command line) of settled processes, until the next full read.
        self._names: dict[tuple[int, bytes], tuple[str, str]] = {}
        # pid -> entry of each settled process, from its last read.
        self._settled: dict[int, ProcessEntry] = {}

    def entries(self, fresh: Collection[int] = ()) -> list[ProcessEntry]:
        now = self._clock()
        full_read = now >= self._next_full_read
        if full_read:
            self._next_full_read = now + self.full_read_seconds
        # A full read also reads every name and command line again, which picks up a
        # process that called exec late or rewrote its own title.
        previous = {} if full_read else self._settled
        previous_names = {} if full_read else self._names

        entries = []
        names: dict[tuple[int, bytes], tuple[str, str]] = {}
        settled: dict[int, ProcessEntry] = {}
        uptime = float(read_bytes(f"{self.procfs}/uptime").split()[0])
        settled_before = (uptime - 1.0) * self._ticks
        for name in os.listdir(self.procfs):
            if not name.isdigit():
                continue
            pid = int(name)
            entry = None if pid in fresh else previous.get(pid)
            if entry is None:
                try:
                    entry = self._entry(pid, previous_names, names, settled_before)
                except OSError:
                    # Exited since the listing (ENOENT, ESRCH), or hidden from this user by
                    # procfs's hidepid option (EACCES).
                    continue
            else:
                names[(pid, entry.handle[19])] = (entry.name, entry.cmdline)
            entries.append(entry)
            if entry.settled:
                settled[pid] = entry
        # Replaced whole, so only live processes stay cached.
        self._names = names
        self._settled = settled
        return entries

    def _entry(
        self,
        pid: int,
        previous_names: dict[tuple[int, bytes], tuple[str, str]],
        names: dict[tuple[int, bytes], tuple[str, str]],
        settled_before: float,
    ) -> ProcessEntry:
        folder = f"{self.procfs}/{pid}"

        fd = os.open(f"{folder}/stat", os.O_RDONLY)
        try:
            stat = os.read(fd, 4096)  # about 300 bytes: 52 numbers and a short name
        finally:
            os.close(fd)
        # The name sits in parentheses and may itself contain spaces and parentheses.
        head, _, tail = stat.rpartition(b")")
        # Up to rss (field 24 of proc(5)); the 28 fields after it are not used.
        fields = tail.split(maxsplit=22)
        ppid = int(fields[1])

        key = (pid, fields[19])
        known = previous_names.get(key)
        if known is None:
            # Kernel threads have no command line. They are told apart by PF_KTHREAD in the
            # flags (field 9), not by pid 2, which is an ordinary process in a container.
            kernel_thread = int(fields[6]) & _PF_KTHREAD
            raw = b"" if kernel_thread else read_bytes(f"{folder}/cmdline")
            known = (
                head.partition(b"(")[2].decode(errors="replace"),
                raw.replace(b"\0", b" ").decode(errors="replace").rstrip(),
            )

        start = float(fields[19])
        # A forked child shows its parent's name and command line until it calls exec.
        settled = start < settled_before
        if settled:
            names[key] = known
        return ProcessEntry(
            pid=pid,
            ppid=ppid,
            name=known[0],
            cmdline=known[1],
            start=start,
            handle=fields,
            settled=settled,
        )

    def usage(self, entry: ProcessEntry) -> ProcessUsage | None:
        fields = entry.handle
        try:
            open_fds: int | None = len(os.listdir(f"{self.procfs}/{entry.pid}/fd"))
        except (FileNotFoundError, ProcessLookupError):
            # Gone since the table was read: ESRCH while it is being reaped, ENOENT after.
            return None
        except PermissionError:
            open_fds = None  # another user's process while not running as root
        return ProcessUsage(
            user_seconds=int(fields[11]) / self._ticks,
            system_seconds=int(fields[12]) / self._ticks,
            resident_bytes=float(int(fields[21]) * self._page_size),
            virtual_bytes=float(fields[20]),
            threads=int(fields[17]),
            open_fds=open_fds,
            start_time_seconds=self.boot_time() + int(fields[19]) / self._ticks,
        )

    def boot_time(self) -> float:
        if self._boot_time is None:
            with open(f"{self.procfs}/stat", "rb") as file:
                for line in file:
                    if line.startswith(b"btime "):
                        self._boot_time = float(line.split()[1])
                        break
                else:
                    raise ValueError(f"no btime line in {self.procfs}/stat")
        return self._boot_time


class PsutilProcessTable:
    """Every platform psutil supports: ``process_iter`` first, then one ``as_dict`` per member."""

    def __init__(self, system: SystemSource, windows: bool = False) -> None:
        self.system = system
        self._usage_attrs = [
            "cpu_times",
            "memory_info",
            "num_threads",
            "create_time",
            "num_handles" if windows else "num_fds",
        ]

    def entries(self, fresh: Collection[int] = ()) -> list[ProcessEntry]:
        """List every process; psutil reads them all, so ``fresh`` changes nothing."""
        entries = []
        now = time.time()
        # process_iter skips processes that vanish; ad_value covers AccessDenied and zombies.
        for process in self.system.process_iter(
            attrs=["ppid", "name", "cmdline", "create_time"], ad_value=None
        ):
            info = process.info
            start = info["create_time"] or 0.0
            entries.append(
                ProcessEntry(
                    pid=process.pid,
                    ppid=info["ppid"] or 0,
                    name=info["name"] or "",
                    cmdline=" ".join(info["cmdline"] or ()),
                    start=start,
                    handle=process,
                    settled=start < now - 1.0,
                )
            )
        return entries

    def usage(self, entry: ProcessEntry) -> ProcessUsage | None:
        try:
            info = entry.handle.as_dict(attrs=self._usage_attrs, ad_value=None)
        except psutil.Error:
            return None  # NoSuchProcess: it exited since the listing
        cpu = info["cpu_times"]
        memory = info["memory_info"]
        if cpu is None or memory is None:
            # NOTE: on macOS another user's process denies cpu_times without root, so such a
            # member is left out of its group entirely, num_procs included.
            return None
        open_fds = info.get("num_fds", info.get("num_handles"))
        return ProcessUsage(
            user_seconds=cpu.user,
            system_seconds=cpu.system,
            resident_bytes=float(memory.rss),
            virtual_bytes=float(memory.vms),
            threads=info["num_threads"] or 0,
            open_fds=open_fds,
            start_time_seconds=info["create_time"] or 0.0,
        )
