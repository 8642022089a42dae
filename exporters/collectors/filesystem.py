"""The ``filesystem`` collector: size, free and available bytes and inodes per mount point."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric

from exporters.filters import NameFilter
from exporters.host import Host

logger = logging.getLogger("leitstand.exporter")

_LABELS = ["device", "fstype", "mountpoint"]

# Filesystem types whose statvfs waits on a remote server or a user-space process.
_BLOCKING_FS_TYPES = re.compile(
    r"^(nfs\d?|cifs|smb\d?|smbfs|ceph|glusterfs|9p|afs|lustre|davfs|fuse(\..*)?|fuseblk)$"
)


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str


@dataclass(frozen=True)
class Usage:
    size: float
    free: float
    avail: float
    files: float | None = None
    files_free: float | None = None
    readonly: bool = False


class FilesystemCollector:
    """Report every mount that the filters keep.

    ``statvfs`` on a network or FUSE mount whose server is gone blocks. Such mounts are read
    on a worker thread and the scrape waits at most ``mount_timeout`` seconds. A mount point
    that timed out is skipped by later scrapes until its call returns, so a stuck mount costs
    one timeout, not one per scrape. Local filesystems are read inline, which saves a thread
    hand-off per mount on every scrape.
    """

    name = "filesystem"

    def __init__(
        self,
        host: Host,
        mount_points: NameFilter,
        fs_types: NameFilter,
        mount_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.mount_points = mount_points
        self.fs_types = fs_types
        self.mount_timeout = mount_timeout
        # Mount points with a statvfs call in flight on a worker thread.
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        families = {
            "size": GaugeMetricFamily(
                "node_filesystem_size_bytes", "Filesystem size in bytes.", labels=_LABELS
            ),
            "free": GaugeMetricFamily(
                "node_filesystem_free_bytes", "Filesystem free space in bytes.", labels=_LABELS
            ),
            "avail": GaugeMetricFamily(
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                labels=_LABELS,
            ),
            "files": GaugeMetricFamily(
                "node_filesystem_files", "Filesystem total file nodes.", labels=_LABELS
            ),
            "files_free": GaugeMetricFamily(
                "node_filesystem_files_free", "Filesystem total free file nodes.", labels=_LABELS
            ),
            "readonly": GaugeMetricFamily(
                "node_filesystem_readonly", "Filesystem read-only status.", labels=_LABELS
            ),
            "device_error": GaugeMetricFamily(
                "node_filesystem_device_error",
                "Whether an error occurred while getting statistics for the given device.",
                labels=_LABELS,
            ),
        }
        for mount in self._mounts():
            labels = [mount.device, mount.fstype, mount.mountpoint]
            usage = self._usage(mount)
            families["device_error"].add_metric(labels, 1.0 if usage is None else 0.0)
            if usage is None:
                continue
            families["size"].add_metric(labels, usage.size)
            families["free"].add_metric(labels, usage.free)
            families["avail"].add_metric(labels, usage.avail)
            if usage.files is not None and usage.files_free is not None:
                families["files"].add_metric(labels, usage.files)
                families["files_free"].add_metric(labels, usage.files_free)
            families["readonly"].add_metric(labels, 1.0 if usage.readonly else 0.0)
        yield from families.values()

    def _mounts(self) -> list[Mount]:
        if self.host.is_linux:
            mounts = self._procfs_mounts()
        else:
            mounts = [
                Mount(partition.device, partition.mountpoint, partition.fstype)
                for partition in self.host.system.disk_partitions(all=True)
            ]
        selected: dict[tuple[str, str, str], Mount] = {}
        for mount in mounts:
            if not self.mount_points.allows(mount.mountpoint):
                continue
            if not self.fs_types.allows(mount.fstype):
                continue
            # Bind mounts and over-mounts can list one mount point twice.
            selected.setdefault((mount.device, mount.fstype, mount.mountpoint), mount)
        return list(selected.values())

    def _procfs_mounts(self) -> list[Mount]:
        # As in node_exporter, pid 1's mount table comes first, because it is the host's when
        # a container mounts the host's /proc. The exporter's own table is the fallback.
        try:
            text = (self.host.procfs / "1" / "mounts").read_text()
        except OSError:
            text = (self.host.procfs / "self" / "mounts").read_text()
        return parse_mounts(text)

    def _usage(self, mount: Mount) -> Usage | None:
        if not _BLOCKING_FS_TYPES.match(mount.fstype):
            try:
                return self._stat(mount.mountpoint)
            except OSError as exc:
                # Reported as node_filesystem_device_error; at debug level, as node_exporter.
                logger.debug("statvfs on mount point %s failed: %s", mount.mountpoint, exc)
                return None
        with self._lock:
            if mount.mountpoint in self._in_flight:
                return None
            # Marked before the call, so that a concurrent scrape does not start a second one.
            self._in_flight.add(mount.mountpoint)

        outcome: list[Usage | Exception] = []
        done = threading.Event()

        def stat() -> None:
            try:
                outcome.append(self._stat(mount.mountpoint))
            except Exception as exc:  # handed to the scrape thread below
                outcome.append(exc)
            finally:
                with self._lock:
                    self._in_flight.discard(mount.mountpoint)
                done.set()

        # A daemon thread, not a pool worker: a call stuck for good must not hold up exit.
        threading.Thread(target=stat, name="statvfs", daemon=True).start()
        if not done.wait(self.mount_timeout):
            logger.warning(
                "statvfs on mount point %s timed out after %.1f s; skipping it until the call "
                "returns (raise --collector.filesystem.mount-timeout for a slow server)",
                mount.mountpoint,
                self.mount_timeout,
            )
            return None
        result = outcome[0]
        if isinstance(result, OSError):
            logger.debug("statvfs on mount point %s failed: %s", mount.mountpoint, result)
            return None
        if isinstance(result, Exception):
            raise result
        return result

    def _stat(self, mountpoint: str) -> Usage:
        if self.host.is_windows or not hasattr(os, "statvfs"):
            usage = self.host.system.disk_usage(mountpoint)
            return Usage(size=usage.total, free=usage.total - usage.used, avail=usage.free)
        # --path.rootfs: the host's root as mounted into a container.
        st = os.statvfs(self.host.rootfs / mountpoint.lstrip("/"))
        return Usage(
            size=float(st.f_blocks * st.f_frsize),
            free=float(st.f_bfree * st.f_frsize),
            avail=float(st.f_bavail * st.f_frsize),
            files=float(st.f_files),
            files_free=float(st.f_ffree),
            readonly=bool(st.f_flag & os.ST_RDONLY),
        )


def parse_mounts(text: str) -> list[Mount]:
    """Parse a /proc mounts table; spaces and tabs in paths arrive as octal escapes."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        device, mountpoint, fstype = (_unescape(field) for field in fields[:3])
        mounts.append(Mount(device, mountpoint, fstype))
    return mounts


def _unescape(field: str) -> str:
    if "\\" not in field:
        return field
    return field.encode().decode("unicode_escape").encode("latin-1").decode()
