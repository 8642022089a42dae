"""The host an exporter reads: a psutil-like source and the file trees node_exporter reads.

Collectors take a ``Host`` instead of importing psutil, so tests pass a stand-in module with
fixed numbers and a platform name to run the macOS and Windows code paths on Linux.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import psutil


class SystemSource(Protocol):
    """The part of psutil's module interface that the collectors call."""

    def cpu_times(self, percpu: Literal[True]) -> Any: ...

    def cpu_stats(self) -> Any: ...

    def virtual_memory(self) -> Any: ...

    def swap_memory(self) -> Any: ...

    def getloadavg(self) -> tuple[float, float, float]: ...

    def net_io_counters(self, pernic: Literal[True], nowrap: bool = ...) -> Any: ...

    def disk_io_counters(self, perdisk: Literal[True], nowrap: bool = ...) -> Any: ...

    def disk_partitions(self, all: bool = ...) -> Any: ...

    def disk_usage(self, path: str) -> Any: ...

    def boot_time(self) -> float: ...

    def process_iter(self, attrs: Any = None, ad_value: Any = None) -> Iterator[Any]: ...


@dataclass(frozen=True)
class Host:
    """A psutil-like source plus the procfs, sysfs and root paths of the host to report."""

    system: SystemSource = field(default_factory=lambda: psutil)
    platform: str = sys.platform
    procfs: Path = Path("/proc")
    sysfs: Path = Path("/sys")
    rootfs: Path = Path("/")

    @property
    def is_linux(self) -> bool:
        return self.platform.startswith("linux")

    @property
    def is_windows(self) -> bool:
        return self.platform == "win32"
