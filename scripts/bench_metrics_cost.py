#!/usr/bin/env python3
"""Measure what the app's request metrics cost, and how long a scrape takes.

``cost`` starts two single-worker app instances on the first core, one with
metrics and one with ``--no-metrics``, and drives each in turn with wrk on the
second core: the two variants interleaved, alternating which goes first in
each round. A round counts only if the app's core was busy (it was the limit)
and wrk's was not. It reports the median requests per second of each and the
median and spread of the per-round ratio instrumented / plain.

``overhead`` builds both variants of the app in one process, in
multiprocess mode, calls them straight through ASGI (no server, no sockets)
interleaved, and reports the CPU time per request of each. CPU time depends
far less on other load on the host than throughput does, so this isolates
the instrumentation's own cost when the host is busy.

``scrape`` starts one instance with four workers, sends traffic to every
route so that each worker has series, and times scrapes of ``/metrics``
the way Prometheus sends them.

Usage::

    .venv/bin/python scripts/bench_metrics_cost.py cost --rounds 7 --duration 8
    .venv/bin/python scripts/bench_metrics_cost.py overhead --rounds 15
    .venv/bin/python scripts/bench_metrics_cost.py scrape --scrapes 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

LEITSTAND = str(Path(sys.executable).with_name("leitstand"))
SEED = {
    "LEITSTAND_SEED_KUNDEN": "200",
    "LEITSTAND_SEED_ARTIKEL": "100",
    "LEITSTAND_SEED_AUFTRAEGE": "500",
}
# Prometheus 2.42 sends these on every scrape.
SCRAPE_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}
# A round is valid when the app's core is at least this busy and wrk's is below the limit.
APP_BUSY_MIN = 0.90
WRK_BUSY_MAX = 0.90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Instance:
    url: str
    process: subprocess.Popen[bytes]

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children()


@contextlib.contextmanager
def serve(name: str, flags: Sequence[str], folder: Path, core: int | None) -> Iterator[Instance]:
    """Run ``leitstand serve`` until the block ends; fail with its log if it does not start."""
    port = free_port()
    argv = [LEITSTAND, "serve", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    argv += ["--database", f"sqlite+aiosqlite:///{folder / (name + '.db')}", *flags]
    if core is not None:
        argv = ["taskset", "-c", str(core), *argv]
    log = (folder / f"{name}.log").open("wb")
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **SEED}
    )
    instance = Instance(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{(folder / (name + '.log')).read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(instance.url + "/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not respond within 60 s")
            time.sleep(0.2)
        yield instance
    finally:
        process.terminate()
        process.wait(30)
        log.close()


@dataclass
class WrkRun:
    requests_per_second: float
    wrk_busy: float  # share of one core wrk used
    app_busy: float  # share of one core the app's worker used
    errors: int

    @property
    def cpu_per_request(self) -> float:
        """Seconds of the app worker's CPU time per request served."""
        return self.app_busy / self.requests_per_second

    @property
    def valid(self) -> bool:
        return self.app_busy >= APP_BUSY_MIN and self.wrk_busy < WRK_BUSY_MAX and not self.errors


def run_wrk(url: str, duration: float, connections: int, core: int, app: Instance) -> WrkRun:
    workers = app.workers()
    app_cpu = sum(sum(worker.cpu_times()[:2]) for worker in workers)
    argv = [
        "taskset",
        "-c",
        str(core),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{round(duration)}s",
        url,
    ]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed with status {process.returncode}:\n{output}")
    app_busy = (sum(sum(worker.cpu_times()[:2]) for worker in workers) - app_cpu) / duration
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if rate is None:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{output}")
    error_count = int(errors.group(1)) if errors else 0
    if socket_errors:
        error_count += sum(int(value) for value in socket_errors.groups())
    return WrkRun(
        float(rate.group(1)), (usage.ru_utime + usage.ru_stime) / duration, app_busy, error_count
    )


def measure_cost(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    variants = {"metrics": [], "plain": ["--no-metrics"]}
    try:
        with (
            serve("metrics", variants["metrics"], folder, args.app_core) as metrics,
            serve("plain", variants["plain"], folder, args.app_core) as plain,
        ):
            instances = {"metrics": metrics, "plain": plain}
            for (
                instance
            ) in instances.values():  # warm-up: the first requests import code and fill caches
                run_wrk(instance.url + args.path, 2, args.connections, args.wrk_core, instance)

            print(f"route {args.path}, {args.connections} connections, {args.duration} s per run")
            print(
                "| round | metrics req/s | plain req/s | ratio | app core busy "
                "| wrk core busy | app CPU per request | CPU ratio |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- | --- |")
            ratios: list[float] = []
            # plain / metrics CPU time per request: the throughput ratio the app
            # would reach with its core to itself, measurable on a busy host too.
            cpu_ratios: list[float] = []
            rates: dict[str, list[float]] = {"metrics": [], "plain": []}
            for round_number in range(1, args.rounds + 1):
                order = ["metrics", "plain"] if round_number % 2 else ["plain", "metrics"]
                runs = {
                    name: run_wrk(
                        instances[name].url + args.path,
                        args.duration,
                        args.connections,
                        args.wrk_core,
                        instances[name],
                    )
                    for name in order
                }
                valid = all(run.valid for run in runs.values())
                ratio = runs["metrics"].requests_per_second / runs["plain"].requests_per_second
                cpu_ratio = runs["plain"].cpu_per_request / runs["metrics"].cpu_per_request
                cpu_ratios.append(cpu_ratio)
                if valid:
                    ratios.append(ratio)
                    for name, run in runs.items():
                        rates[name].append(run.requests_per_second)
                print(
                    f"| {round_number}{'' if valid else ' (invalid)'} "
                    f"| {runs['metrics'].requests_per_second:.0f} "
                    f"| {runs['plain'].requests_per_second:.0f} | {ratio:.3f} "
                    f"| {runs['metrics'].app_busy:.2f} / {runs['plain'].app_busy:.2f} "
                    f"| {runs['metrics'].wrk_busy:.2f} / {runs['plain'].wrk_busy:.2f} "
                    f"| {runs['metrics'].cpu_per_request * 1e6:.0f} / "
                    f"{runs['plain'].cpu_per_request * 1e6:.0f} us | {cpu_ratio:.3f} |"
                )
            print()
            print(
                "CPU ratio plain / metrics per request: "
                f"median {statistics.median(cpu_ratios):.3f}, "
                f"min {min(cpu_ratios):.3f}, max {max(cpu_ratios):.3f}"
            )
            if not ratios:
                print("no valid round: the app's core was not the limit")
                return
            print(
                f"valid rounds: {len(ratios)} of {args.rounds}; "
                f"median metrics {statistics.median(rates['metrics']):.0f} req/s, "
                f"plain {statistics.median(rates['plain']):.0f} req/s; "
                f"ratio median {statistics.median(ratios):.3f}, "
                f"min {min(ratios):.3f}, max {max(ratios):.3f}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure_scrape(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-scrape-"))
    paths = [
        "/health",
        "/api/v1/kunden?limit=20",
        "/api/v1/kunden/7",
        "/api/v1/artikel?limit=20",
        "/api/v1/artikel/3",
        "/api/v1/auftraege?limit=20",
        "/api/v1/auftraege/5",
        "/api/v1/rechnungen?limit=20",
        "/api/v1/lager?limit=20",
        "/api/v1/kunden/999999",
        "/no/such/path",
    ]
    try:
        with serve("scrape", ["--workers", str(args.workers)], folder, None) as instance:
            for path in paths:  # every worker serves some of each: many series per worker
                subprocess.run(
                    ["wrk", "-t1", "-c8", "-d1s", instance.url + path],
                    check=True,
                    capture_output=True,
                )
            timings: list[float] = []
            workers = instance.workers()
            cpu_before = sum(sum(worker.cpu_times()[:2]) for worker in workers)
            with httpx.Client(base_url=instance.url, headers=SCRAPE_HEADERS) as client:
                response = client.get("/metrics")
                samples = sum(
                    1 for line in response.text.splitlines() if line and not line.startswith("#")
                )
                for _ in range(args.scrapes):
                    started = time.perf_counter()
                    response = client.get("/metrics")
                    response.raise_for_status()
                    timings.append(time.perf_counter() - started)
            cpu_after = sum(sum(worker.cpu_times()[:2]) for worker in workers)
            # Other load on the host changes CPU time much less than wall time.
            cpu_per_scrape = (cpu_after - cpu_before) / (args.scrapes + 1)
            timings.sort()
            print(
                f"{args.workers} workers, {samples} samples, "
                f"{len(response.content)} bytes uncompressed; {args.scrapes} scrapes: "
                f"median {statistics.median(timings) * 1000:.1f} ms, "
                f"p95 {timings[int(len(timings) * 0.95) - 1] * 1000:.1f} ms, "
                f"max {timings[-1] * 1000:.1f} ms; "
                f"worker CPU time per scrape {cpu_per_scrape * 1000:.1f} ms"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure_overhead(args: argparse.Namespace) -> None:
    # The variable must be set before prometheus_client is first imported.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-overhead-")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from app.main import create_app
    from app.settings import Settings

    apps = {
        "metrics": create_app(Settings()),
        "plain": create_app(Settings(metrics_enabled=False)),
    }

    async def drive(app: Any, requests: int) -> float:
        started = time.process_time()
        for _ in range(requests // args.concurrency):
            await asyncio.gather(*(_asgi_get(app, args.path) for _ in range(args.concurrency)))
        return (time.process_time() - started) / requests * 1e6

    async def compare() -> dict[str, list[float]]:
        for app in apps.values():
            await drive(app, 2000)
        costs: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(args.rounds):
            for name, app in apps.items():
                costs[name].append(await drive(app, args.requests))
        return costs

    try:
        costs = asyncio.run(compare())
    finally:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    metrics, plain = statistics.median(costs["metrics"]), statistics.median(costs["plain"])
    print(
        f"route {args.path}, {args.concurrency} concurrent, {args.rounds} rounds of "
        f"{args.requests} requests: CPU per request median metrics {metrics:.1f} us "
        f"(min {min(costs['metrics']):.1f}), plain {plain:.1f} us "
        f"(min {min(costs['plain']):.1f}); instrumentation {metrics - plain:.1f} us per request"
    )


async def _asgi_get(app: Any, path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cost = commands.add_parser("cost", help="throughput with metrics on and off")
    cost.add_argument("--rounds", type=int, default=7)
    cost.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    cost.add_argument("--connections", type=int, default=32)
    cost.add_argument("--path", default="/health", help="route to load (the cheapest one)")
    cost.add_argument("--app-core", type=int, default=0)
    cost.add_argument("--wrk-core", type=int, default=1)
    overhead = commands.add_parser("overhead", help="CPU per request through ASGI, no server")
    overhead.add_argument("--rounds", type=int, default=15)
    overhead.add_argument("--requests", type=int, default=1600, help="requests per round")
    overhead.add_argument("--concurrency", type=int, default=16)
    overhead.add_argument("--path", default="/health")
    scrape = commands.add_parser("scrape", help="time scrapes of /metrics")
    scrape.add_argument("--workers", type=int, default=4)
    scrape.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args(argv)
    if args.command == "overhead":
        measure_overhead(args)
        return 0
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        print("wrk and taskset are required (Debian packages wrk and util-linux)", file=sys.stderr)
        return 2
    if args.command == "cost":
        measure_cost(args)
    else:
        measure_scrape(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
