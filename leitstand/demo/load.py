"""Locust, headless, as the drill's load: forecasts of a small set of articles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from importlib.resources import files
from pathlib import Path


class Load:
    """A headless Locust run in its own process, bounded by ``run_time`` seconds."""

    def __init__(
        self,
        app_url: str,
        log_path: Path,
        users: int = 20,
        articles: int = 30,
        run_time: float = 600.0,
    ) -> None:
        locustfile = files("locustfiles") / "focused.py"
        self.argv = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "PrognoseUser",
            "--headless",
            "--host",
            app_url,
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{round(run_time)}s",
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--stop-timeout",
            "5",
        ]
        # The forecasts of a few articles stay in the cache, so degraded mode has
        # something to serve.
        self.env = {**os.environ, "LEITSTAND_SEED_ARTIKEL": str(articles)}
        self.articles = articles
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
