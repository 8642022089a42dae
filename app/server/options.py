"""The flags of ``leitstand serve`` and the ``LEITSTAND_*`` variables they set.

Flags that configure the app become environment variables, so that every
worker process builds the same ``Settings``. A flag that is not given leaves
the variable as the environment has it.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
DEFAULT_APP = "app.main:create_app"

# The drivers the app's engine runs on: SQLAlchemy async dialects.
ASYNC_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")

LoopName = Literal["auto", "uvloop", "asyncio"]


@dataclass(frozen=True)
class ServeOptions:
    """Options of the start-up manager itself, and the app's variables in ``environment``."""

    host: str = "127.0.0.1"
    port: int = 8003
    workers: str | None = None  # a number, "auto", or None for LEITSTAND_WORKERS
    auto_port: bool = False
    log_level: str = "info"
    access_log: bool = True
    loop: LoopName = "auto"
    graceful_timeout: float = 30.0
    worker_timeout: float = 60.0
    app: str = DEFAULT_APP
    environment: dict[str, str] = field(default_factory=dict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leitstand serve",
        description="Run the ERP app with a supervisor that forks and watches its workers.",
    )
    server = parser.add_argument_group("server")
    server.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    server.add_argument("--port", type=int, default=8003, help="TCP port (default: %(default)s)")
    server.add_argument(
        "--auto-port",
        action="store_true",
        help="if the port is in use, take the next free one and log which",
    )
    server.add_argument(
        "--workers",
        metavar="N|auto",
        help="worker processes at start: a number, or 'auto' for one per usable CPU "
        "(default: LEITSTAND_WORKERS, else 1)",
    )
    server.add_argument("--min-workers", type=int, help="lowest worker count a request may set")
    server.add_argument("--max-workers", type=int, help="highest worker count a request may set")
    server.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default="auto",
        help="event loop; auto takes uvloop where it is installed (default: %(default)s)",
    )
    server.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="(default: %(default)s)"
    )
    server.add_argument("--no-access-log", action="store_true", help="log no line per request")
    server.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="time a stopping worker has to finish its requests (default: %(default)s)",
    )
    server.add_argument(
        "--worker-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="kill and replace a worker whose event loop has not run for this long; "
        "0 turns the check off (default: %(default)s)",
    )
    server.add_argument(
        "--app",
        default=DEFAULT_APP,
        metavar="MODULE:FACTORY",
        help="factory that returns the ASGI app (default: %(default)s)",
    )

    app = parser.add_argument_group("app")
    app.add_argument("--database", metavar="URL", help="SQLAlchemy async database URL")
    app.add_argument("--no-cache", action="store_true", help="turn the response caches off")
    app.add_argument(
        "--lazy-loading",
        action="store_true",
        help="load related rows lazily, one query per row (the slow profile)",
    )
    app.add_argument(
        "--no-metrics",
        action="store_true",
        help="turn request instrumentation off, to measure its cost; /metrics stays",
    )
    app.add_argument(
        "--debug-pid-header",
        action="store_true",
        help="name the serving worker's pid in an X-Leitstand-Worker-Pid response header",
    )
    return parser


def parse_options(argv: list[str]) -> ServeOptions:
    """Parse ``argv``; invalid flags end the program with status 2, as argparse does."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers not in (None, "auto") and (not args.workers.isdigit() or int(args.workers) < 1):
        parser.error(f"argument --workers: invalid value {args.workers!r}: use 'auto' or N >= 1")
    if not 0 <= args.port <= 65535:
        parser.error(f"argument --port: invalid port {args.port}: use 0 to 65535")
    if args.graceful_timeout <= 0:
        parser.error(f"argument --graceful-timeout: invalid value {args.graceful_timeout}: use > 0")
    if args.worker_timeout < 0:
        parser.error(f"argument --worker-timeout: invalid value {args.worker_timeout}: use >= 0")

    environment: dict[str, str] = {}
    flags = {
        "LEITSTAND_DATABASE_URL": args.database,
        "LEITSTAND_WORKERS_MIN": args.min_workers,
        "LEITSTAND_WORKERS_MAX": args.max_workers,
        "LEITSTAND_CACHE_ENABLED": "false" if args.no_cache else None,
        "LEITSTAND_EAGER_LOADING": "false" if args.lazy_loading else None,
        "LEITSTAND_METRICS_ENABLED": "false" if args.no_metrics else None,
        "LEITSTAND_DEBUG_PID_HEADER": "true" if args.debug_pid_header else None,
    }
    for name, value in flags.items():
        if value is not None:
            environment[name] = str(value)

    return ServeOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        auto_port=args.auto_port,
        log_level=args.log_level,
        access_log=not args.no_access_log,
        loop=args.loop,
        graceful_timeout=args.graceful_timeout,
        worker_timeout=args.worker_timeout,
        app=args.app,
        environment=environment,
    )


def resolve_workers(requested: str | None, configured: int, minimum: int, maximum: int) -> int:
    """Return the worker count at start, or raise ``ValueError`` naming the flag to change."""
    if minimum > maximum:
        raise ValueError(
            f"LEITSTAND_WORKERS_MIN={minimum} is above LEITSTAND_WORKERS_MAX={maximum}; "
            "lower --min-workers or raise --max-workers"
        )
    if requested == "auto":
        # The CPUs this process may run on: taskset and cgroup cpusets limit them.
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        return min(max(usable or os.cpu_count() or 1, minimum), maximum)
    count = configured if requested is None else int(requested)
    source = "LEITSTAND_WORKERS" if requested is None else "--workers"
    if not minimum <= count <= maximum:
        raise ValueError(
            f"{source}={count} is outside the allowed range {minimum} to {maximum}; "
            "change it, or the bounds with --min-workers and --max-workers"
        )
    return count


def check_database_url(url: str) -> None:
    """Raise ``ValueError`` unless ``url`` is a database URL with a known async driver."""
    try:
        drivername = make_url(url).drivername
    except ArgumentError:
        raise ValueError(
            f"--database / LEITSTAND_DATABASE_URL: invalid database URL {url!r}; "
            "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DATABASE"
        ) from None
    if drivername not in ASYNC_DRIVERS:
        raise ValueError(
            f"--database / LEITSTAND_DATABASE_URL: driver {drivername!r} is not async; "
            f"use one of {', '.join(ASYNC_DRIVERS)}"
        )
