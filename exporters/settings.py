"""Configuration of the exporter, read from ``LEITSTAND_EXPORTER_*`` environment variables.

Command-line flags override the environment; ``exporters.cli`` turns them into these fields.
List fields take JSON in the environment, e.g.
``LEITSTAND_EXPORTER_PROCESS_GROUPS='["app=gunicorn"]'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from exporters.collectors.processes import DEFAULT_PROCESS_GROUPS
from exporters.filters import (
    DISKSTATS_EXCLUDE,
    FILESYSTEM_FS_TYPES_EXCLUDE,
    FILESYSTEM_MOUNT_POINTS_EXCLUDE,
    NETDEV_EXCLUDE,
)


class ExporterSettings(BaseSettings):
    """Settings of one exporter; field ``x`` is read from ``LEITSTAND_EXPORTER_X``."""

    model_config = SettingsConfigDict(env_prefix="LEITSTAND_EXPORTER_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=9105, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # File trees to read, for a container that mounts the host's at other paths.
    path_procfs: Path = Path("/proc")
    path_sysfs: Path = Path("/sys")
    path_rootfs: Path = Path("/")

    # Enabled collectors; None enables the platform's defaults.
    collectors: list[str] | None = None

    # NAME=REGEX, matched against the process name and the command line.
    process_groups: list[str] = Field(default_factory=lambda: list(DEFAULT_PROCESS_GROUPS))

    netdev_device_include: str = ""
    netdev_device_exclude: str = NETDEV_EXCLUDE
    diskstats_device_include: str = ""
    diskstats_device_exclude: str = DISKSTATS_EXCLUDE
    filesystem_mount_points_exclude: str = FILESYSTEM_MOUNT_POINTS_EXCLUDE
    filesystem_fs_types_exclude: str = FILESYSTEM_FS_TYPES_EXCLUDE
    filesystem_mount_timeout_seconds: float = Field(default=5.0, gt=0)

    # cgroup to report, relative to the cgroup root; None reads the exporter's own.
    cgroup_path: str | None = None
