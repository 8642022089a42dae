"""Metrics of a real ``leitstand serve`` with four workers, scraped like Prometheus does."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import require_binary
from tests.metrics.scrape import value
from tests.server.serving import TEST_APP, Serve, start_serve
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    tmp_path = tmp_path_factory.mktemp("multiworker")
    server = start_serve(
        tmp_path, "--workers", "4", "--debug-pid-header", "--no-access-log", "--app", TEST_APP
    )
    try:
        wait_until(lambda: len(psutil.Process(server.process.pid).children()) == 4)
        yield server
    finally:
        server.process.stop()


def requests_of(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], path: str) -> float:
    return sum(
        sample_value
        for (name, labels), sample_value in samples.items()
        if name == "http_requests_total" and dict(labels)["handler"] == path
    )


async def send_requests(url: str, count: int) -> set[str]:
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.get("/api/v1/kunden", params={"limit": 5}) for _ in range(count))
        )
    assert {response.status_code for response in responses} == {200}
    return {response.headers["x-leitstand-worker-pid"] for response in responses}


def test_counter_sum_is_exact_on_every_scrape(serve: Serve) -> None:
    before = requests_of(serve.samples(), "/api/v1/kunden")
    pids = asyncio.run(send_requests(serve.url, 400))
    assert len(pids) >= 2

    totals = [requests_of(serve.samples(), "/api/v1/kunden") - before for _ in range(10)]
    assert totals == [400] * 10


def test_promtool_accepts_four_and_one_workers(serve: Serve, tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    asyncio.run(send_requests(serve.url, 20))
    check_exposition(serve, promtool)

    assert httpx.put(serve.url + "/test/workers/1", timeout=10).status_code == 200
    wait_until(lambda: len(psutil.Process(serve.process.pid).children()) == 1, what="1 worker")
    assert value(serve.samples(), "erp_workers") == 1
    check_exposition(serve, promtool)

    assert httpx.put(serve.url + "/test/workers/4", timeout=10).status_code == 200
    wait_until(lambda: len(psutil.Process(serve.process.pid).children()) == 4, what="4 workers")


def check_exposition(serve: Serve, promtool: str) -> None:
    text = serve.get("/metrics").text
    type_lines = [line for line in text.splitlines() if line.startswith("# TYPE ")]
    assert len(type_lines) == len(set(type_lines))
    assert "# TYPE http_requests_total counter" in type_lines
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_background_task_is_not_request_latency(serve: Serve) -> None:
    labels = {"handler": "/test/background", "method": "POST"}
    before = serve.samples()
    response = httpx.post(serve.url + "/test/background", timeout=10)
    assert response.status_code == 202
    after = serve.samples()

    def delta(name: str, **extra: str) -> float:
        return value(after, name, **labels, **extra) - value(before, name, **labels, **extra)

    assert delta("http_request_duration_seconds_count") == 1
    # The 2-second background task ran after the response: the observation is far below it.
    assert delta("http_request_duration_seconds_bucket", le="1.0") == 1
    assert delta("http_request_duration_seconds_sum") < 1


async def give_up_early(url: str, clients: int) -> int:
    """Send ``clients`` requests on as many connections; each gives up 0.1 s after sending."""
    limits = httpx.Limits(max_connections=clients)
    # Only reading the response times out: every request reaches the server.
    timeout = httpx.Timeout(0.1, connect=10.0, pool=10.0)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:

        async def one() -> bool:
            try:
                await client.get("/test/sleep", params={"seconds": 2})
            except httpx.TimeoutException:
                return True
            return False

        return sum(await asyncio.gather(*(one() for _ in range(clients))))


def test_in_flight_returns_to_zero_after_disconnects(serve: Serve) -> None:
    assert asyncio.run(give_up_early(serve.url, 50)) == 50
    # The handlers sleep 2 s after their clients left, so the gauge counts them first.
    wait_until(
        lambda: value(serve.samples(), "http_requests_in_flight") > 25,
        timeout=10,
        what="the abandoned requests in flight",
    )
    # The scrape itself is the one request in flight.
    wait_until(
        lambda: value(serve.samples(), "http_requests_in_flight") == 1,
        timeout=20,
        what="in-flight back to the scrape alone",
    )
