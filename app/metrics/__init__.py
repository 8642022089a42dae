"""Prometheus metrics of the ERP app: HTTP, database and instance metrics."""

from app.metrics.database import instrument_engine
from app.metrics.install import install_metrics, register_collector

__all__ = ["install_metrics", "instrument_engine", "register_collector"]
