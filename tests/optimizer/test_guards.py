"""Guards between a matching rule and an action: dry run, restart, budgets, conflicts, age."""

from __future__ import annotations

from pathlib import Path

from optimizer.clock import ManualClock
from tests.optimizer.conftest import STORED_INSTANCE, StartOptimizer, load_payload, with_starts_at
from tests.optimizer.doubles import ControlDouble

TWO_RULES_ON_ONE_KNOB = """
rules:
  - name: shed-on-saturation
    alert: LeitstandSaturation
    action: {kind: set, knob: shed.max_in_flight, value: 64}
    priority: 10
  - name: shed-harder-on-latency
    alert: LeitstandHighLatency
    action: {kind: set, knob: shed.max_in_flight, value: 32}
    priority: 5
  - name: shed-hardest-on-errors
    alert: LeitstandHighErrorRatio
    action: {kind: set, knob: shed.max_in_flight, value: 16}
    priority: 50
"""


async def test_dry_run_records_without_calling_app(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})

    async with start_optimizer(optimizer_dry_run=True) as optimizer:
        answer = await optimizer.post(payload)
        repeat = await optimizer.post(payload)
        await optimizer.settle()

        [decision] = answer.json()["decisions"]
        assert decision["result"] == "dry_run"
        assert decision["reason"] == f"would set degraded to 1 on {control.address}"
        assert repeat.json()["decisions"][0]["result"] == "duplicate"
        assert control.requests == []
        assert optimizer.sample("leitstand_optimizer_dry_run") == 1
        assert (
            optimizer.sample(
                "leitstand_optimizer_decisions_total",
                rule="degrade-on-high-latency",
                action="set",
                result="dry_run",
            )
            == 1
        )


async def test_restart_keeps_cooldown(
    start_optimizer: StartOptimizer, control: ControlDouble, tmp_path: Path
) -> None:
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
    clock = ManualClock()
    state = tmp_path / "audit.db"

    async with start_optimizer(clock=clock, state=state) as optimizer:
        assert (await optimizer.post(payload)).json()["decisions"][0]["result"] == "executed"
        await optimizer.settle()

    clock.advance(120)
    async with start_optimizer(clock=clock, state=state) as restarted:
        # The same occurrence is still a duplicate, and a new one is within the cooldown.
        repeat = await restarted.post(payload)
        refire = await restarted.post(with_starts_at(payload, "2026-12-04T12:01:30Z"))
        await restarted.settle()

        assert repeat.json()["decisions"][0]["result"] == "duplicate"
        [decision] = refire.json()["decisions"]
        assert decision["result"] == "cooldown"
        assert "ends in 8m" in decision["reason"]
        assert len(control.changes_sent()) == 1

    clock.advance(480)
    async with start_optimizer(clock=clock, state=state) as after_cooldown:
        answer = await after_cooldown.post(with_starts_at(payload, "2026-12-04T12:09:30Z"))
        await after_cooldown.settle()
        assert answer.json()["decisions"][0]["result"] == "executed"
        # Both runs wrote to one audit.
        assert len(await after_cooldown.decisions()) == 4


async def test_global_budget_caps_actions(
    start_optimizer: StartOptimizer, control_doubles: list[ControlDouble]
) -> None:
    stored = ["127.0.0.1:8003", "127.0.0.1:8004", "127.0.0.1:8005"]
    mapping = {old: double.address for old, double in zip(stored, control_doubles, strict=True)}
    rules = """
budget: {max_actions: 2, window: 10m}
rules:
  - name: add-worker
    alert: LeitstandSaturation
    action: {kind: add, knob: workers, amount: 1, max: 8}
"""
    async with start_optimizer(rules=rules) as optimizer:
        answer = await optimizer.post(load_payload("saturation_three_instances", mapping))
        await optimizer.settle()

        results = [d["result"] for d in answer.json()["decisions"]]
        assert results == ["executed", "executed", "budget"]
        assert "global budget of 2" in answer.json()["decisions"][2]["reason"]
        assert control_doubles[2].requests == []


async def test_attempt_budget_per_rule_and_target(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    rules = """
rules:
  - name: add-worker
    alert: LeitstandSaturation
    action: {kind: add, knob: workers, amount: 1, max: 8}
    cooldown: 1m
    max_attempts: 2
    attempt_window: 1h
"""
    payload = load_payload("saturation_three_instances", {"127.0.0.1:8003": control.address})
    payload["alerts"] = payload["alerts"][:1]
    results = []
    async with start_optimizer(rules=rules) as optimizer:
        for minute in range(3):
            optimizer.clock.advance(120)
            firing = with_starts_at(payload, f"2026-12-04T12:{minute * 2:02d}:30Z")
            results.append((await optimizer.post(firing)).json()["decisions"][0]["result"])
            await optimizer.settle()

        assert results == ["executed", "executed", "budget"]
        assert control.knobs["workers"].value == 4


async def test_conflict_with_change_in_force(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    saturation = load_payload("saturation_three_instances", {"127.0.0.1:8003": control.address})
    saturation["alerts"] = saturation["alerts"][:1]
    latency = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
    errors = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
    errors["alerts"][0]["labels"]["alertname"] = "LeitstandHighErrorRatio"
    errors["alerts"][0]["fingerprint"] = "8f00aa11bb22cc33"

    async with start_optimizer(rules=TWO_RULES_ON_ONE_KNOB) as optimizer:
        assert (await optimizer.post(saturation)).json()["decisions"][0]["result"] == "executed"
        await optimizer.settle()
        lower = (await optimizer.post(latency)).json()["decisions"][0]
        higher = (await optimizer.post(errors)).json()["decisions"][0]
        await optimizer.settle()

        assert lower["result"] == "conflict"
        assert "held by rule shed-on-saturation" in lower["reason"]
        assert higher["result"] == "executed"
        assert control.knobs["shed.max_in_flight"].value == 16


async def test_stale_alert_is_not_acted_on(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    payload = with_starts_at(
        load_payload("high_latency_firing", {STORED_INSTANCE: control.address}),
        "2026-12-04T10:30:00Z",
    )
    async with start_optimizer() as optimizer:
        [decision] = (await optimizer.post(payload)).json()["decisions"]

        assert decision["result"] == "stale"
        assert decision["reason"] == ("the alert started 1h30m ago, longer than stale_after 1h")
        assert control.requests == []


async def test_alert_without_rule_is_recorded(start_optimizer: StartOptimizer) -> None:
    async with start_optimizer() as optimizer:
        [decision] = (await optimizer.post(load_payload("host_high_cpu"))).json()["decisions"]

        assert decision["result"] == "no_rule"
        assert decision["reason"] == "no rule matches LeitstandHostHighCpu"


async def test_optimizer_alerts_are_never_acted_on(start_optimizer: StartOptimizer) -> None:
    rules = """
rules:
  - name: catch-all
    alert: LeitstandOptimizerFailing
    action: {kind: set, knob: degraded, value: 1}
"""
    async with start_optimizer(rules=rules) as optimizer:
        answer = await optimizer.post(load_payload("optimizer_failing"))
        [decision] = answer.json()["decisions"]

        assert answer.status_code == 200
        assert decision["result"] == "rejected"
        assert "service=optimizer" in decision["reason"]
