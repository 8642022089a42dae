from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.control.changes import ChangeLog, RevertRecord
from app.control.controller import Controller
from app.settings import Settings
from app.shared_state import SharedState
from tests.control.conftest import AUTH, TOKEN, build_app, change_body, client_for


async def put(
    client: httpx.AsyncClient, knob: str, value: float, **extra: object
) -> httpx.Response:
    return await client.put(
        f"/control/knobs/{knob}", json=change_body(value, **extra), headers=AUTH
    )


async def revert(client: httpx.AsyncClient, change_id: str) -> httpx.Response:
    return await client.post(
        f"/control/changes/{change_id}/revert", json={"reason": "test"}, headers=AUTH
    )


async def knobs(client: httpx.AsyncClient) -> dict[str, dict[str, object]]:
    response = await client.get("/control", headers=AUTH)
    assert response.status_code == 200
    result: dict[str, dict[str, object]] = response.json()["knobs"]
    return result


async def test_get_lists_every_knob_with_bounds(client: httpx.AsyncClient) -> None:
    listed = await knobs(client)
    assert set(listed) == {
        "shed.max_in_flight",
        "degraded",
        "fault.latency_seconds",
        "fault.error_ratio",
        "workers",
    }
    assert listed["shed.max_in_flight"] == {
        "value": 0,
        "min": 0,
        "max": 10000,
        "default": 0,
        "change_id": None,
        "expires_at": None,
    }


async def test_change_applies_through_shared_state(
    client: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leitstand.control")
    response = await put(client, "shed.max_in_flight", 64, ttl_seconds=600)
    assert response.status_code == 200
    body = response.json()
    assert body["knob"] == "shed.max_in_flight"
    assert body["value"] == 64
    assert body["previous"] == 0
    assert body["change_id"].startswith("c-")
    assert body["expires_at"].endswith("+00:00")

    # Another worker maps the same file and reads the value and the change in force.
    assert settings.state_path is not None
    assert SharedState(settings.state_path).get("shed.max_in_flight") == 64
    listed = (await knobs(client))["shed.max_in_flight"]
    assert listed["value"] == 64
    assert listed["change_id"] == body["change_id"]
    assert listed["expires_at"] == body["expires_at"]

    [line] = [r for r in caplog.records if r.name == "leitstand.control"]
    assert "shed.max_in_flight from 0 to 64" in line.getMessage()
    assert "requested by pytest" in line.getMessage()
    assert line.change_id == body["change_id"]  # type: ignore[attr-defined]


async def test_workers_change_sets_supervisor_target(
    client: httpx.AsyncClient, app_and_state: tuple[FastAPI, SharedState]
) -> None:
    state = app_and_state[1]
    listed = (await knobs(client))["workers"]
    assert (listed["min"], listed["max"], listed["default"]) == (1, 8, 1)

    response = await put(client, "workers", 3)
    assert response.status_code == 200
    assert state.get("workers.target") == 3
    assert (await put(client, "workers", 9)).status_code == 422
    assert state.get("workers.target") == 3


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("shed.max_in_flight", 10_001),
        ("shed.max_in_flight", -1),
        ("shed.max_in_flight", 2.5),
        ("degraded", 2),
        ("fault.latency_seconds", 31),
        ("fault.error_ratio", 1.5),
        ("workers", 0),
    ],
)
async def test_out_of_bounds_is_422_with_bounds(
    client: httpx.AsyncClient, knob: str, value: float
) -> None:
    response = await put(client, knob, value)
    assert response.status_code == 422
    body = response.json()
    assert body["knob"] == knob
    assert f"from {body['min']} to {body['max']}" in body["detail"]
    assert (await knobs(client))[knob]["change_id"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"value": 1},
        {"value": "many", "reason": "x"},
        {"value": "1", "reason": "x"},
        {"value": True, "reason": "x"},
        {"value": 1, "reason": ""},
        {"value": 1, "reason": "x", "ttl_seconds": 0},
        {"value": 1, "reason": "x", "surprise": True},
        {"value": 1, "reason": "ok\nINFO: forged log line"},
        {"value": 1, "reason": "x", "requested_by": "bot\r"},
    ],
    ids=[
        "no-reason",
        "not-a-number",
        "numeric-string",
        "boolean",
        "empty-reason",
        "zero-ttl",
        "unknown-field",
        "newline-in-reason",
        "control-character-in-requester",
    ],
)
async def test_invalid_body_is_422(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.put("/control/knobs/degraded", json=body, headers=AUTH)
    assert response.status_code == 422


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_value_is_422_naming_the_field(
    client: httpx.AsyncClient, literal: str
) -> None:
    # Python's JSON parser accepts these literals; the 422 must still encode as JSON.
    body = f'{{"value": {literal}, "reason": "x"}}'
    response = await client.put(
        "/control/knobs/shed.max_in_flight",
        content=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "value"]
    assert error["type"] == "finite_number"
    assert error["input"] == literal


async def test_unknown_knob_is_404(client: httpx.AsyncClient) -> None:
    response = await put(client, "turbo", 1)
    assert response.status_code == 404
    assert "shed.max_in_flight" in response.json()["detail"]


async def test_fault_knobs_absent_without_fault_injection(tmp_path: Path) -> None:
    app, _ = build_app(Settings(control_token=TOKEN, state_path=tmp_path / "state"))
    async with client_for(app) as http:
        listed = (await http.get("/control", headers=AUTH)).json()
        response = await http.put(
            "/control/knobs/fault.error_ratio", json=change_body(1), headers=AUTH
        )
    assert "fault.error_ratio" not in listed["knobs"]
    assert response.status_code == 404


async def test_revert_restores_previous_value(client: httpx.AsyncClient) -> None:
    change = (await put(client, "degraded", 1)).json()
    response = await revert(client, change["change_id"])
    assert response.status_code == 200
    assert response.json() == {
        "reverted": True,
        "change_id": change["change_id"],
        "knob": "degraded",
        "value": 0,
    }
    listed = (await knobs(client))["degraded"]
    assert listed["value"] == 0
    assert listed["change_id"] is None

    again = await revert(client, change["change_id"])
    assert again.status_code == 409
    assert again.json()["reverted"] is False
    assert "was reverted" in again.json()["detail"]


async def test_superseded_change_is_409_and_keeps_newer(client: httpx.AsyncClient) -> None:
    older = (await put(client, "shed.max_in_flight", 64)).json()
    newer = (await put(client, "shed.max_in_flight", 32)).json()
    assert newer["previous"] == 64

    response = await revert(client, older["change_id"])
    assert response.status_code == 409
    assert response.json()["reverted"] is False
    assert newer["change_id"] in response.json()["detail"]
    assert (await knobs(client))["shed.max_in_flight"]["value"] == 32

    # Reverting the newer change brings the older one back into force, then it can go too.
    assert (await revert(client, newer["change_id"])).status_code == 200
    listed = (await knobs(client))["shed.max_in_flight"]
    assert listed["value"] == 64
    assert listed["change_id"] == older["change_id"]
    assert (await revert(client, older["change_id"])).status_code == 200
    assert (await knobs(client))["shed.max_in_flight"]["value"] == 0


@pytest.mark.parametrize("change_id", ["c-000000000001", "nonsense", "c-zz"])
async def test_unknown_change_is_404(client: httpx.AsyncClient, change_id: str) -> None:
    assert (await revert(client, change_id)).status_code == 404


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def controller_on(path: Path, clock: FakeClock) -> Controller:
    from app.control.catalog import build_knobs

    settings = Settings(state_path=path, fault_injection=True)
    state = SharedState(path)
    return Controller(state, build_knobs(settings, state), ChangeLog.beside(path), clock)


def test_change_expires_and_reverts_once(tmp_path: Path) -> None:
    clock = FakeClock()
    controller = controller_on(tmp_path / "state", clock)
    change = controller.change("degraded", 1, reason="test", requested_by="pytest", ttl_seconds=60)

    clock.now += 59
    assert controller.expire_due() == []
    clock.now += 1
    [record] = controller.expire_due()
    assert record.change_id == change.change_id
    assert record.cause == "expired"
    assert controller.state.get("degraded") == 0
    assert controller.expire_due() == []


def test_expired_change_restores_longer_replaced_change(tmp_path: Path) -> None:
    clock = FakeClock()
    controller = controller_on(tmp_path / "state", clock)
    long = controller.change(
        "shed.max_in_flight", 64, reason="a", requested_by="pytest", ttl_seconds=600
    )
    controller.change("shed.max_in_flight", 8, reason="b", requested_by="pytest", ttl_seconds=60)

    clock.now += 60
    controller.expire_due()
    [status] = [s for s in controller.describe() if s.knob.name == "shed.max_in_flight"]
    assert status.value == 64
    assert status.change_id == long.change_id

    clock.now += 540
    controller.expire_due()
    assert controller.state.get("shed.max_in_flight") == 0


def _expire_in_child(path: str, now: float, queue: multiprocessing.Queue[int]) -> None:
    clock = FakeClock()
    clock.now = now
    queue.put(len(controller_on(Path(path), clock).expire_due()))


def test_expiry_is_exactly_once_across_processes(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "state"
    controller = controller_on(path, clock)
    for knob in ("degraded", "shed.max_in_flight", "fault.error_ratio"):
        controller.change(knob, 1, reason="test", requested_by="pytest", ttl_seconds=1)

    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[int] = context.Queue()
    workers = [
        context.Process(target=_expire_in_child, args=(str(path), clock.now + 5, queue))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    assert sum(queue.get(timeout=5) for _ in workers) == 3

    reverts = [e for e in controller.log.entries() if isinstance(e, RevertRecord)]
    assert sorted(r.knob for r in reverts) == [
        "degraded",
        "fault.error_ratio",
        "shed.max_in_flight",
    ]


async def test_metrics_show_values_and_changes(
    client: httpx.AsyncClient, app_and_state: tuple[FastAPI, SharedState]
) -> None:
    from prometheus_client import CollectorRegistry

    from app.control import ControlCollector

    registry = CollectorRegistry()
    registry.register(ControlCollector(app_and_state[0].state.control, ["cache.artikel.clear"]))
    change = (await put(client, "shed.max_in_flight", 12)).json()
    await revert(client, change["change_id"])
    await put(client, "shed.max_in_flight", 7)

    assert registry.get_sample_value("erp_control_value", {"knob": "shed.max_in_flight"}) == 7
    assert registry.get_sample_value("erp_control_value", {"knob": "degraded"}) == 0
    assert (
        registry.get_sample_value("erp_control_changes_total", {"knob": "shed.max_in_flight"}) == 3
    )
    assert (
        registry.get_sample_value("erp_control_changes_total", {"knob": "cache.artikel.clear"}) == 0
    )


async def test_change_history_newest_first(client: httpx.AsyncClient) -> None:
    first = (await put(client, "shed.max_in_flight", 64, ttl_seconds=600)).json()
    second = (await put(client, "shed.max_in_flight", 32)).json()
    assert (await revert(client, second["change_id"])).status_code == 200

    response = await client.get("/control/changes", params={"limit": 10}, headers=AUTH)
    assert response.status_code == 200
    changes = response.json()["changes"]
    assert [(c["event"], c["change_id"]) for c in changes] == [
        ("revert", second["change_id"]),
        ("change", second["change_id"]),
        ("change", first["change_id"]),
    ]
    assert changes[0]["cause"] == "request"
    assert changes[1]["in_force"] is False
    assert changes[2]["in_force"] is True
    assert changes[2]["requested_by"] == "pytest"
    assert changes[2]["reason"] == "test"
    assert changes[2]["expires_at"] == first["expires_at"]
    assert changes[2]["at"].endswith("+00:00")

    latest = await client.get("/control/changes", params={"limit": 1}, headers=AUTH)
    assert len(latest.json()["changes"]) == 1
    invalid = await client.get("/control/changes", params={"limit": 0}, headers=AUTH)
    assert invalid.status_code == 422
    assert (await client.get("/control/changes")).status_code == 401


def test_expiry_noticed_by_change_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leitstand.control")
    clock = FakeClock()
    controller = controller_on(tmp_path / "state", clock)
    expiring = controller.change(
        "degraded", 1, reason="test", requested_by="pytest", ttl_seconds=60
    )
    clock.now += 61
    controller.change("shed.max_in_flight", 5, reason="test", requested_by="pytest")

    messages = [record.getMessage() for record in caplog.records]
    assert any(f"Reverted change {expiring.change_id}" in m for m in messages)
    assert controller.state.get("degraded") == 0
