"""Settings of one local stack: ports, intervals, folders and which parts run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

AlertMethod = Literal["email", "webhook", "both", "none"]


@dataclass
class Ports:
    app: int = 8003
    exporter: int = 9105
    optimizer: int = 9095
    prometheus: int = 9090
    alertmanager: int = 9093
    locust: int = 8089
    smtp: int = 1025


@dataclass
class StackConfig:
    """Everything ``leitstand up`` needs to start the stack."""

    home: Path = Path(".leitstand")
    ports: Ports = field(default_factory=Ports)
    host: str = "127.0.0.1"
    scrape_interval: float = 5.0
    thresholds: Path | None = None
    # Alert name -> threshold fields that replace the thresholds file's values.
    threshold_overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    alert_method: AlertMethod = "both"
    retention: str = "15d"
    workers: str = "2"
    database_url: str | None = None
    seed_sizes: dict[str, int] = field(default_factory=dict)
    fault_injection: bool = False
    optimizer_dry_run: bool = False
    locust: bool = True
    mail_to: str = "oncall@leitstand.localhost"
    # Shorter timings for drills and tests; None keeps the checked-in values.
    max_for: str | None = None
    group_wait: str | None = None
    group_interval: str | None = None

    @property
    def run_dir(self) -> Path:
        """Folder for rendered configuration, tokens, logs and caught mail of this run."""
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def mail_dir(self) -> Path:
        return self.run_dir / "mail"

    @property
    def prometheus_data(self) -> Path:
        """Prometheus's TSDB, kept between runs (``--retention`` bounds it)."""
        return self.home / "prometheus-data"

    @property
    def control_token_file(self) -> Path:
        return self.run_dir / "control.token"

    @property
    def webhook_token_file(self) -> Path:
        return self.run_dir / "webhook.token"

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"
