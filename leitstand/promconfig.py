"""Render the checked-in Prometheus and Alertmanager configurations for a run.

``prometheus/prometheus.yml`` and ``prometheus/alertmanager.yml`` hold the
defaults (the ports of the design, a 15 s scrape interval). A launcher that
runs the stack with other ports, shorter intervals or another SMTP server
loads them through these functions, which rewrite only what they are given
and return YAML text. Comments of the source files do not survive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from leitstand.durations import format_duration, parse_duration
from leitstand.yamltext import dump_yaml

PROMETHEUS_DIR = Path(__file__).resolve().parent.parent / "prometheus"
PROMETHEUS_YML = PROMETHEUS_DIR / "prometheus.yml"
ALERTMANAGER_YML = PROMETHEUS_DIR / "alertmanager.yml"

# The scrape job that is also the Alertmanager the rules notify.
ALERTMANAGER_JOB = "alertmanager"


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def render_prometheus_config(
    *,
    ports: Mapping[str, int] | None = None,
    host: str = "127.0.0.1",
    scrape_interval: str | None = None,
    evaluation_interval: str | None = None,
    rule_files: Sequence[str | Path] | None = None,
    source: Path = PROMETHEUS_YML,
) -> str:
    """Return ``prometheus.yml`` with new targets, intervals and rule files.

    ``ports`` maps a scrape job (``erp``, ``node``, ``optimizer``,
    ``prometheus``, ``alertmanager``) to the port of its one target on
    ``host``. The ``alertmanager`` port is also where alerts are sent. Jobs
    left out keep their targets. A scrape timeout longer than the new scrape
    interval is shortened to it, as Prometheus requires.
    """
    config = _load(source)
    jobs = {job["job_name"]: job for job in config.get("scrape_configs", [])}

    for job_name, port in (ports or {}).items():
        if job_name not in jobs:
            raise ValueError(
                f"unknown scrape job {job_name!r} in ports; {source} has {sorted(jobs)}"
            )
        if not 0 < port < 65536:
            raise ValueError(f"invalid port {port} for job {job_name!r}: expected 1-65535")
        jobs[job_name]["static_configs"] = [{"targets": [f"{host}:{port}"]}]
        if job_name == ALERTMANAGER_JOB:
            config["alerting"] = {
                "alertmanagers": [{"static_configs": [{"targets": [f"{host}:{port}"]}]}]
            }

    settings = config.setdefault("global", {})
    if scrape_interval is not None:
        interval_ms = parse_duration(scrape_interval)
        settings["scrape_interval"] = format_duration(interval_ms)
        if parse_duration(str(settings.get("scrape_timeout", "10s"))) > interval_ms:
            settings["scrape_timeout"] = format_duration(interval_ms)
    if evaluation_interval is not None:
        settings["evaluation_interval"] = format_duration(parse_duration(evaluation_interval))
    if rule_files is not None:
        config["rule_files"] = [str(path) for path in rule_files]
    return dump_yaml(config)


def render_alertmanager_config(
    *,
    smtp_smarthost: str | None = None,
    smtp_from: str | None = None,
    smtp_require_tls: bool | None = None,
    smtp_auth_username: str | None = None,
    smtp_auth_password_file: str | Path | None = None,
    email_to: str | None = None,
    email_to_critical: str | None = None,
    webhook_url: str | None = None,
    webhook_credentials_file: str | Path | None = None,
    group_wait: str | None = None,
    group_interval: str | None = None,
    repeat_interval: str | None = None,
    source: Path = ALERTMANAGER_YML,
) -> str:
    """Return ``alertmanager.yml`` with new SMTP settings, addresses, webhook and timings.

    ``email_to`` is the address of every e-mail receiver, unless
    ``email_to_critical`` names another one for critical alerts.
    ``webhook_credentials_file`` contains the optimizer's webhook token.
    Alertmanager resolves a relative path against the folder of the rendered file.
    ``repeat_interval`` applies to every route that sets one.
    """
    config = _load(source)

    smtp = config.setdefault("global", {})
    for key, value in (
        ("smtp_smarthost", smtp_smarthost),
        ("smtp_from", smtp_from),
        ("smtp_require_tls", smtp_require_tls),
        ("smtp_auth_username", smtp_auth_username),
        ("smtp_auth_password_file", smtp_auth_password_file),
    ):
        if value is not None:
            smtp[key] = str(value) if isinstance(value, Path) else value

    for receiver in config.get("receivers", []):
        for email in receiver.get("email_configs", []):
            critical = receiver["name"].endswith("critical")
            address = email_to_critical if critical and email_to_critical else email_to
            if address is not None:
                email["to"] = address
        for webhook in receiver.get("webhook_configs", []):
            if webhook_url is not None:
                webhook["url"] = webhook_url
            if webhook_credentials_file is not None:
                authorization = webhook.setdefault("http_config", {}).setdefault(
                    "authorization", {"type": "Bearer"}
                )
                authorization["credentials_file"] = str(webhook_credentials_file)

    route = config["route"]
    for key, value in (("group_wait", group_wait), ("group_interval", group_interval)):
        if value is not None:
            route[key] = format_duration(parse_duration(value))
    if repeat_interval is not None:
        _set_repeat_interval(route, format_duration(parse_duration(repeat_interval)))
    return dump_yaml(config)


def _set_repeat_interval(route: dict[str, Any], value: str) -> None:
    if "repeat_interval" in route:
        route["repeat_interval"] = value
    for child in route.get("routes", []):
        _set_repeat_interval(child, value)
