from __future__ import annotations

import httpx
from fastapi import FastAPI, Request

from app.cache import cached, caches
from app.control import degradable, fault_point, install_control
from app.settings import Settings
from tests.control.conftest import AUTH, change_body, client_for


def forecast_app(settings: Settings) -> tuple[FastAPI, list[int]]:
    """An app whose forecast route is cached in ``prognose`` and counts its computations."""
    caches.configure(settings)
    app = FastAPI()
    install_control(app, settings, caches=caches)
    computed: list[int] = []

    @cached("prognose")
    async def compute(artikel_id: int) -> dict[str, int]:
        await fault_point()
        computed.append(artikel_id)
        return {"artikel_id": artikel_id}

    @app.get("/api/v1/artikel/{artikel_id}/prognose")
    async def prognose(artikel_id: int, request: Request) -> dict[str, int]:
        with degradable(request, "prognose"):
            return await compute(artikel_id)

    return app, computed


async def set_knob(http: httpx.AsyncClient, knob: str, value: float) -> None:
    response = await http.put(f"/control/knobs/{knob}", json=change_body(value), headers=AUTH)
    assert response.status_code == 200


async def test_degraded_serves_cache_or_503(settings: Settings) -> None:
    app, computed = forecast_app(settings)
    async with client_for(app) as http:
        assert (await http.get("/api/v1/artikel/1/prognose")).status_code == 200
        await set_knob(http, "degraded", 1)

        cached_answer = await http.get("/api/v1/artikel/1/prognose")
        uncached = await http.get("/api/v1/artikel/2/prognose")

        await set_knob(http, "degraded", 0)
        recovered = await http.get("/api/v1/artikel/2/prognose")

    assert cached_answer.status_code == 200
    assert cached_answer.json() == {"artikel_id": 1}
    assert uncached.status_code == 503
    assert uncached.headers["retry-after"] == "30"
    assert "degraded mode" in uncached.json()["detail"]
    assert recovered.status_code == 200
    assert computed == [1, 2]


async def test_degraded_with_cache_off_is_503(settings: Settings) -> None:
    settings = settings.model_copy(update={"cache_enabled": False})
    app, computed = forecast_app(settings)
    async with client_for(app) as http:
        await set_knob(http, "degraded", 1)
        response = await http.get("/api/v1/artikel/1/prognose")
    caches.configure(settings.model_copy(update={"cache_enabled": True}))
    assert response.status_code == 503
    assert computed == []


async def test_degraded_mode_skips_fault_latency(settings: Settings) -> None:
    app, computed = forecast_app(settings)
    async with client_for(app) as http:
        await set_knob(http, "fault.latency_seconds", 0.2)
        slow = await http.get("/api/v1/artikel/1/prognose")
        await set_knob(http, "degraded", 1)
        fast = await http.get("/api/v1/artikel/1/prognose")

    assert slow.status_code == 200
    assert fast.status_code == 200
    assert slow.elapsed.total_seconds() >= 0.2
    assert computed == [1]  # the degraded request was served from the cache
