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
from tests.server.serving import Serve, parse_samples, start_serve
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow

FORECAST = "/api/v1/artikel/{}/prognose"
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


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


class Control:
    """A keep-alive client of the served app that sends the control token."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, headers=AUTH, timeout=10)

    def put(self, knob: str, value: float, **extra: object) -> httpx.Response:
        return self.http.put(f"/control/knobs/{knob}", json=change_body(value, **extra))

    def revert(self, change_id: str) -> httpx.Response:
        return self.http.post(f"/control/changes/{change_id}/revert", json={"reason": "test"})

    def knob(self, name: str) -> dict[str, object]:
        response = self.http.get("/control")
        assert response.status_code == 200
        listed: dict[str, object] = response.json()["knobs"][name]
        return listed

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        response = self.http.get("/metrics")
        response.raise_for_status()
        return parse_samples(response.text)

    def sample(self, name: str, **labels: str) -> float:
        return self.samples().get((name, frozenset(labels.items())), 0.0)

    def status_total(self, status: str) -> float:
        return sum(
            value
            for (name, labels), value in self.samples().items()
            if name == "http_requests_total" and ("status", status) in labels
        )


@pytest.fixture(scope="module")
def control(serve: Serve) -> Iterator[Control]:
    client = Control(serve.url)
    yield client
    client.http.close()


async def get_all(url: str, paths: list[str]) -> list[httpx.Response]:
    # One connection per request, so that the kernel spreads them over both workers.
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=NO_KEEPALIVE) as http:
        return await asyncio.gather(*(http.get(path) for path in paths))


def test_shed_requests_get_503_and_are_counted(serve: Serve, control: Control) -> None:
    shed_before = control.sample("erp_shed_requests_total")
    status_503_before = control.status_total("503")
    slow = control.put("fault.latency_seconds", 2.0, ttl_seconds=60)
    limit = control.put("shed.max_in_flight", 1, ttl_seconds=60)
    assert slow.status_code == 200
    assert limit.status_code == 200

    # Each worker admits one slow forecast; every other request arrives while both are busy.
    responses = asyncio.run(get_all(serve.url, [FORECAST.format(n) for n in range(1, 9)]))
    assert control.revert(limit.json()["change_id"]).status_code == 200
    assert control.revert(slow.json()["change_id"]).status_code == 200

    codes = [response.status_code for response in responses]
    shed = [response for response in responses if response.status_code == 503]
    assert set(codes) <= {200, 503}
    assert 1 <= codes.count(200) <= 2
    assert all(response.headers["retry-after"] == "1" for response in shed)
    assert control.sample("erp_shed_requests_total") - shed_before == len(shed)
    assert control.status_total("503") - status_503_before == len(shed)
    assert control.http.get("/health").status_code == 200


def test_change_expires_once_across_workers(control: Control) -> None:
    changes_before = control.sample("erp_control_changes_total", knob="shed.max_in_flight")
    response = control.put("shed.max_in_flight", 500, ttl_seconds=1)
    assert response.status_code == 200
    assert control.knob("shed.max_in_flight")["value"] == 500
    assert control.sample("erp_control_value", knob="shed.max_in_flight") == 500

    # No control request comes in: the workers' background watchers revert the change.
    wait_until(
        lambda: control.sample("erp_control_value", knob="shed.max_in_flight") == 0,
        timeout=10,
        what="the expired change to be reverted",
    )
    time.sleep(1.0)  # both watchers have looked again by now
    changes = control.sample("erp_control_changes_total", knob="shed.max_in_flight")
    assert changes - changes_before == 2  # the change and exactly one revert
    listed = control.knob("shed.max_in_flight")
    assert listed["value"] == 0
    assert listed["change_id"] is None


def test_revert_by_id_and_conflict(control: Control) -> None:
    older = control.put("degraded", 1).json()
    newer = control.put("degraded", 0).json()

    conflict = control.revert(older["change_id"])
    assert conflict.status_code == 409
    assert conflict.json()["reverted"] is False
    assert control.revert(newer["change_id"]).status_code == 200
    assert control.knob("degraded")["value"] == 1
    assert control.revert(older["change_id"]).status_code == 200
    assert control.knob("degraded")["value"] == 0
    assert control.revert("c-000000000001").status_code == 404


def test_workers_knob_scales_the_supervisor(control: Control) -> None:
    assert control.sample("erp_workers") == 2
    response = control.put("workers", 3)
    assert response.status_code == 200
    wait_until(lambda: control.sample("erp_workers") == 3, timeout=20, what="a third worker")

    assert control.revert(response.json()["change_id"]).status_code == 200
    wait_until(lambda: control.sample("erp_workers") == 2, timeout=20, what="back to 2 workers")
    assert control.put("workers", 4).status_code == 422


def test_server_rejects_bad_token_and_unknown_knob(serve: Serve, control: Control) -> None:
    wrong = httpx.get(f"{serve.url}/control", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    assert control.put("no.such.knob", 1).status_code == 404


def test_degraded_forecast_without_cache_is_503(control: Control) -> None:
    response = control.put("degraded", 1)
    assert response.status_code == 200
    uncached = control.http.get(FORECAST.format(10))
    assert control.revert(response.json()["change_id"]).status_code == 200
    computed = control.http.get(FORECAST.format(10))

    assert uncached.status_code == 503
    assert "degraded mode" in uncached.json()["detail"]
    assert uncached.headers["retry-after"] == "30"
    assert computed.status_code == 200


def test_cache_clear_empties_every_worker(serve: Serve, control: Control) -> None:
    path = FORECAST.format(9)

    # Ask until both workers have served (and so cached) this forecast.
    serving_pids: set[str] = set()
    with httpx.Client(base_url=serve.url, timeout=10, limits=NO_KEEPALIVE) as http:
        for _ in range(100):
            response = http.get(path)
            assert response.status_code == 200
            serving_pids.add(response.headers["x-leitstand-worker-pid"])
            if len(serving_pids) == 2:
                break
    assert len(serving_pids) == 2

    misses = control.sample("erp_cache_misses_total", cache="prognose")
    assert control.http.get(path).status_code == 200
    assert control.sample("erp_cache_misses_total", cache="prognose") == misses

    cleared = control.http.post(
        "/control/cache/clear", json={"cache": "prognose", "reason": "test"}
    )
    assert cleared.status_code == 200
    assert cleared.json() == {"cleared": ["prognose"]}
    assert control.http.get(path).status_code == 200
    assert control.sample("erp_cache_misses_total", cache="prognose") == misses + 1
    changes = control.sample("erp_control_changes_total", knob="cache.prognose.clear")
    assert changes == 1


def test_control_metrics_one_series_per_knob(control: Control) -> None:
    promtool = require_binary("promtool")
    text = control.http.get("/metrics").text
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

    knobs = control.http.get("/control").json()["knobs"]
    series = [dict(labels) for (name, labels) in control.samples() if name == "erp_control_value"]
    assert sorted(labels["knob"] for labels in series) == sorted(knobs)
    assert all(set(labels) == {"knob"} for labels in series)
