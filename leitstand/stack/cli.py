"""``leitstand up``: start the whole stack on this machine."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import webbrowser
from pathlib import Path
from types import FrameType

from leitstand.durations import parse_duration
from leitstand.rules import THRESHOLD_FLAGS
from leitstand.stack.config import Ports, StackConfig

PORT_FLAGS = ("app", "exporter", "optimizer", "prometheus", "alertmanager", "locust", "smtp")


def duration_seconds(text: str) -> float:
    """Parse a Prometheus duration (``15s``, ``2m``, ``500ms``) or plain seconds; above 0."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text) / 1000
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"invalid interval {text!r}: it must be above 0")
    return seconds


def prometheus_duration(text: str) -> str:
    """Check a Prometheus duration such as ``10s`` or ``15d`` and return it as given."""
    try:
        parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def worker_count(text: str) -> str:
    """Check ``--workers``: a whole number from 1, or ``auto``."""
    if text != "auto" and not (text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(
            f"invalid worker count {text!r}: expected a whole number from 1, or auto"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leitstand up",
        description="Start the ERP app, the exporter, the optimizer, Prometheus, "
        "Alertmanager, an SMTP catcher and the Locust web UI on this machine.",
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(".leitstand"),
        help="folder for the database, Prometheus data and the run folder (default: .leitstand)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address every part listens on")
    parser.add_argument(
        "--scrape-interval",
        type=duration_seconds,
        default=5.0,
        help="Prometheus scrape and rule evaluation interval (default: 5s)",
    )
    parser.add_argument(
        "--thresholds", type=Path, help="alert thresholds file (default: prometheus/thresholds.yml)"
    )
    for flag, (alert, field, text) in THRESHOLD_FLAGS.items():
        parser.add_argument(flag, type=float, metavar="NUMBER", help=f"{text} ({alert}.{field})")
    parser.add_argument(
        "--alert-method",
        choices=["email", "webhook", "both", "none"],
        default="both",
        help="where alerts go: people by e-mail, the optimizer by webhook, "
        "both (default) or nowhere",
    )
    parser.add_argument(
        "--retention",
        type=prometheus_duration,
        default="15d",
        help="how long Prometheus keeps its data (default: 15d)",
    )
    parser.add_argument(
        "--workers",
        type=worker_count,
        default="2",
        help="app worker processes, a number or 'auto' (default: 2)",
    )
    parser.add_argument(
        "--database",
        help="SQLAlchemy URL of the ERP database (default: a SQLite file in the home folder)",
    )
    parser.add_argument(
        "--seed-size",
        choices=["full", "small"],
        default="full",
        help="seed data size for a new database: full (10,000 customers, "
        "100,000 orders) or small (for quick trials)",
    )
    parser.add_argument(
        "--fault-injection", action="store_true", help="allow drills through the app's fault knobs"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="the optimizer records decisions without calling the app",
    )
    parser.add_argument(
        "--alert-for",
        type=prometheus_duration,
        metavar="DURATION",
        help="longest `for` of any alert rule, e.g. 10s for drills "
        "(default: the thresholds file's)",
    )
    parser.add_argument(
        "--group-wait",
        type=prometheus_duration,
        metavar="DURATION",
        help="Alertmanager group_wait (default: the checked-in 10s)",
    )
    parser.add_argument(
        "--group-interval",
        type=prometheus_duration,
        metavar="DURATION",
        help="Alertmanager group_interval (default: the checked-in 1m)",
    )
    parser.add_argument("--no-locust", action="store_true", help="do not start the Locust UI")
    parser.add_argument(
        "--open",
        action="store_true",
        help="open the Prometheus, Alertmanager and Locust UIs in a browser",
    )
    defaults = Ports()
    for name in PORT_FLAGS:
        parser.add_argument(
            f"--{name}-port",
            type=int,
            default=getattr(defaults, name),
            help=f"port of the {name} (default: {getattr(defaults, name)})",
        )
    return parser


def config_from_args(args: argparse.Namespace) -> StackConfig:
    ports = Ports(**{name: getattr(args, f"{name}_port") for name in PORT_FLAGS})
    seed_sizes = (
        {"kunden": 500, "artikel": 200, "auftraege": 2000} if args.seed_size == "small" else {}
    )
    home: Path = args.home
    database = args.database or f"sqlite+aiosqlite:///{(home / 'erp.db').resolve()}"
    overrides: dict[str, dict[str, float]] = {}
    for flag, (alert, field, _) in THRESHOLD_FLAGS.items():
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value is not None:
            overrides.setdefault(alert, {})[field] = value
    return StackConfig(
        home=home,
        threshold_overrides=overrides,
        ports=ports,
        host=args.host,
        scrape_interval=args.scrape_interval,
        thresholds=args.thresholds,
        alert_method=args.alert_method,
        retention=args.retention,
        workers=args.workers,
        database_url=database,
        seed_sizes=seed_sizes,
        fault_injection=args.fault_injection,
        optimizer_dry_run=args.dry_run,
        locust=not args.no_locust,
        max_for=args.alert_for,
        group_wait=args.group_wait,
        group_interval=args.group_interval,
    )


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = config_from_args(args)

    from leitstand.stack.launcher import StackError, run

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    ready = threading.Event()
    if args.open:

        def open_uis() -> None:
            if ready.wait(600) and not stop.is_set():
                for port in (
                    config.ports.prometheus,
                    config.ports.alertmanager,
                    config.ports.locust,
                ):
                    webbrowser.open(config.url(port))

        threading.Thread(target=open_uis, daemon=True).start()

    try:
        return run(config, stop, ready=ready)
    except StackError as error:
        print(f"leitstand up: {error}", file=sys.stderr)
        return 2
