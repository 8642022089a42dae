"""Measure load shedding on a served app with wrk: ``python -m tests.control.bench_served``.

One worker is pinned to CPU 0 and wrk to CPU 1. Each round runs wrk twice on a
cached customer detail, interleaved: once served normally (shedding off), once
while a slow forecast occupies the only slot of ``shed.max_in_flight=1``, so
that every request is shed with 503. The output is the median and the range of
the requests per second of each case.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.processes import ServerProcess, free_port, wait_for_http

ROUNDS = 5
SECONDS = 5
CONNECTIONS = 32
TOKEN = "bench-token"  # noqa: S105 (a token for a throwaway local server)
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
TARGET = "/api/v1/kunden/1"


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(Path(folder), port)
        try:
            wait_for_http(url + "/health", server, timeout=60)
            httpx.get(url + TARGET).raise_for_status()  # warm the cache
            served, shed = [], []
            for round_number in range(1, ROUNDS + 1):
                served.append(requests_per_second(url, expect_status=200))
                with slot_held(url, wochen=round_number):
                    shed.append(requests_per_second(url, expect_status=503))
        finally:
            server.stop()

    print(f"wrk -t1 -c{CONNECTIONS} -d{SECONDS}s {TARGET}, 1 worker, {ROUNDS} rounds interleaved")
    for name, values in (("served (200)", served), ("shed (503)", shed)):
        print(
            f"{name:14s} median {statistics.median(values):8.0f} requests/s "
            f"(min {min(values):.0f}, max {max(values):.0f})"
        )
    return 0


def start_server(folder: Path, port: int) -> ServerProcess:
    leitstand = str(Path(sys.executable).with_name("leitstand"))
    argv = ["taskset", "-c", "0", leitstand, "serve", "--workers", "1", "--port", str(port)]
    argv += ["--no-access-log", "--log-level", "warning"]
    argv += ["--database", f"sqlite+aiosqlite:///{folder / 'erp.db'}"]
    env = {
        **os.environ,
        "LEITSTAND_CONTROL_TOKEN": TOKEN,
        "LEITSTAND_FAULT_INJECTION": "1",
        "LEITSTAND_SEED_KUNDEN": "100",
        "LEITSTAND_SEED_ARTIKEL": "20",
        "LEITSTAND_SEED_AUFTRAEGE": "200",
    }
    return ServerProcess("serve", argv, folder / "serve.log", env=env)


@contextlib.contextmanager
def slot_held(url: str, wochen: int) -> Iterator[None]:
    """Hold the worker's only request slot with a slow forecast for the ``with`` block."""
    latency = set_knob(url, "fault.latency_seconds", SECONDS + 2)
    limit = set_knob(url, "shed.max_in_flight", 1)
    # A forecast for a week count no round asked for before: a cache miss, so it computes.
    forecast = f"{url}/api/v1/artikel/1/prognose?wochen={wochen}"
    slow = threading.Thread(target=httpx.get, args=(forecast,), kwargs={"timeout": 60})
    slow.start()
    while httpx.get(url + TARGET).status_code != 503:
        pass  # the slow request is not in flight yet
    try:
        yield
    finally:
        for change_id in (limit, latency):
            httpx.post(
                f"{url}/control/changes/{change_id}/revert",
                json={"reason": "benchmark done"},
                headers=HEADERS,
            ).raise_for_status()
        slow.join()


def set_knob(url: str, knob: str, value: float) -> str:
    response = httpx.put(
        f"{url}/control/knobs/{knob}",
        json={"value": value, "reason": "benchmark", "ttl_seconds": 60},
        headers=HEADERS,
    )
    response.raise_for_status()
    change_id: str = response.json()["change_id"]
    return change_id


def requests_per_second(url: str, expect_status: int) -> float:
    output = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", url + TARGET],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    total = re.search(r"(\d+) requests in", output)
    if total is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    shed = int(non_2xx.group(1)) if non_2xx else 0
    if (expect_status == 503) != (shed == int(total.group(1))):
        raise RuntimeError(f"expected every response to be {expect_status}:\n{output}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(rate.group(1))


if __name__ == "__main__":
    sys.exit(main())
