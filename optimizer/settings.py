"""Settings of the optimizer, read from ``LEITSTAND_*`` environment variables and flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from optimizer.allowlist import AllowedTargets
from optimizer.rules import DEFAULT_RULES_PATH


class Settings(BaseSettings):
    """Field ``x`` is read from ``LEITSTAND_X``; the command line overrides it."""

    model_config = SettingsConfigDict(env_prefix="LEITSTAND_", extra="ignore")

    optimizer_host: str = "127.0.0.1"
    optimizer_port: int = Field(default=9095, ge=0, le=65535)
    optimizer_rules: Path = DEFAULT_RULES_PATH
    # The audit store (SQLite); generated tokens are written beside it.
    optimizer_state: Path = Path(".leitstand/optimizer.db")
    optimizer_dry_run: bool = False

    # Where targets are found and actions verified; unset disables both.
    prometheus_url: str | None = None
    # Instances (host:port) and CIDR networks, comma-separated, that alerts may name when
    # no Prometheus lists a job's targets; empty allows loopback only.
    optimizer_allowed_targets: str = ""
    # Where escalations are posted; unset leaves them to the log and the metric.
    alertmanager_url: str | None = None
    # How the optimizer names itself in the generatorURL of its escalations.
    optimizer_external_url: str | None = None

    # Inbound (Alertmanager -> optimizer) and outbound (optimizer -> app) bearer tokens.
    webhook_token: SecretStr | None = None
    webhook_token_file: Path | None = None
    control_token: SecretStr | None = None
    control_token_file: Path | None = None

    optimizer_action_timeout_seconds: float = Field(default=5.0, gt=0)
    optimizer_action_retries: int = Field(default=2, ge=0, le=10)
    optimizer_prometheus_timeout_seconds: float = Field(default=5.0, gt=0)
    optimizer_targets_cache_seconds: float = Field(default=30.0, ge=0)
    # Background work (actions, verifications, reverts) above which webhooks get 503.
    optimizer_max_pending: int = Field(default=1000, ge=1)
    # Actions that run against the app at the same time.
    optimizer_max_concurrent_actions: int = Field(default=16, ge=1)

    @field_validator("optimizer_allowed_targets")
    @classmethod
    def _check_allowed_targets(cls, value: str) -> str:
        AllowedTargets.parse(value)
        return value

    @property
    def allowed_targets(self) -> AllowedTargets:
        return AllowedTargets.parse(self.optimizer_allowed_targets)

    @property
    def state_dir(self) -> Path:
        return self.optimizer_state.parent
