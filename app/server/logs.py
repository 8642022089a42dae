"""Logging of the supervisor and its workers, in uvicorn's format.

The supervisor configures logging once before forking; every worker inherits
the handlers and writes to the same stderr and stdout.
"""

from __future__ import annotations

import copy
import logging.config
from typing import Any

from uvicorn.config import LOG_LEVELS, LOGGING_CONFIG


def configure_logging(level: str, access_log: bool) -> None:
    """Log ``leitstand.*`` and ``uvicorn.*`` at ``level`` with uvicorn's formatters."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    numeric = LOG_LEVELS[level]
    config["loggers"]["leitstand"] = {"handlers": ["default"], "level": numeric, "propagate": False}
    config["loggers"]["uvicorn"]["level"] = numeric
    config["loggers"]["uvicorn.error"]["level"] = numeric
    config["loggers"]["uvicorn.access"]["level"] = numeric
    if not access_log:
        config["loggers"]["uvicorn.access"]["handlers"] = []
    logging.config.dictConfig(config)
