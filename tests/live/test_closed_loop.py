"""The closed loop on the live stack: a slow forecast is seen, acted on once, and undone."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from leitstand.demo.drill import ALERT, Drill, DrillSettings, Endpoints
from leitstand.demo.load import Load
from leitstand.demo.timeline import Timeline
from tests.live.stack import LiveStack

LOOP = (
    "drill_started",
    "alert_pending",
    "alert_firing",
    "action_executed",
    "condition_recovered",
    "alert_resolved",
    "change_reverted",
)


def test_loop_closes_once(live_stack: LiveStack, tmp_path: Path) -> None:
    endpoints = Endpoints(
        app=live_stack.url("app"),
        prometheus=live_stack.url("prometheus"),
        optimizer=live_stack.url("optimizer"),
        control_token=live_stack.control_token,
    )
    timeline = Timeline()
    settings = DrillSettings(fault_latency_seconds=2.0, latency_threshold_seconds=1.0, timeout=240)
    drill = Drill(endpoints, settings, timeline)
    load = Load(endpoints.app, tmp_path / "locust.log", run_time=420)

    drill.warm_cache(load.articles)
    load.start()
    try:
        drill.record("load_started", "Locust forecast users")
        drill.run(threading.Event())
    finally:
        load.stop()

    assert timeline.outcome == "closed", timeline.to_markdown()
    seen = [timeline.first(kind) for kind in LOOP]
    assert None not in seen, timeline.to_markdown()
    times = [event.at for event in seen if event is not None]
    assert times == sorted(times), timeline.to_markdown()

    drill_started = seen[0]
    assert drill_started is not None
    decisions = httpx.get(
        endpoints.optimizer + "/decisions",
        params={
            "alertname": ALERT,
            "target": endpoints.instance,
            "result": "executed",
            "since": drill_started.at.isoformat(),
        },
        timeout=10,
    ).json()["decisions"]
    assert len(decisions) == 1
    assert decisions[0]["rule"] == "degrade-on-high-latency"
    assert decisions[0]["action_state"]["status"] == "reverted"

    control = httpx.get(
        endpoints.app + "/control",
        headers={"Authorization": f"Bearer {endpoints.control_token}"},
        timeout=10,
    ).json()["knobs"]
    assert control["degraded"]["value"] == 0
    assert control["fault.latency_seconds"]["value"] == 0
