#!/usr/bin/env python3
"""Measure what the response caches save: latency of cached reads, throughput of a cached list.

Two single-worker app instances share one seeded SQLite database on the first
core: one with its caches, one with ``--no-cache``. wrk runs on the second core.
Each round measures, in an order that alternates between rounds:

- p50 latency of an article detail and of the article's forecast, on the
  cached and on the uncached instance, with one connection, so that the p50 is
  the time to serve one request and not a queue;
- requests per second of a cached article list page and of ``/health`` on the
  cached instance, with several connections, so that the app's core is the
  limit.

A throughput round is valid if the app's core was busy and wrk's was not. When
no round is valid (other processes share the app's core), the table shows all
rounds and says so. The script prints a Markdown table with the median and the
spread (min to max) of every figure over the rounds.

``--hit-path`` instead times one cache hit of each layer in this process.

Usage::

    .venv/bin/python scripts/bench_cache.py --rounds 5 --duration 5
    .venv/bin/python scripts/bench_cache.py --hit-path
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from app.db.setup import prepare_database
from app.settings import Settings

LEITSTAND = str(Path(sys.executable).with_name("leitstand"))
APP_CORE = 0
WRK_CORE = 1
# A throughput run is valid when the app's core is at least this busy and wrk's below the limit.
APP_BUSY_MIN = 0.90
WRK_BUSY_MAX = 0.90

DETAIL = "/api/v1/artikel/17"
FORECAST = "/api/v1/artikel/17/prognose"
LIST_PAGE = "/api/v1/artikel?limit=50&offset=50&sort=name"
HEALTH = "/health"

# wrk prints one JSON line after its run: the fields this script reads.
WRK_REPORT = r"""
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
"""


@dataclass
class Instance:
    url: str
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """Return the CPU time used so far by the instance's worker processes."""
        total = 0.0
        for worker in psutil.Process(self.process.pid).children():
            times = worker.cpu_times()
            total += times.user + times.system
        return total


@dataclass
class WrkRun:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    app_busy: float
    wrk_busy: float
    socket_errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(name: str, flags: Sequence[str], database: str, folder: Path) -> Iterator[Instance]:
    """Run one single-worker ``leitstand serve`` pinned to the app's core."""
    port = free_port()
    argv = ["taskset", "-c", str(APP_CORE), LEITSTAND, "serve", "--port", str(port)]
    argv += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    argv += ["--database", database, *flags]
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("LEITSTAND_")
    }
    log = (folder / f"{name}.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environment)
    instance = Instance(f"http://127.0.0.1:{port}", process)
    try:
        wait_until_ready(instance, folder / f"{name}.log")
        yield instance
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def wait_until_ready(instance: Instance, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            raise RuntimeError(
                f"the app exited with {instance.process.returncode}:\n{log.read_text()}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(instance.url + "/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the app at {instance.url} was not ready after {timeout} s; see {log}")


def run_wrk(instance: Instance, path: str, connections: int, duration: int, script: Path) -> WrkRun:
    """Drive ``path`` with wrk on its own core; measure both cores' busy shares."""
    argv = ["taskset", "-c", str(WRK_CORE), "wrk", "-t", "1", "-c", str(connections)]
    argv += ["-d", f"{duration}s", "-s", str(script), instance.url + path]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    app_before = instance.cpu_seconds()
    started = time.monotonic()
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    app_used = instance.cpu_seconds() - app_before
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_used = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )

    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    report = json.loads(line[4:])
    if report["non_2xx"]:
        raise RuntimeError(f"wrk on {path} got responses other than 2xx: {report}")
    return WrkRun(
        requests_per_second=report["requests"] / (report["duration_us"] / 1e6),
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        app_busy=app_used / elapsed,
        wrk_busy=wrk_used / elapsed,
        socket_errors=report["socket_errors"],
    )


def warm_up(instance: Instance) -> None:
    for path in (DETAIL, FORECAST, LIST_PAGE, HEALTH):
        response = httpx.get(instance.url + path, timeout=60)
        response.raise_for_status()


def measure_hit_path(repeats: int = 7, calls: int = 50_000) -> int:
    """Print the time of one cache hit, per layer, in this process (no metrics server)."""
    from pydantic import BaseModel

    from app.cache import Cache, CacheConfig, ResponseCache, cached
    from app.shared_state import SharedState

    class Query(BaseModel):
        status: str = "offen"
        limit: int = 50
        offset: int = 0

    state = SharedState.temporary()
    cache = Cache("bench", CacheConfig(capacity=1024, ttl_seconds=3600), state)

    def get_artikel(session: object, artikel_id: int) -> dict[str, int]:
        return {"id": artikel_id}

    cached_get = cached(cache)(get_artikel)
    cached_list = cached(cache)(lambda session, query: [1, 2, 3])
    async_get = cached(cache)(_async_artikel)
    query = Query()

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def discard(message: Any) -> None:
        return None

    middleware = ResponseCache(endpoint, routes=((r"/api/v1/artikel/[0-9]+", "artikel"),))
    scope = {"type": "http", "method": "GET", "path": "/api/v1/artikel/7", "query_string": b""}

    def per_call(function: Callable[[], object]) -> float:
        function()
        times = timeit.repeat(function, number=calls, repeat=repeats)
        return statistics.median(times) / calls * 1e6

    def per_await(factory: Callable[[], Awaitable[object]]) -> float:
        async def run() -> float:
            await factory()
            started = time.perf_counter()
            for _ in range(calls):
                await factory()
            return time.perf_counter() - started

        times = [asyncio.run(run()) for _ in range(repeats)]
        return statistics.median(times) / calls * 1e6

    rows = [
        ("plain call, no cache", per_call(lambda: get_artikel(None, 7))),
        ("`@cached` hit, int argument", per_call(lambda: cached_get(None, 7))),
        ("`@cached` hit, pydantic query argument", per_call(lambda: cached_list(None, query))),
        ("`@cached` hit, `async def`", per_await(lambda: async_get(None, 7))),
        ("`ResponseCache` hit", per_await(lambda: middleware(scope, receive, discard))),
    ]
    print("| call | µs per call, median of 7 |")
    print("| --- | --- |")
    for name, micros in rows:
        print(f"| {name} | {micros:.2f} |")
    return 0


async def _async_artikel(session: object, artikel_id: int) -> dict[str, int]:
    return {"id": artikel_id}


def _valid(run: WrkRun) -> bool:
    return run.app_busy >= APP_BUSY_MIN and run.wrk_busy < WRK_BUSY_MAX


def summary(values: Sequence[float], unit: str) -> str:
    return f"{statistics.median(values):.2f} {unit} ({min(values):.2f} to {max(values):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default: 5)")
    parser.add_argument(
        "--duration", type=int, default=5, help="whole seconds per wrk run (default: 5)"
    )
    parser.add_argument(
        "--connections", type=int, default=16, help="wrk connections for throughput (default: 16)"
    )
    parser.add_argument(
        "--seed-auftraege", type=int, default=100_000, help="orders to seed (default: 100000)"
    )
    parser.add_argument(
        "--hit-path",
        action="store_true",
        help="time one cache hit in process instead (no server, no wrk)",
    )
    options = parser.parse_args(argv)
    if options.hit_path:
        return measure_hit_path()
    if (os.cpu_count() or 1) < 2:
        parser.error("needs two cores: one for the app, one for wrk")

    folder = Path(tempfile.mkdtemp(prefix="leitstand-bench-cache-"))
    database = f"sqlite+aiosqlite:///{folder / 'erp.db'}"
    script = folder / "report.lua"
    script.write_text(WRK_REPORT)
    print(f"Seeding {options.seed_auftraege} orders into {folder / 'erp.db'} ...", file=sys.stderr)
    prepare_database(Settings(database_url=database, seed_auftraege=options.seed_auftraege))

    latencies: dict[str, list[float]] = {}
    rounds: list[dict[str, WrkRun]] = []
    socket_errors = 0
    with (
        serve("cached", [], database, folder) as cached,
        serve("uncached", ["--no-cache"], database, folder) as uncached,
    ):
        warm_up(cached)
        warm_up(uncached)
        for round_number in range(options.rounds):
            order = [("cached", cached), ("uncached", uncached)]
            if round_number % 2:
                order.reverse()
            for variant, instance in order:
                for name, path in (("detail", DETAIL), ("forecast", FORECAST)):
                    run = run_wrk(instance, path, 1, options.duration, script)
                    latencies.setdefault(f"{name} {variant}", []).append(run.p50_ms)
                    socket_errors += run.socket_errors

            pages = [("list", LIST_PAGE), ("health", HEALTH)]
            if round_number % 2:
                pages.reverse()
            runs = {
                name: run_wrk(cached, path, options.connections, options.duration, script)
                for name, path in pages
            }
            for name, run in runs.items():
                print(
                    f"round {round_number + 1} {name}: {run.requests_per_second:.0f}/s, "
                    f"app core {run.app_busy:.0%}, wrk core {run.wrk_busy:.0%}",
                    file=sys.stderr,
                )
            rounds.append(runs)
            socket_errors += sum(run.socket_errors for run in runs.values())

    print("| measurement | median (min to max) |")
    print("| --- | --- |")
    for name, values in latencies.items():
        print(f"| p50 {name} | {summary(values, 'ms')} |")
    for name in ("detail", "forecast"):
        slow_runs = latencies[f"{name} uncached"]
        fast_runs = latencies[f"{name} cached"]
        ratios = [slow / fast for slow, fast in zip(slow_runs, fast_runs, strict=True)]
        print(f"| p50 {name}: uncached / cached | {summary(ratios, 'x')} |")

    valid = [runs for runs in rounds if all(_valid(run) for run in runs.values())]
    # Rounds in which the app's core was shared with other processes still
    # compare the two routes, which ran on the same instance one after the other.
    counted = valid or rounds
    label = "" if valid else " (all rounds, none valid)"
    lists = [runs["list"].requests_per_second for runs in counted]
    healths = [runs["health"].requests_per_second for runs in counted]
    ratios = [page / health for page, health in zip(lists, healths, strict=True)]
    print(f"| cached list page{label} | {summary(lists, 'req/s')} |")
    print(f"| /health{label} | {summary(healths, 'req/s')} |")
    print(f"| list page / health{label} | {summary(ratios, '')} |")
    app_busy = [run.app_busy for runs in rounds for run in runs.values()]
    wrk_busy = [run.wrk_busy for runs in rounds for run in runs.values()]
    print(
        f"\n{len(valid)} of {len(rounds)} throughput rounds valid (app core at least "
        f"{APP_BUSY_MIN:.0%} and wrk core below {WRK_BUSY_MAX:.0%}); app core "
        f"{min(app_busy):.0%} to {max(app_busy):.0%}, wrk core {min(wrk_busy):.0%} to "
        f"{max(wrk_busy):.0%}; load average {os.getloadavg()[0]:.1f}; "
        f"{socket_errors} socket errors (connect, read, write or 2 s timeouts)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
