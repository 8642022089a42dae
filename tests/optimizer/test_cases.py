"""The optimizer's cases, each with stored Alertmanager payloads posted to the webhook."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from tests.optimizer.conftest import (
    PAYLOADS,
    STORED_INSTANCE,
    StartOptimizer,
    load_payload,
    with_starts_at,
)
from tests.optimizer.doubles import ControlDouble


async def test_two_alertmanagers_act_once(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
    second = json.loads(json.dumps(payload))
    second["externalURL"] = "http://alertmanager-b.example:9093"

    async with start_optimizer() as optimizer:
        first_answer = await optimizer.post(payload)
        optimizer.clock.advance(15)
        second_answer = await optimizer.post(second)
        await optimizer.settle()

        assert first_answer.status_code == 200
        assert second_answer.status_code == 200
        assert [d["result"] for d in first_answer.json()["decisions"]] == ["executed"]
        assert [d["result"] for d in second_answer.json()["decisions"]] == ["duplicate"]
        assert len(control.changes_sent()) == 1
        assert control.knobs["degraded"].value == 1
        duplicates = await optimizer.decisions(result="duplicate")
        assert len(duplicates) == 1
        assert "already acted" in duplicates[0]["reason"]


async def test_slow_action_answers_before_it_ends(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
    control.gate.clear()  # the app delays every knob change until the gate opens

    async with start_optimizer() as optimizer:
        answer = await optimizer.post(payload)
        # The response came back while the app was still delaying the change.
        assert answer.status_code == 200
        assert answer.json()["decisions"][0]["result"] == "executed"
        for _ in range(500):
            if control.changes_sent():
                break
            await asyncio.sleep(0.01)
        assert optimizer.context.optimizer.runner.busy == 1

        optimizer.clock.advance(10)
        repeat = await optimizer.post(payload)
        assert repeat.status_code == 200
        assert repeat.json()["decisions"][0]["result"] == "duplicate"

        optimizer.clock.advance(2)
        control.gate.set()
        await optimizer.settle()
        assert len(control.changes_sent()) == 1
        [executed] = await optimizer.decisions(result="executed")
        assert executed["action_state"]["status"] == "succeeded"
        assert executed["action_state"]["change_id"] == "c-0001"
        assert executed["action_state"]["duration_seconds"] == 12


async def test_resolved_reverts_exactly_its_change(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    firing = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
    resolved = load_payload("high_latency_resolved", {STORED_INSTANCE: control.address})

    async with start_optimizer() as optimizer:
        await optimizer.post(firing)
        await optimizer.settle()
        optimizer.clock.advance(300)
        answer = await optimizer.post(resolved)
        await optimizer.settle()

        assert answer.status_code == 200
        [decision] = answer.json()["decisions"]
        assert decision["result"] == "resolved"
        assert decision["reason"] == f"reverting change c-0001 on {control.address}"
        reverts = [r for r in control.requests if r.path.endswith("/revert")]
        assert [r.path for r in reverts] == ["/control/changes/c-0001/revert"]
        assert control.knobs["degraded"].value == 0
        assert len(control.changes_sent()) == 1  # no remediation on resolved
        [executed] = await optimizer.decisions(result="executed")
        assert executed["action_state"]["status"] == "reverted"


async def test_resolved_without_action_changes_nothing(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    resolved = load_payload("high_latency_resolved", {STORED_INSTANCE: control.address})

    async with start_optimizer() as optimizer:
        answer = await optimizer.post(resolved)
        repeat = await optimizer.post(resolved)
        await optimizer.settle()

        assert answer.json()["decisions"][0]["result"] == "resolved"
        assert "made no change" in answer.json()["decisions"][0]["reason"]
        assert repeat.json()["decisions"][0]["result"] == "duplicate"
        assert control.requests == []


async def test_mixed_group_acts_on_firing_alert_only(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    payload = load_payload("cache_evicting_mixed", {STORED_INSTANCE: control.address})

    async with start_optimizer() as optimizer:
        answer = await optimizer.post(payload)
        await optimizer.settle()

        results = {d["fingerprint"]: d["result"] for d in answer.json()["decisions"]}
        assert results == {"9b1e44c07a3d2f10": "executed", "5d2a8f31c6e0b947": "resolved"}
        [change] = control.changes_sent()
        assert change.path == "/control/knobs/cache.kunden.capacity"
        assert change.body["value"] == 2000
        assert control.knobs["cache.artikel.capacity"].value == 1000


async def test_several_targets_get_own_cooldowns(
    start_optimizer: StartOptimizer, control_doubles: list[ControlDouble]
) -> None:
    stored = ["127.0.0.1:8003", "127.0.0.1:8004", "127.0.0.1:8005"]
    mapping = {old: double.address for old, double in zip(stored, control_doubles, strict=True)}
    payload = load_payload("saturation_three_instances", mapping)
    assert "instance" not in payload["commonLabels"]

    async with start_optimizer() as optimizer:
        answer = await optimizer.post(payload)
        await optimizer.settle()
        decisions = answer.json()["decisions"]
        assert [d["result"] for d in decisions] == ["executed"] * 3
        assert sorted(d["target"] for d in decisions) == sorted(mapping.values())
        assert [double.knobs["workers"].value for double in control_doubles] == [3, 3, 3]

        # The first instance fires again within the cooldown; the third one after it.
        optimizer.clock.advance(120)
        again = with_starts_at(payload, "2026-12-04T12:01:30Z")
        again["alerts"] = [again["alerts"][0]]
        assert (await optimizer.post(again)).json()["decisions"][0]["result"] == "cooldown"

        optimizer.clock.advance(240)
        later = with_starts_at(payload, "2026-12-04T12:05:30Z")
        later["alerts"] = [later["alerts"][2]]
        assert (await optimizer.post(later)).json()["decisions"][0]["result"] == "executed"
        await optimizer.settle()
        assert [double.knobs["workers"].value for double in control_doubles] == [3, 3, 4]


async def test_flapping_alert_acts_once_per_cooldown(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    firing = load_payload("cache_evicting_mixed", {STORED_INSTANCE: control.address})
    firing["alerts"] = firing["alerts"][:1]
    results = []

    async with start_optimizer() as optimizer:
        for flap in range(10):
            starts_at = f"2026-12-04T12:{flap:02d}:00Z"
            fire = with_starts_at(firing, starts_at)
            resolve = with_starts_at(firing, starts_at)
            resolve["status"] = resolve["alerts"][0]["status"] = "resolved"
            resolve["alerts"][0]["endsAt"] = f"2026-12-04T12:{flap:02d}:30Z"
            optimizer.clock.advance(30)
            results.append((await optimizer.post(fire)).json()["decisions"][0]["result"])
            optimizer.clock.advance(30)
            assert (await optimizer.post(resolve)).json()["decisions"][0]["result"] == "resolved"
        await optimizer.settle()

        assert results == ["executed"] + ["cooldown"] * 9
        assert len(control.changes_sent()) == 1
        assert len(await optimizer.decisions(result="cooldown")) == 9


async def test_missing_or_wrong_token_is_rejected(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})

    async with start_optimizer() as optimizer:
        missing = await optimizer.post(payload, token=None)
        wrong = await optimizer.post(payload, token="not-the-token")  # noqa: S106 - a wrong token
        await optimizer.settle()

        assert missing.status_code == 401
        assert wrong.status_code == 401
        assert missing.headers["WWW-Authenticate"] == "Bearer"
        assert "missing Authorization header" in missing.json()["detail"]
        assert "wrong bearer token" in wrong.json()["detail"]
        assert control.requests == []
        assert optimizer.sample("leitstand_optimizer_webhooks_total", code="401") == 2
        rejected = await optimizer.decisions(result="rejected")
        assert len(rejected) == 2
        assert all(decision["reason"].startswith("HTTP 401") for decision in rejected)


async def test_malformed_json_gets_400_with_reason(start_optimizer: StartOptimizer) -> None:
    async with start_optimizer() as optimizer:
        answer = await optimizer.post((PAYLOADS / "malformed.json").read_bytes())

        assert answer.status_code == 400
        assert answer.json()["detail"].startswith("malformed JSON")
        assert optimizer.sample("leitstand_optimizer_webhooks_total", code="400") == 1


async def test_version_3_gets_400_with_reason(start_optimizer: StartOptimizer) -> None:
    async with start_optimizer() as optimizer:
        answer = await optimizer.post(load_payload("version_3"))

        assert answer.status_code == 400
        assert "unsupported webhook version '3'" in answer.json()["detail"]


async def test_invalid_alert_gets_400_naming_field(start_optimizer: StartOptimizer) -> None:
    payload = load_payload("high_latency_firing")
    del payload["alerts"][0]["fingerprint"]

    async with start_optimizer() as optimizer:
        answer = await optimizer.post(payload)

        assert answer.status_code == 400
        assert "alerts.0.fingerprint" in answer.json()["detail"]


async def test_overloaded_optimizer_answers_503(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
    control.gate.clear()

    async with start_optimizer(optimizer_max_pending=1) as optimizer:
        assert (await optimizer.post(payload)).status_code == 200
        answer = await optimizer.post(with_starts_at(payload, "2026-12-04T11:59:30Z"))

        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "5"
        assert optimizer.sample("leitstand_optimizer_webhooks_total", code="503") == 1
        control.gate.set()
        await optimizer.settle()


async def test_zero_end_time_means_firing(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
    assert payload["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"

    async with start_optimizer() as optimizer:
        answer = await optimizer.post(payload)
        await optimizer.settle()

        assert answer.status_code == 200
        assert answer.json()["decisions"][0]["result"] == "executed"
        assert control.knobs["degraded"].value == 1


async def test_audit_write_failure_answers_503(
    start_optimizer: StartOptimizer, control: ControlDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})

    async with start_optimizer() as optimizer:
        store = optimizer.context.optimizer.store
        working_append = store.append

        async def failing_append(*args: object, **kwargs: object) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(store, "append", failing_append)
        failed = await optimizer.post(payload)
        monkeypatch.setattr(store, "append", working_append)
        retried = await optimizer.post(payload)
        await optimizer.settle()

        assert failed.status_code == 503
        assert failed.headers["Retry-After"] == "5"
        # Nothing was recorded, so Alertmanager's retry is decided afresh and acts once.
        assert retried.status_code == 200
        assert retried.json()["decisions"][0]["result"] == "executed"
        assert len(control.changes_sent()) == 1


async def test_truncated_group_is_logged(
    start_optimizer: StartOptimizer, caplog: pytest.LogCaptureFixture
) -> None:
    payload = load_payload("host_high_cpu")
    payload["truncatedAlerts"] = 3

    async with start_optimizer() as optimizer:
        answer = await optimizer.post(payload)

    assert answer.status_code == 200
    [warning] = [r for r in caplog.records if "cut 3 alerts" in r.getMessage()]
    assert warning.levelname == "WARNING"
    assert "set max_alerts: 0" in warning.getMessage()
