"""``leitstand optimizer``: run the Alertmanager webhook receiver and its actions."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from optimizer.actions import ClearCache
from optimizer.rules import DEFAULT_RULES_PATH, RulesError, load_rules
from optimizer.settings import Settings
from optimizer.tokens import TokenError

logger = logging.getLogger("leitstand.optimizer")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leitstand optimizer",
        description=(
            "Receive Alertmanager webhooks (version 4) and tune the app through its control "
            "API. Flags override the LEITSTAND_* environment variables named in parentheses."
        ),
    )
    parser.add_argument(
        "--host", help="address to listen on (LEITSTAND_OPTIMIZER_HOST; default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, help="port to listen on (LEITSTAND_OPTIMIZER_PORT; default 9095)"
    )
    parser.add_argument(
        "--rules",
        type=Path,
        help=f"rules file (LEITSTAND_OPTIMIZER_RULES; default {DEFAULT_RULES_PATH})",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=None,
        help="record decisions without calling the app (LEITSTAND_OPTIMIZER_DRY_RUN)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help="SQLite file of the decision audit; generated tokens go beside it "
        "(LEITSTAND_OPTIMIZER_STATE; default .leitstand/optimizer.db)",
    )
    parser.add_argument(
        "--prometheus-url",
        help="Prometheus base URL, to find a job's targets and verify actions "
        "(LEITSTAND_PROMETHEUS_URL)",
    )
    parser.add_argument(
        "--alertmanager-url",
        help="Alertmanager base URL, where escalations are posted (LEITSTAND_ALERTMANAGER_URL)",
    )
    parser.add_argument(
        "--check-rules",
        action="store_true",
        help="validate the rules file, print a summary and exit",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level (default info)",
    )
    return parser


def _drop_polling(record: logging.LogRecord) -> bool:
    """Keep scrapes and health checks that succeeded out of the access log."""
    # uvicorn's access record arguments: client, method, path, HTTP version, status.
    arguments = record.args
    if isinstance(arguments, tuple) and len(arguments) == 5:
        _, method, path, _, status = arguments
        polled = method == "GET" and path in ("/metrics", "/health")
        return not (polled and isinstance(status, int) and status < 400)
    return True


def _bind(host: str, port: int) -> socket.socket:
    """Return a socket listening on ``host`` and ``port``, set up as uvicorn sets up its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=2048)
    return listener


def main(argv: list[str]) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(
        level=arguments.log_level.upper(),
        format="%(asctime)s %(levelname)-8s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO; the optimizer logs what each request meant.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").addFilter(_drop_polling)

    overrides: dict[str, Any] = {
        name: value
        for name, value in {
            "optimizer_host": arguments.host,
            "optimizer_port": arguments.port,
            "optimizer_rules": arguments.rules,
            "optimizer_dry_run": arguments.dry_run,
            "optimizer_state": arguments.state,
            "prometheus_url": arguments.prometheus_url,
            "alertmanager_url": arguments.alertmanager_url,
        }.items()
        if value is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        print(f"leitstand optimizer: invalid settings:\n{error}", file=sys.stderr)
        return 2

    try:
        rules = load_rules(settings.optimizer_rules)
    except RulesError as error:
        print(f"leitstand optimizer: invalid rules file:\n{error}", file=sys.stderr)
        return 2
    if arguments.check_rules:
        print(f"{settings.optimizer_rules}: {len(rules.rules)} rules, valid")
        for rule in rules.rules:
            action = rule.action
            subject = (
                (action.cache or "every cache") if isinstance(action, ClearCache) else action.knob
            )
            print(f"  {rule.name}: {rule.alert} -> {action.kind} {subject}")
        return 0

    # Bound before tokens and the audit are written, so a taken port leaves nothing behind.
    try:
        listener = _bind(settings.optimizer_host, settings.optimizer_port)
    except OSError as error:
        cause = os.strerror(error.errno) if error.errno else str(error)
        print(
            f"leitstand optimizer: cannot listen on {settings.optimizer_host} port "
            f"{settings.optimizer_port}: {cause}; pass a free --port "
            "(LEITSTAND_OPTIMIZER_PORT) or another --host",
            file=sys.stderr,
        )
        return 2

    # The server's imports are heavy; a rules check or a settings error does without them.
    import uvicorn

    from optimizer.service import create_app

    application = create_app(settings, rules=rules)
    config = uvicorn.Config(
        application,
        host=settings.optimizer_host,
        # uvicorn only logs this port, so with --port 0 it shows the one the kernel chose.
        port=listener.getsockname()[1],
        log_config=None,
        log_level=arguments.log_level,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    # Everything imported so far lives as long as the process, so the garbage collector
    # need not scan it on every full collection.
    gc.freeze()
    try:
        server.run(sockets=[listener])
    except TokenError as error:
        logger.error("%s", error)
        return 1
    finally:
        listener.close()
    # uvicorn leaves started False when the lifespan or the bind failed.
    return 0 if server.started else 1
