#!/usr/bin/env python3
"""Measure how fast the optimizer responds to Alertmanager webhooks with many alerts each.

Starts ``leitstand optimizer --dry-run`` on a free loopback port with its own audit
file, posts notifications of ``--alerts`` alerts one after another over a
keep-alive connection, and reports the response latency as the sender measures it.
Every response must list one decision per alert, each with the id SQLite gave it, which
shows the decisions were recorded before the response.

Scenarios:
  new     every alert is a new occurrence on its own target, so each decision passes
          all guards and is recorded as dry_run
  repeat  the same notification again and again, so each decision is a duplicate

With --server-cpu and --client-cpu the server and this script run on separate cores.
Besides the latency percentiles, the report gives the server's CPU time per
notification, which other load on the machine changes far less than the latency.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

TOKEN = "bench-webhook-token"  # noqa: S105 - sent only to the loopback server it starts

RULES = """
budget: {max_actions: 1000000, window: 10m}
rules:
  - name: add-worker
    alert: LeitstandSaturation
    action: {kind: add, knob: workers, amount: 1, max: 8}
    cooldown: 10m
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["new", "repeat"], default="new")
    parser.add_argument("--alerts", type=int, default=100, help="alerts per notification")
    parser.add_argument("--requests", type=int, default=500, help="timed notifications")
    parser.add_argument("--warmup", type=int, default=50, help="untimed notifications first")
    parser.add_argument("--server-cpu", type=int, help="core to pin the optimizer to")
    parser.add_argument("--client-cpu", type=int, help="core to pin this script to")
    arguments = parser.parse_args()

    if arguments.client_cpu is not None:
        os.sched_setaffinity(0, {arguments.client_cpu})
    with (
        tempfile.TemporaryDirectory(prefix="bench-optimizer-") as folder,
        serving(Path(folder), arguments.server_cpu) as (url, pid),
    ):
        latencies, cpu_seconds = run(url, pid, arguments)
    report(arguments, latencies, cpu_seconds)
    return 0


@contextlib.contextmanager
def serving(folder: Path, cpu: int | None) -> Iterator[tuple[str, int]]:
    rules = folder / "rules.yml"
    rules.write_text(RULES)
    port = _free_port()
    leitstand = shutil.which("leitstand") or str(Path(sys.executable).with_name("leitstand"))
    argv = [
        leitstand,
        "optimizer",
        "--dry-run",
        f"--port={port}",
        f"--rules={rules}",
        f"--state={folder / 'audit.db'}",
        "--log-level=warning",
    ]
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEITSTAND_")}
    environment["LEITSTAND_WEBHOOK_TOKEN"] = TOKEN
    environment["LEITSTAND_CONTROL_TOKEN"] = "unused-in-dry-run"  # noqa: S105 - never sent
    with (folder / "optimizer.log").open("wb") as log:
        server = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, server, folder / "optimizer.log")
            yield url, server.pid
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(15)


def run(url: str, pid: int, arguments: argparse.Namespace) -> tuple[list[float], float]:
    """Post the notifications; return the timed latencies and the server's CPU seconds."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    latencies: list[float] = []
    base = datetime.now(UTC)
    cpu_at_start = 0.0
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        for number in range(arguments.warmup + arguments.requests):
            if number == arguments.warmup:
                cpu_at_start = _cpu_seconds(pid)
            round_number = number if arguments.scenario == "new" else 0
            payload = notification(arguments.alerts, round_number, base)
            started = time.perf_counter()
            response = client.post("/webhook", json=payload)
            elapsed = time.perf_counter() - started
            check(response, arguments.alerts)
            if number >= arguments.warmup:
                latencies.append(elapsed)
    return latencies, _cpu_seconds(pid) - cpu_at_start


def notification(alerts: int, round_number: int, base: datetime) -> dict[str, Any]:
    """Build a notification of ``alerts`` saturation alerts, on targets new in each round."""
    starts_at = (base + timedelta(milliseconds=round_number)).isoformat()
    entries = []
    for index in range(alerts):
        target = index + round_number * alerts
        labels = {
            "alertname": "LeitstandSaturation",
            "severity": "warning",
            "service": "erp",
            "job": "erp",
            "instance": f"10.{target // 65536 % 256}.{target // 256 % 256}.{target % 256}:8003",
        }
        entries.append(
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": "in-flight requests near the limit"},
                "startsAt": starts_at,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://127.0.0.1:9090/graph",
                "fingerprint": f"{target:016x}",
            }
        )
    return {
        "version": "4",
        "groupKey": '{}:{alertname="LeitstandSaturation"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "optimizer",
        "groupLabels": {"alertname": "LeitstandSaturation"},
        "commonLabels": {"alertname": "LeitstandSaturation", "service": "erp"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": entries,
    }


def check(response: httpx.Response, alerts: int) -> None:
    if response.status_code != 200:
        raise SystemExit(f"webhook responded with {response.status_code}: {response.text[:300]}")
    decisions = response.json()["decisions"]
    if len(decisions) != alerts or any(decision["id"] is None for decision in decisions):
        raise SystemExit(f"expected {alerts} recorded decisions, got {decisions[:3]}...")


def report(arguments: argparse.Namespace, latencies: list[float], cpu_seconds: float) -> None:
    ordered = sorted(latencies)

    def percentile(share: float) -> float:
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000

    print(
        f"scenario={arguments.scenario} alerts={arguments.alerts} requests={len(ordered)} "
        f"server_cpu={arguments.server_cpu} client_cpu={arguments.client_cpu}"
    )
    print("| p50 ms | p90 ms | p99 ms | max ms | mean ms | server CPU ms | notifications/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {percentile(0.50):.2f} | {percentile(0.90):.2f} | {percentile(0.99):.2f} "
        f"| {ordered[-1] * 1000:.2f} | {statistics.fmean(ordered) * 1000:.2f} "
        f"| {cpu_seconds / len(ordered) * 1000:.2f} | {len(ordered) / sum(ordered):.0f} |"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def _cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the optimizer exited with {server.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"the optimizer did not respond on {url}/health within 30 s")


if __name__ == "__main__":
    sys.exit(main())
