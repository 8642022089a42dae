"""Name filters for devices and mount points, with node_exporter's default patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Virtual interfaces that come and go with containers, plus loopback.
NETDEV_EXCLUDE = r"^(lo|veth.*|docker.*|br-.*|virbr.*|cali.*|flannel.*|cni.*)$"

# node_exporter 1.5's --collector.diskstats.device-exclude: RAM and loop devices, floppies,
# and partitions of whole disks that are reported themselves.
DISKSTATS_EXCLUDE = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"

# node_exporter 1.5's Linux defaults for the filesystem collector, plus devfs (macOS, FreeBSD).
FILESYSTEM_MOUNT_POINTS_EXCLUDE = (
    r"^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
)
FILESYSTEM_FS_TYPES_EXCLUDE = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devfs|devpts|devtmpfs|fusectl"
    r"|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs"
    r"|selinuxfs|squashfs|sysfs|tracefs)$"
)


@dataclass(frozen=True)
class NameFilter:
    """Keep names that match ``include``, or, without one, names that do not match ``exclude``.

    Patterns are searched, not fully matched, as Go's ``regexp.MatchString`` does in
    node_exporter, so the defaults anchor themselves with ``^`` and ``$``.
    """

    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None

    @classmethod
    def from_patterns(cls, include: str | None, exclude: str | None, flag: str) -> NameFilter:
        """Compile the patterns of one collector; ``flag`` names its options in errors."""
        if include and exclude:
            raise ValueError(
                f"--{flag}-include and --{flag}-exclude are mutually exclusive; set only one"
            )
        return cls(
            include=_compile(include, f"--{flag}-include"),
            exclude=_compile(exclude, f"--{flag}-exclude"),
        )

    def allows(self, name: str) -> bool:
        if self.include is not None:
            return self.include.search(name) is not None
        if self.exclude is not None:
            return self.exclude.search(name) is None
        return True


def _compile(pattern: str | None, flag: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{flag}: invalid regular expression {pattern!r}: {exc}") from None
