"""A whole Leitstand stack (`leitstand up`) on free loopback ports, for tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from tests.support.processes import free_port, wait_until

PARTS = ("app", "exporter", "optimizer", "prometheus", "alertmanager", "locust", "smtp")


@dataclass
class LiveStack:
    home: Path
    ports: dict[str, int]
    proc: subprocess.Popen[bytes]
    log_path: Path

    def url(self, part: str) -> str:
        return f"http://127.0.0.1:{self.ports[part]}"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def control_token(self) -> str:
        return (self.run_dir / "control.token").read_text().strip()

    @property
    def webhook_token(self) -> str:
        return (self.run_dir / "webhook.token").read_text().strip()

    def log(self, tail: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-tail:])

    def query(self, promql: str) -> list[dict[str, object]]:
        """Run an instant query against the stack's Prometheus and return the result."""
        answer = httpx.get(
            self.url("prometheus") + "/api/v1/query", params={"query": promql}, timeout=10
        )
        answer.raise_for_status()
        result: list[dict[str, object]] = answer.json()["data"]["result"]
        return result

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def start_stack(home: Path, *extra: str, wait: bool = True) -> LiveStack:
    """Start ``leitstand up`` with small seed data and short intervals."""
    ports = {part: free_port() for part in PARTS}
    argv = [
        sys.executable,
        "-m",
        "leitstand",
        "up",
        "--home",
        str(home),
        "--seed-size",
        "small",
        "--scrape-interval",
        "1s",
        "--group-wait",
        "1s",
        "--group-interval",
        "5s",
        "--alert-for",
        "10s",
        # Well above the latency of start-up and cache warm-up, well under a drill's.
        "--threshold-latency",
        "1",
    ]
    for part, port in ports.items():
        argv += [f"--{part}-port", str(port)]
    argv += list(extra)
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "up.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    stack = LiveStack(home, ports, proc, log_path)
    if wait:
        try:
            wait_until(
                lambda: _up_or_dead(stack), timeout=240, interval=0.5, what="the stack's summary"
            )
        except TimeoutError:
            stack.stop()
            raise
        if stack.proc.poll() is not None:
            raise RuntimeError(f"leitstand up exited with {stack.proc.returncode}:\n{stack.log()}")
    return stack


def _up_or_dead(stack: LiveStack) -> bool:
    if stack.proc.poll() is not None:
        return True
    return "Leitstand is up" in stack.log_path.read_text(errors="replace")


def wait_for_targets(stack: LiveStack, timeout: float = 60.0) -> None:
    """Wait until Prometheus has scraped every target of the stack successfully."""

    def all_up() -> bool:
        answer = httpx.get(stack.url("prometheus") + "/api/v1/targets", timeout=5).json()
        targets = answer["data"]["activeTargets"]
        return bool(targets) and all(target["health"] == "up" for target in targets)

    wait_until(all_up, timeout=timeout, interval=0.5, what="every target up")
    time.sleep(0.1)
