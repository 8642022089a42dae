"""Start every part of the local stack in order, watch them, stop them in reverse."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from dataclasses import asdict
from importlib.resources import files
from typing import TextIO

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from leitstand.rules import DEFAULT_THRESHOLDS, apply_overrides
from leitstand.stack import ports as port_checks
from leitstand.stack.config import StackConfig
from leitstand.stack.configs import write_configs
from leitstand.stack.parts import Part, PartSpec, stop_all
from leitstand.stack.tokens import ensure_token_file
from leitstand.thresholds import ThresholdsError, load_thresholds

logger = logging.getLogger("leitstand.up")


class StackError(RuntimeError):
    """An error that stops the stack before it runs; its message names the cause and the fix."""


def binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(
            f"{name} is not installed; install the Debian package: apt-get install {package} "
            "(make up installs it when run as root)"
        )
    return path


def plan(config: StackConfig) -> list[PartSpec]:
    """Return the parts to start, in start order."""
    python = sys.executable
    url = config.url
    ports = config.ports
    tokens = {
        "LEITSTAND_CONTROL_TOKEN_FILE": str(config.control_token_file.resolve()),
        "LEITSTAND_WEBHOOK_TOKEN_FILE": str(config.webhook_token_file.resolve()),
    }
    run_dir = config.run_dir.resolve()

    app_env = {
        **tokens,
        **{f"LEITSTAND_SEED_{k.upper()}": str(v) for k, v in config.seed_sizes.items()},
    }
    if config.fault_injection:
        app_env["LEITSTAND_FAULT_INJECTION"] = "1"
    app_argv = [
        python,
        "-m",
        "leitstand",
        "serve",
        "--host",
        config.host,
        "--port",
        str(ports.app),
        "--workers",
        config.workers,
    ]
    if config.database_url:
        app_argv += ["--database", config.database_url]

    optimizer_argv = [
        python,
        "-m",
        "leitstand",
        "optimizer",
        "--host",
        config.host,
        "--port",
        str(ports.optimizer),
        "--state",
        str(run_dir / "optimizer.db"),
        "--prometheus-url",
        url(ports.prometheus),
        "--alertmanager-url",
        url(ports.alertmanager),
    ]
    if config.optimizer_dry_run:
        optimizer_argv.append("--dry-run")

    specs = [
        PartSpec(
            "smtp",
            [
                python,
                "-m",
                "leitstand.stack.smtp",
                "--host",
                config.host,
                "--port",
                str(ports.smtp),
                "--maildir",
                str(config.mail_dir.resolve()),
            ],
            url=f"smtp://{config.host}:{ports.smtp}",
        ),
        PartSpec(
            "app",
            app_argv,
            ready_url=url(ports.app) + "/ready",
            url=url(ports.app) + "/docs",
            env=app_env,
            ready_timeout=180.0,
        ),
        PartSpec(
            "exporter",
            [
                python,
                "-m",
                "leitstand",
                "exporter",
                "--host",
                config.host,
                "--port",
                str(ports.exporter),
            ],
            ready_url=url(ports.exporter) + "/metrics",
            url=url(ports.exporter) + "/metrics",
        ),
        PartSpec(
            "optimizer",
            optimizer_argv,
            ready_url=url(ports.optimizer) + "/health",
            url=url(ports.optimizer) + "/decisions",
            env=tokens,
        ),
        PartSpec(
            "alertmanager",
            [
                binary("prometheus-alertmanager", "prometheus-alertmanager"),
                f"--config.file={run_dir / 'alertmanager.yml'}",
                f"--storage.path={run_dir / 'alertmanager'}",
                f"--web.listen-address={config.host}:{ports.alertmanager}",
                f"--web.external-url={url(ports.alertmanager)}",
                "--cluster.listen-address=",
            ],
            ready_url=url(ports.alertmanager) + "/-/ready",
            url=url(ports.alertmanager),
        ),
        PartSpec(
            "prometheus",
            [
                binary("prometheus", "prometheus"),
                f"--config.file={run_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={config.prometheus_data.resolve()}",
                f"--storage.tsdb.retention.time={config.retention}",
                f"--web.listen-address={config.host}:{ports.prometheus}",
                f"--web.external-url={url(ports.prometheus)}",
                "--web.enable-lifecycle",
            ],
            ready_url=url(ports.prometheus) + "/-/ready",
            url=url(ports.prometheus),
        ),
    ]
    if config.locust:
        locustfile = files("locustfiles") / "erp.py"
        specs.append(
            PartSpec(
                "locust",
                [
                    python,
                    "-m",
                    "locust",
                    "-f",
                    str(locustfile),
                    "--host",
                    url(ports.app),
                    "--web-host",
                    config.host,
                    "--web-port",
                    str(ports.locust),
                ],
                ready_url=url(ports.locust),
                url=url(ports.locust),
            )
        )
    return specs


def validate(config: StackConfig) -> None:
    """Raise ``StackError`` for settings that would only fail after parts have started."""
    try:
        make_url(config.database_url or "")
    except ArgumentError:
        raise StackError(
            f"invalid --database {config.database_url!r}: expected a SQLAlchemy URL such as "
            "sqlite+aiosqlite:///path/erp.db or postgresql+asyncpg://user@host/db"
        ) from None
    try:
        apply_overrides(
            load_thresholds(config.thresholds or DEFAULT_THRESHOLDS), config.threshold_overrides
        )
    except (ThresholdsError, ValidationError, OSError) as error:
        first = str(error).splitlines()[:3]
        raise StackError(
            "invalid thresholds: " + " ".join(line.strip() for line in first)
        ) from None

    ports = asdict(config.ports)
    by_port: dict[int, list[str]] = {}
    for name, port in ports.items():
        by_port.setdefault(port, []).append(name)
    shared = [f"{port} ({', '.join(names)})" for port, names in by_port.items() if len(names) > 1]
    if shared:
        raise StackError(
            f"several parts would share a port: {'; '.join(shared)}; "
            "give each its own with the --*-port flags"
        )
    if not port_checks.address_available(config.host):
        raise StackError(
            f"invalid --host {config.host}: no interface of this machine has that address"
        )


def check_ports(config: StackConfig, specs: list[PartSpec]) -> None:
    """Raise ``StackError`` naming every taken port and the process listening on it."""
    wanted = {
        "app": config.ports.app,
        "exporter": config.ports.exporter,
        "optimizer": config.ports.optimizer,
        "prometheus": config.ports.prometheus,
        "alertmanager": config.ports.alertmanager,
        "locust": config.ports.locust,
        "smtp": config.ports.smtp,
    }
    names = {spec.name for spec in specs}
    taken = [
        f"port {port} ({name}) is taken by {port_checks.holder(port)}; "
        f"stop it or pass --{name}-port"
        for name, port in wanted.items()
        if name in names and not port_checks.is_free(config.host, port)
    ]
    if taken:
        raise StackError("\n".join(taken))


def prepare(config: StackConfig) -> None:
    """Create the run folder, write the tokens first, then the rendered configuration."""
    if config.run_dir.exists():
        for stale in ("logs", "rules", "alertmanager.yml", "prometheus.yml"):
            path = config.run_dir / stale
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    for folder in (config.run_dir, config.log_dir, config.mail_dir, config.prometheus_data):
        folder.mkdir(parents=True, exist_ok=True)
    ensure_token_file(config.control_token_file)
    ensure_token_file(config.webhook_token_file)
    write_configs(config)


def summary(config: StackConfig, specs: list[PartSpec]) -> str:
    width = max(len(spec.name) for spec in specs)
    lines = ["", "Leitstand is up:"]
    lines += [f"  {spec.name.ljust(width)}  {spec.url}" for spec in specs if spec.url]
    lines += [
        f"  {'logs'.ljust(width)}  {config.log_dir.resolve()}",
        f"  {'mail'.ljust(width)}  {config.mail_dir.resolve()}",
        f"  {'run'.ljust(width)}  {config.run_dir.resolve()}",
        "Press Ctrl-C to stop every part.",
        "",
    ]
    return "\n".join(lines)


def run(
    config: StackConfig,
    stop: threading.Event,
    console: TextIO = sys.stdout,
    ready: threading.Event | None = None,
) -> int:
    """Run the stack until ``stop`` is set or a part dies; return the exit status."""
    validate(config)
    specs = plan(config)
    check_ports(config, specs)
    prepare(config)
    width = max(len(spec.name) for spec in specs)
    started: list[Part] = []

    def say(message: str) -> None:
        console.write(f"{'up'.ljust(width)} | {message}\n")
        console.flush()

    try:
        for spec in specs:
            say(f"starting {spec.name}")
            part = Part(spec, config.log_dir, console, width)
            started.append(part)
            part.wait_ready(stop)
            if stop.is_set():
                return 0
        console.write(summary(config, specs))
        console.flush()
        if ready is not None:
            ready.set()

        while not stop.wait(0.5):
            dead = [part for part in started if not part.alive()]
            if dead:
                part = dead[0]
                say(
                    f"{part.spec.name} exited with status {part.proc.returncode}; "
                    f"its last lines:\n{part.tail()}"
                )
                return 1
        return 0
    except RuntimeError as error:
        failed = started[-1] if started else None
        say(f"start-up failed: {error}")
        if failed is not None:
            say(f"last lines of {failed.spec.name} ({failed.log_path}):\n{failed.tail()}")
        return 1
    finally:
        began = time.monotonic()
        stop_all(started, say)
        if started:
            say(f"stopped {len(started)} parts in {time.monotonic() - began:.1f} s")
