from __future__ import annotations

import asyncio
import time
from itertools import cycle
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.control import fault_point
from app.control.faults import FaultInjection
from app.settings import Settings
from app.shared_state import SharedState
from tests.control.conftest import AUTH, TOKEN, build_app, change_body, client_for, lifespan


class Gate:
    """Keeps requests in a handler until released, and signals when enough have arrived."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.arrived = 0
        self.all_arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def pass_through(self) -> None:
        self.arrived += 1
        if self.arrived >= self.expected:
            self.all_arrived.set()
        await self.release.wait()


def slow_app(settings: Settings, gate: Gate) -> tuple[FastAPI, SharedState]:
    """An app whose ``/slow`` route waits at ``gate``."""
    app, state = build_app(settings)

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await gate.pass_through()
        return {"status": "done"}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app, state


def shed_total() -> float:
    return REGISTRY.get_sample_value("erp_shed_requests_total") or 0.0


async def test_requests_over_limit_are_shed(settings: Settings) -> None:
    shed_before = shed_total()
    gate = Gate(expected=2)
    app, _ = slow_app(settings, gate)
    async with client_for(app) as http:
        change = await http.put(
            "/control/knobs/shed.max_in_flight", json=change_body(2), headers=AUTH
        )
        assert change.status_code == 200

        in_flight = [asyncio.create_task(http.get("/slow")) for _ in range(2)]
        await asyncio.wait_for(gate.all_arrived.wait(), timeout=10)

        shed = await http.get("/slow")
        health = await http.get("/health")
        listing = await http.get("/control", headers=AUTH)
        gate.release.set()
        finished = await asyncio.gather(*in_flight)

    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert "limit of 2" in shed.json()["detail"]
    assert health.status_code == 200
    assert listing.status_code == 200
    assert [response.status_code for response in finished] == [200, 200]
    assert shed_total() - shed_before == 1


async def test_limit_zero_never_sheds(settings: Settings) -> None:
    shed_before = shed_total()
    gate = Gate(expected=1)
    gate.release.set()
    app, _ = slow_app(settings, gate)
    async with client_for(app) as http:
        responses = await asyncio.gather(*(http.get("/slow") for _ in range(20)))
    assert {response.status_code for response in responses} == {200}
    assert shed_total() == shed_before


def forecast_app(settings: Settings) -> FastAPI:
    """An app with a forecast-like route whose computation is a fault point."""
    app, _ = build_app(settings)

    @app.get("/api/v1/artikel/{artikel_id}/prognose")
    async def prognose(artikel_id: int) -> dict[str, float]:
        started = time.monotonic()
        await fault_point()
        return {"artikel_id": artikel_id, "computed_seconds": time.monotonic() - started}

    @app.get("/api/v1/artikel/{artikel_id}")
    async def artikel(artikel_id: int) -> dict[str, float]:
        started = time.monotonic()
        await fault_point()
        return {"artikel_id": artikel_id, "computed_seconds": time.monotonic() - started}

    return app


async def test_error_ratio_fails_only_fault_routes(settings: Settings) -> None:
    app = forecast_app(settings)
    async with client_for(app) as http:
        change = await http.put(
            "/control/knobs/fault.error_ratio", json=change_body(1), headers=AUTH
        )
        assert change.status_code == 200
        faulty = await http.get("/api/v1/artikel/7/prognose")
        healthy = await http.get("/api/v1/artikel/7")

    assert faulty.status_code == 500
    assert "injected fault" in faulty.json()["detail"]
    assert healthy.status_code == 200


async def test_latency_lands_in_fault_point(settings: Settings) -> None:
    app = forecast_app(settings)
    async with client_for(app) as http:
        change = await http.put(
            "/control/knobs/fault.latency_seconds", json=change_body(0.2), headers=AUTH
        )
        assert change.status_code == 200
        slowed = (await http.get("/api/v1/artikel/7/prognose")).json()
        other_route = (await http.get("/api/v1/artikel/7")).json()

    assert slowed["computed_seconds"] >= 0.2
    assert other_route["computed_seconds"] < 0.2


async def test_fault_injection_off_ignores_knobs(tmp_path: Path) -> None:
    settings = Settings(control_token=TOKEN, state_path=tmp_path / "state")
    app = forecast_app(settings)
    # A value left in the state file by an earlier drill has no effect without the setting.
    app.state.control.state.set("fault.error_ratio", 1.0)
    async with client_for(app) as http:
        assert (await http.get("/api/v1/artikel/7/prognose")).status_code == 200


async def test_watcher_reverts_expired_change(settings: Settings) -> None:
    app, state = build_app(settings)
    async with lifespan(app), client_for(app) as http:
        change = await http.put(
            "/control/knobs/degraded", json=change_body(1, ttl_seconds=0.3), headers=AUTH
        )
        assert change.status_code == 200
        assert state.get("degraded") == 1

        # No request comes in: the background watcher alone must revert the change.
        for _ in range(200):
            if state.get("degraded") == 0:
                break
            await asyncio.sleep(0.05)
        assert state.get("degraded") == 0
        assert state.get("control.degraded.change") == 0


async def test_error_ratio_fails_that_share(tmp_path: Path) -> None:
    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    state = SharedState(tmp_path / "state")
    state.set("fault.error_ratio", 0.25)
    draws = cycle([0.1, 0.3, 0.6, 0.9])  # one in four draws falls below 0.25
    app = FaultInjection(
        Starlette(routes=[Route("/api/v1/artikel/{artikel_id}/prognose", ok)]),
        state,
        "/api/v1/artikel/{artikel_id}/prognose",
        random_number=lambda: next(draws),
    )
    async with client_for(app) as http:  # type: ignore[arg-type]
        codes = [(await http.get(f"/api/v1/artikel/{n}/prognose")).status_code for n in range(8)]
    assert codes.count(500) == 2
    assert codes.count(200) == 6
