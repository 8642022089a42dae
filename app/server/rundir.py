"""The private run folder of one app instance.

A fresh temporary folder per instance holds the shared state file and the
Prometheus multiprocess directory, so that two instances on one host never
mix their values, and a new instance never reads an old one's samples.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

logger = logging.getLogger("leitstand.server")

STATE_VARIABLE = "LEITSTAND_STATE_PATH"
# Read by prometheus_client when it is first imported; see app.metrics.multiprocess.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class RunFolder:
    """The folder with ``state``, ``metrics/`` and ``heartbeats/``; ``remove()`` deletes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state_path = path / "state"
        self.metrics_path = path / "metrics"
        self.heartbeat_path = path / "heartbeats"

    @classmethod
    def create(cls) -> RunFolder:
        folder = cls(Path(tempfile.mkdtemp(prefix="leitstand-run-")))
        folder.metrics_path.mkdir()
        folder.heartbeat_path.mkdir()
        logger.debug("Created run folder %s", folder.path)
        return folder

    def environment(self) -> dict[str, str]:
        """Return the variables that point the app and prometheus_client at this folder."""
        return {STATE_VARIABLE: str(self.state_path), MULTIPROC_VARIABLE: str(self.metrics_path)}

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        logger.debug("Removed run folder %s", self.path)
