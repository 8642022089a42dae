"""The decision audit: GET /decisions filters and pages, the store is append-only, /metrics."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.optimizer.conftest import (
    STORED_INSTANCE,
    Harness,
    StartOptimizer,
    load_payload,
    with_starts_at,
)
from tests.optimizer.doubles import ControlDouble


async def _fill(optimizer: Harness, control: ControlDouble) -> None:
    # Five decisions: executed, duplicate, cooldown, no_rule and a 401 rejection.
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
    await optimizer.post(payload)
    optimizer.clock.advance(60)
    await optimizer.post(payload)
    optimizer.clock.advance(60)
    await optimizer.post(with_starts_at(payload, "2026-12-04T12:01:30Z"))
    await optimizer.post(load_payload("host_high_cpu"))
    await optimizer.post(payload, token=None)
    await optimizer.settle()


async def test_decisions_filtered_by_field(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    async with start_optimizer() as optimizer:
        await _fill(optimizer, control)

        everything = await optimizer.decisions()
        assert [d["result"] for d in everything] == [
            "rejected",
            "no_rule",
            "cooldown",
            "duplicate",
            "executed",
        ]
        by_rule = await optimizer.decisions(rule="degrade-on-high-latency")
        assert len(by_rule) == 3
        by_alert = await optimizer.decisions(alertname="LeitstandHostHighCpu")
        assert [d["result"] for d in by_alert] == ["no_rule"]
        by_target = await optimizer.decisions(target=control.address)
        assert {d["result"] for d in by_target} == {"executed", "duplicate", "cooldown"}
        recent = await optimizer.decisions(since="2026-12-04T12:02:00Z")
        assert [d["result"] for d in recent] == ["rejected", "no_rule", "cooldown"]
        [executed] = await optimizer.decisions(result="executed")
        assert executed["labels"]["alertname"] == "LeitstandHighLatency"
        assert executed["starts_at"] == "2026-12-04T11:59:00+00:00"
        assert executed["received_at"] == "2026-12-04T12:00:00+00:00"
        assert executed["action_state"]["change_id"] == "c-0001"


async def test_decisions_paginated_newest_first(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    async with start_optimizer() as optimizer:
        await _fill(optimizer, control)

        seen: list[int] = []
        url: str | None = "/decisions?limit=2"
        pages = 0
        while url is not None:
            response = await optimizer.client.get(url)
            assert response.status_code == 200
            body = response.json()
            seen += [d["id"] for d in body["decisions"]]
            url = body["next"]
            pages += 1
        assert pages == 3
        assert seen == [5, 4, 3, 2, 1]


async def test_decisions_reject_unknown_result(start_optimizer: StartOptimizer) -> None:
    async with start_optimizer() as optimizer:
        response = await optimizer.client.get("/decisions", params={"result": "skipped"})

        assert response.status_code == 422


async def test_audit_is_append_only(
    start_optimizer: StartOptimizer, control: ControlDouble, tmp_path: Path
) -> None:
    async with start_optimizer(state=tmp_path / "audit.db") as optimizer:
        await _fill(optimizer, control)

    with sqlite3.connect(tmp_path / "audit.db") as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE decisions SET result = 'executed'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM decisions")
        assert db.execute("SELECT count(*) FROM decisions").fetchone() == (5,)


async def test_metrics_pass_promtool_check(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    promtool = require_binary("promtool")
    async with start_optimizer() as optimizer:
        await _fill(optimizer, control)
        response = await optimizer.client.get("/metrics")

    assert response.status_code == 200
    text = response.text
    assert 'leitstand_optimizer_webhooks_total{code="200"} 4.0' in text
    assert 'leitstand_optimizer_webhooks_total{code="401"} 1.0' in text
    assert (
        'leitstand_optimizer_decisions_total{action="set",result="executed",'
        'rule="degrade-on-high-latency"} 1.0' in text
    )
    assert 'leitstand_optimizer_action_duration_seconds_count{action="set"} 1.0' in text
    check = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout == ""
    assert check.stderr == ""


async def test_health_reports_mode(start_optimizer: StartOptimizer) -> None:
    async with start_optimizer(optimizer_dry_run=True) as optimizer:
        response = await optimizer.client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "dry_run": True, "rules": 4, "pending": 0}
