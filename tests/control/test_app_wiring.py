from __future__ import annotations

from pathlib import Path

from app.main import create_app
from app.settings import Settings
from tests.control.conftest import AUTH, TOKEN, client_for


async def test_create_app_twice_serves_control(tmp_path: Path) -> None:
    settings = Settings(
        control_token=TOKEN,
        state_path=tmp_path / "state",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'erp.db'}",
    )
    create_app(settings)
    app = create_app(settings)

    async with client_for(app) as http:
        knobs = (await http.get("/control", headers=AUTH)).json()["knobs"]
        metrics = (await http.get("/metrics")).text

    assert "cache.prognose.capacity" in knobs
    assert "workers" in knobs
    assert "fault.latency_seconds" not in knobs
    assert 'erp_control_value{knob="shed.max_in_flight"} 0.0' in metrics
    assert metrics.count("# TYPE erp_control_value gauge") == 1
