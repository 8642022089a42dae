"""The control API of a real ``leitstand serve`` with two worker processes."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_binary
from tests.control.conftest import AUTH, TOKEN, change_body
from tests.server.serving import Serve, start_serve
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow

FORECAST = "/api/v1/artikel/{}/prognose"


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    tmp_path: Path = tmp_path_factory.mktemp("control-serve")
    server = start_serve(
        tmp_path,
        "--workers",
        "2",
        "--max-workers",
        "3",
        "--no-access-log",
        "--debug-pid-header",
        environment={"LEITSTAND_CONTROL_TOKEN": TOKEN, "LEITSTAND_FAULT_INJECTION": "1"},
    )
    try:
        yield server
    finally:
        server.process.stop()


def put(serve: Serve, knob: str, value: float, **extra: object) -> httpx.Response:
    return httpx.put(
        f"{serve.url}/control/knobs/{knob}",
        json=change_body(value, **extra),
        headers=AUTH,
        timeout=10,
    )


def revert(serve: Serve, change_id: str) -> httpx.Response:
    return httpx.post(
        f"{serve.url}/control/changes/{change_id}/revert",
        json={"reason": "test"},
        headers=AUTH,
        timeout=10,
    )


def knob(serve: Serve, name: str) -> dict[str, object]:
    response = serve.get("/control", headers=AUTH)
    assert response.status_code == 200
    listed: dict[str, object] = response.json()["knobs"][name]
    return listed


def sample(serve: Serve, name: str, **labels: str) -> float:
    return serve.samples().get((name, frozenset(labels.items())), 0.0)


def status_total(serve: Serve, status: str) -> float:
    return sum(
        value
        for (name, labels), value in serve.samples().items()
        if name == "http_requests_total" and ("status", status) in labels
    )


async def get_all(serve: Serve, paths: list[str]) -> list[httpx.Response]:
    # One connection per request, so that the kernel spreads them over both workers.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=serve.url, timeout=30, limits=limits) as http:
        return await asyncio.gather(*(http.get(path) for path in paths))


def test_shed_requests_get_503_and_are_counted(serve: Serve) -> None:
    shed_before = sample(serve, "erp_shed_requests_total")
    status_503_before = status_total(serve, "503")
    slow = put(serve, "fault.latency_seconds", 2.0, ttl_seconds=60)
    limit = put(serve, "shed.max_in_flight", 1, ttl_seconds=60)
    assert slow.status_code == 200
    assert limit.status_code == 200

    # Each worker admits one slow forecast; every other request arrives while both are busy.
    responses = asyncio.run(get_all(serve, [FORECAST.format(n) for n in range(1, 9)]))
    assert revert(serve, limit.json()["change_id"]).status_code == 200
    assert revert(serve, slow.json()["change_id"]).status_code == 200

    codes = [response.status_code for response in responses]
    shed = [response for response in responses if response.status_code == 503]
    assert set(codes) <= {200, 503}
    assert 1 <= codes.count(200) <= 2
    assert all(response.headers["retry-after"] == "1" for response in shed)
    assert sample(serve, "erp_shed_requests_total") - shed_before == len(shed)
    assert status_total(serve, "503") - status_503_before == len(shed)
    assert serve.get("/health").status_code == 200


def test_change_expires_once_across_workers(serve: Serve) -> None:
    changes_before = sample(serve, "erp_control_changes_total", knob="shed.max_in_flight")
    response = put(serve, "shed.max_in_flight", 500, ttl_seconds=1)
    assert response.status_code == 200
    assert knob(serve, "shed.max_in_flight")["value"] == 500
    assert sample(serve, "erp_control_value", knob="shed.max_in_flight") == 500

    # No control request comes in: the workers' background watchers revert the change.
    wait_until(
        lambda: sample(serve, "erp_control_value", knob="shed.max_in_flight") == 0,
        timeout=10,
        what="the expired change to be reverted",
    )
    time.sleep(1.0)  # both watchers have looked again by now
    changes = sample(serve, "erp_control_changes_total", knob="shed.max_in_flight")
    assert changes - changes_before == 2  # the change and exactly one revert
    listed = knob(serve, "shed.max_in_flight")
    assert listed["value"] == 0
    assert listed["change_id"] is None


def test_revert_by_id_and_conflict(serve: Serve) -> None:
    older = put(serve, "degraded", 1).json()
    newer = put(serve, "degraded", 0).json()

    conflict = revert(serve, older["change_id"])
    assert conflict.status_code == 409
    assert conflict.json()["reverted"] is False
    assert revert(serve, newer["change_id"]).status_code == 200
    assert knob(serve, "degraded")["value"] == 1
    assert revert(serve, older["change_id"]).status_code == 200
    assert knob(serve, "degraded")["value"] == 0
    assert revert(serve, "c-000000000001").status_code == 404


def test_workers_knob_scales_the_supervisor(serve: Serve) -> None:
    assert sample(serve, "erp_workers") == 2
    response = put(serve, "workers", 3)
    assert response.status_code == 200
    wait_until(lambda: sample(serve, "erp_workers") == 3, timeout=20, what="a third worker")

    assert revert(serve, response.json()["change_id"]).status_code == 200
    wait_until(lambda: sample(serve, "erp_workers") == 2, timeout=20, what="back to 2 workers")
    assert put(serve, "workers", 4).status_code == 422


def test_server_rejects_bad_token_and_unknown_knob(serve: Serve) -> None:
    wrong = httpx.get(f"{serve.url}/control", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    assert put(serve, "no.such.knob", 1).status_code == 404


def test_degraded_forecast_without_cache_is_503(serve: Serve) -> None:
    response = put(serve, "degraded", 1)
    assert response.status_code == 200
    uncached = serve.get(FORECAST.format(10))
    assert revert(serve, response.json()["change_id"]).status_code == 200
    computed = serve.get(FORECAST.format(10))

    assert uncached.status_code == 503
    assert "degraded mode" in uncached.json()["detail"]
    assert uncached.headers["retry-after"] == "30"
    assert computed.status_code == 200


def test_cache_clear_empties_every_worker(serve: Serve) -> None:
    path = FORECAST.format(9)

    # Ask until both workers have served (and so cached) this forecast.
    serving_pids: set[str] = set()
    for _ in range(100):
        with httpx.Client(base_url=serve.url, timeout=10) as http:
            response = http.get(path)
        assert response.status_code == 200
        serving_pids.add(response.headers["x-leitstand-worker-pid"])
        if len(serving_pids) == 2:
            break
    assert len(serving_pids) == 2

    misses = sample(serve, "erp_cache_misses_total", cache="prognose")
    assert serve.get(path).status_code == 200
    assert sample(serve, "erp_cache_misses_total", cache="prognose") == misses

    cleared = httpx.post(
        f"{serve.url}/control/cache/clear",
        json={"cache": "prognose", "reason": "test"},
        headers=AUTH,
        timeout=10,
    )
    assert cleared.status_code == 200
    assert cleared.json() == {"cleared": ["prognose"]}
    assert serve.get(path).status_code == 200
    assert sample(serve, "erp_cache_misses_total", cache="prognose") == misses + 1
    changes = sample(serve, "erp_control_changes_total", knob="cache.prognose.clear")
    assert changes == 1


def test_control_metrics_one_series_per_knob(serve: Serve) -> None:
    promtool = require_binary("promtool")
    text = serve.get("/metrics").text
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    # Other parts' metrics have tests of their own; these lines name the control API's.
    problems = [
        line
        for line in (check.stdout + check.stderr).splitlines()
        if "erp_control" in line or "erp_shed" in line
    ]
    assert problems == []

    knobs = serve.get("/control", headers=AUTH).json()["knobs"]
    series = [dict(labels) for (name, labels) in serve.samples() if name == "erp_control_value"]
    assert sorted(labels["knob"] for labels in series) == sorted(knobs)
    assert all(set(labels) == {"knob"} for labels in series)
