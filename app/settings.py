"""Configuration of the ERP app, read from ``LEITSTAND_*`` environment variables.

The start-up manager (``leitstand serve``) turns its flags into these variables,
so that every worker process builds the same settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of one app instance; field ``x`` is read from ``LEITSTAND_X``."""

    model_config = SettingsConfigDict(env_prefix="LEITSTAND_", extra="ignore")

    environment: Literal["development", "production"] = "development"

    # Database: a SQLite file by default, any SQLAlchemy async URL otherwise.
    database_url: str = "sqlite+aiosqlite:///./.leitstand/erp.db"
    seed_kunden: int = Field(default=10_000, ge=0)
    seed_artikel: int = Field(default=2_000, ge=1)
    seed_auftraege: int = Field(default=100_000, ge=0)
    seed: int = 42

    # Switches used by the benchmark's before/after profile.
    eager_loading: bool = True
    cache_enabled: bool = True
    # Seconds every cache keeps a "not found" result; writes end it earlier.
    cache_negative_ttl_seconds: float = Field(default=5.0, gt=0, le=86_400)
    # Where cached entries live: each worker's memory, or one Redis shared by
    # every worker of every instance that names it.
    cache_backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Socket timeout of each Redis call; a failed call reads the database instead.
    redis_timeout_seconds: float = Field(default=0.1, gt=0, le=10)
    metrics_enabled: bool = True

    # A response header naming the worker's pid, for tests that check every worker.
    debug_pid_header: bool = False

    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    # Values shared by the workers of one instance; set by the start-up manager.
    state_path: Path | None = None

    # Control API.
    control_token: str | None = None
    control_token_file: Path | None = None
    control_allowed_networks: str = ""
    workers: int = Field(default=1, ge=1)  # at start; the control API may change it
    workers_min: int = Field(default=1, ge=1)
    workers_max: int = Field(default=8, ge=1)

    # Fault injection for drills: off unless configured.
    fault_injection: bool = False
    fault_routes: str = "/api/v1/artikel/{artikel_id}/prognose"
