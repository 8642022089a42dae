"""``leitstand exporter``: serve host, container and process-group metrics over HTTP."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from pydantic import ValidationError

from exporters.host import Host
from exporters.registry import (
    COLLECTOR_NAMES,
    build_collectors,
    build_registry,
    default_collectors,
)
from exporters.server import Endpoints, ExporterServer
from exporters.settings import ExporterSettings

logger = logging.getLogger("leitstand.exporter")

# Flags that map one to one onto a settings field: flag -> field.
_VALUE_FLAGS = {
    "--host": "host",
    "--port": "port",
    "--log-level": "log_level",
    "--path.procfs": "path_procfs",
    "--path.sysfs": "path_sysfs",
    "--path.rootfs": "path_rootfs",
    "--collector.netdev.device-include": "netdev_device_include",
    "--collector.netdev.device-exclude": "netdev_device_exclude",
    "--collector.diskstats.device-include": "diskstats_device_include",
    "--collector.diskstats.device-exclude": "diskstats_device_exclude",
    "--collector.filesystem.mount-points-exclude": "filesystem_mount_points_exclude",
    "--collector.filesystem.fs-types-exclude": "filesystem_fs_types_exclude",
    "--collector.filesystem.mount-timeout": "filesystem_mount_timeout_seconds",
    "--collector.cgroup.path": "cgroup_path",
}

_HELP = {
    "host": "address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)",
    "port": "TCP port to listen on (default 9105)",
    "log_level": "debug, info, warning or error (default info)",
    "path_procfs": "procfs mount point (default /proc)",
    "path_sysfs": "sysfs mount point; cgroups are read below it (default /sys)",
    "path_rootfs": "root of the filesystems to report, e.g. /host/root (default /)",
    "netdev_device_include": "regex of network devices to report; replaces the exclude list",
    "netdev_device_exclude": "regex of network devices to leave out "
    "(default: lo and container interfaces)",
    "diskstats_device_include": "regex of disks to report; replaces the exclude list",
    "diskstats_device_exclude": "regex of disks to leave out (default: ram, loop, partitions)",
    "filesystem_mount_points_exclude": "regex of mount points to leave out",
    "filesystem_fs_types_exclude": "regex of filesystem types to leave out",
    "filesystem_mount_timeout_seconds": "seconds to wait for statvfs on one mount (default 5)",
    "cgroup_path": "cgroup to report, relative to the cgroup root (default: the exporter's own)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leitstand exporter",
        description="Serve host, container and process-group metrics for Prometheus, "
        "with node_exporter's and process-exporter's metric names.",
    )
    for flag, field in _VALUE_FLAGS.items():
        parser.add_argument(
            flag, dest=field, default=None, metavar=_metavar(field), help=_HELP[field]
        )
    parser.add_argument(
        "--process-group",
        dest="process_groups",
        action="append",
        metavar="NAME=REGEX",
        help="report the processes whose name or command line matches REGEX, and their "
        "children, as group NAME; repeatable (default: leitstand='leitstand serve')",
    )
    parser.add_argument(
        "--collector.disable-defaults",
        dest="disable_defaults",
        action="store_true",
        help="enable only the collectors named by --collector.NAME",
    )
    for name in COLLECTOR_NAMES:
        parser.add_argument(
            f"--collector.{name}",
            dest=f"collector_{name}",
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"enable or disable the {name} collector",
        )
    return parser


def _metavar(field: str) -> str:
    if field.endswith(("_include", "_exclude")):
        return "REGEX"
    if field.endswith("_seconds"):
        return "SECONDS"
    if field.startswith("path_") or field.endswith("_path"):
        return "PATH"
    return field.removeprefix("log_").upper()


def load_settings(argv: list[str], host: Host | None = None) -> ExporterSettings:
    """Combine the environment and the flags; flags win. Raise ``ValueError`` on bad input."""
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {
        field: getattr(args, field) for field in _HELP if getattr(args, field) is not None
    }
    if args.process_groups is not None:
        overrides["process_groups"] = args.process_groups
    try:
        settings = ExporterSettings(**overrides)
    except ValidationError as exc:
        raise ValueError(_validation_message(exc)) from None

    toggles = {name: getattr(args, f"collector_{name}") for name in COLLECTOR_NAMES}
    if args.disable_defaults or any(value is not None for value in toggles.values()):
        if args.disable_defaults:
            enabled: list[str] = []
        elif settings.collectors is not None:
            enabled = list(settings.collectors)
        else:
            enabled = default_collectors(host or Host())
        for name, value in toggles.items():
            if value is True and name not in enabled:
                enabled.append(name)
            elif value is False and name in enabled:
                enabled.remove(name)
        settings.collectors = enabled
    return settings


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        problems.append(f"{field}={error.get('input')}: {error['msg']}")
    return "invalid setting " + "; ".join(problems) + " (flag --NAME or LEITSTAND_EXPORTER_NAME)"


def host_for(settings: ExporterSettings) -> Host:
    """Build the host to report: this machine, read through the configured file trees."""
    return Host(procfs=settings.path_procfs, sysfs=settings.path_sysfs, rootfs=settings.path_rootfs)


def configure_logging(level: str) -> None:
    """Send the exporter's log to stderr with UTC timestamps; called once, at start-up."""
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    exporter_logger = logging.getLogger("leitstand.exporter")
    exporter_logger.addHandler(handler)
    exporter_logger.setLevel(level.upper())
    exporter_logger.propagate = False


def main(argv: list[str]) -> int:
    try:
        settings = load_settings(argv)
    except ValueError as exc:
        print(f"leitstand exporter: {exc}", file=sys.stderr)
        return 2
    try:
        collectors = build_collectors(settings, host_for(settings), self_pid=os.getpid())
    except ValueError as exc:
        print(f"leitstand exporter: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)

    # psutil reads procfs through this module variable; node_exporter's flag means the same.
    if settings.path_procfs != Path("/proc"):
        psutil.PROCFS_PATH = str(settings.path_procfs)

    registry = build_registry(collectors)
    names = [collector.name for collector in collectors]
    try:
        server = ExporterServer(Endpoints(registry, names), settings.host, settings.port)
    except OSError as exc:
        logger.error(
            "Cannot listen on %s port %d: %s; choose another with --port or --host",
            settings.host,
            settings.port,
            exc,
        )
        return 2

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    logger.info(
        "Exporter listening on http://%s:%d/metrics with collectors %s",
        settings.host if ":" not in settings.host else f"[{settings.host}]",
        server.port,
        ", ".join(names),
    )
    # Timed waits, because on Windows Ctrl+C cannot interrupt a wait without a timeout.
    while not stop.wait(timeout=1.0):
        pass
    logger.info("Shutting down")
    server.stop()
    return 0
