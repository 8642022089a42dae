"""Render the Prometheus, rule and Alertmanager configuration of one run.

The checked-in files under ``prometheus/`` stay untouched: each run gets its
own copies in the run folder, with this run's ports, intervals and token files.
"""

from __future__ import annotations

import yaml

from leitstand.durations import format_duration
from leitstand.promconfig import render_alertmanager_config, render_prometheus_config
from leitstand.rules import DEFAULT_THRESHOLDS, render_rules
from leitstand.stack.config import StackConfig


def write_configs(config: StackConfig) -> None:
    """Write ``rules/``, ``prometheus.yml`` and ``alertmanager.yml`` into the run folder."""
    run_dir = config.run_dir.resolve()
    interval = format_duration(round(config.scrape_interval * 1000))
    ports = config.ports

    rule_files = render_rules(
        run_dir,
        thresholds_path=config.thresholds or DEFAULT_THRESHOLDS,
        scrape_interval=interval,
        max_for=config.max_for,
        overrides=config.threshold_overrides,
    )
    prometheus = render_prometheus_config(
        ports={
            "erp": ports.app,
            "node": ports.exporter,
            "optimizer": ports.optimizer,
            "prometheus": ports.prometheus,
            "alertmanager": ports.alertmanager,
        },
        host=config.host,
        scrape_interval=interval,
        evaluation_interval=interval,
        rule_files=rule_files,
    )
    (run_dir / "prometheus.yml").write_text(prometheus, encoding="utf-8")

    alertmanager = render_alertmanager_config(
        smtp_smarthost=f"{config.host}:{ports.smtp}",
        smtp_from="leitstand@leitstand.localhost",
        smtp_require_tls=False,
        email_to=config.mail_to,
        webhook_url=f"{config.url(ports.optimizer)}/webhook",
        webhook_credentials_file=config.webhook_token_file.resolve(),
        group_wait=config.group_wait,
        group_interval=config.group_interval,
    )
    alertmanager = keep_receivers(alertmanager, RECEIVERS[config.alert_method])
    (run_dir / "alertmanager.yml").write_text(alertmanager, encoding="utf-8")


def keep_receivers(text: str, kinds: tuple[str, ...]) -> str:
    """Empty the e-mail or webhook configurations that ``--alert-method`` leaves out.

    A receiver without configurations is a valid Alertmanager receiver that
    sends nothing, so the routing tree stays the same for every method.
    """
    if set(kinds) == {"email", "webhook"}:
        return text
    config = yaml.safe_load(text)
    for receiver in config.get("receivers", []):
        for kind in ("email", "webhook"):
            if kind not in kinds:
                receiver.pop(f"{kind}_configs", None)
    return str(yaml.safe_dump(config, sort_keys=False))


# --alert-method -> the kinds of receivers that get notifications.
RECEIVERS = {
    "both": ("email", "webhook"),
    "email": ("email",),
    "webhook": ("webhook",),
    "none": (),
}
