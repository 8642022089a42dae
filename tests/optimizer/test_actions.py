"""Actions against the control API double: failures, bounds, targets, verification, escalation."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.optimizer.conftest import STORED_INSTANCE, StartOptimizer, load_payload, with_starts_at
from tests.optimizer.doubles import (
    ControlDouble,
    JsonStub,
    prometheus_targets,
    prometheus_vector,
)


def evicting(control: ControlDouble, cache: str = "kunden") -> dict[str, Any]:
    payload = load_payload("cache_evicting_mixed", {STORED_INSTANCE: control.address})
    payload["alerts"] = payload["alerts"][:1]
    payload["alerts"][0]["labels"]["cache"] = cache
    return payload


async def test_failing_app_is_retried_then_recorded(
    start_optimizer: StartOptimizer, control: ControlDouble, caplog: pytest.LogCaptureFixture
) -> None:
    control.fail_with = 500
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})

    async with start_optimizer() as optimizer:
        [decision] = (await optimizer.post(payload)).json()["decisions"]
        await optimizer.settle()

        assert decision["result"] == "executed"
        assert len(control.changes_sent()) == 2  # one retry, as configured
        [failed] = await optimizer.decisions(result="failed")
        assert failed["parent_id"] == decision["id"]
        assert "failed after 2 attempts: HTTP 500" in failed["reason"]
        [executed] = await optimizer.decisions(result="executed")
        assert executed["action_state"]["status"] == "failed"
        assert (
            optimizer.sample(
                "leitstand_optimizer_decisions_total",
                rule="degrade-on-high-latency",
                action="set",
                result="failed",
            )
            == 1
        )
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert any("action on" in r.getMessage() and "failed" in r.getMessage() for r in warnings)


async def test_rejected_value_is_not_retried(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    rules = """
rules:
  - name: too-many-workers
    alert: LeitstandSaturation
    action: {kind: set, knob: workers, value: 64}
"""
    payload = load_payload("saturation_three_instances", {"127.0.0.1:8003": control.address})
    payload["alerts"] = payload["alerts"][:1]

    async with start_optimizer(rules=rules) as optimizer:
        await optimizer.post(payload)
        await optimizer.settle()

        assert len(control.changes_sent()) == 1
        [failed] = await optimizer.decisions(result="failed")
        assert "HTTP 422" in failed["reason"]
        assert "workers must be within 1 and 8" in failed["reason"]


async def test_multiply_reads_value_and_stops_at_bound(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    control.knobs["cache.kunden.capacity"].value = 150_000

    async with start_optimizer() as optimizer:
        await optimizer.post(evicting(control))
        await optimizer.settle()
        assert control.knobs["cache.kunden.capacity"].value == 200_000  # clamped to max

        optimizer.clock.advance(20 * 60)
        again = with_starts_at(evicting(control), "2026-12-04T12:19:00Z")
        assert (await optimizer.post(again)).json()["decisions"][0]["result"] == "executed"
        await optimizer.settle()

        [failed] = await optimizer.decisions(result="failed")
        assert "cache.kunden.capacity is 200000" in failed["reason"]
        assert "already at its bound" in failed["reason"]
        assert len(control.changes_sent()) == 1


async def test_clear_cache_uses_alert_label(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    rules = """
rules:
  - name: clear-on-errors
    alert: LeitstandCacheEvicting
    action: {kind: clear_cache, cache: '{{ $labels.cache }}'}
"""
    async with start_optimizer(rules=rules) as optimizer:
        [decision] = (await optimizer.post(evicting(control, "lager"))).json()["decisions"]
        await optimizer.settle()

        assert decision["reason"] == f"clear cache.lager on {control.address}"
        assert control.cleared == ["lager"]


async def test_missing_template_label_is_rejected(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    rules = """
rules:
  - name: grow-cache
    alert: LeitstandCacheEvicting
    action: {kind: multiply, knob: 'cache.{{ $labels.cache }}.capacity', factor: 2, max: 4096}
"""
    payload = evicting(control)
    del payload["alerts"][0]["labels"]["cache"]

    async with start_optimizer(rules=rules) as optimizer:
        [decision] = (await optimizer.post(payload)).json()["decisions"]

        assert decision["result"] == "rejected"
        assert "the alert has no label 'cache'" in decision["reason"]
        assert control.requests == []


async def test_job_alert_acts_on_every_target(
    start_optimizer: StartOptimizer,
    control_doubles: list[ControlDouble],
    prometheus: JsonStub,
) -> None:
    addresses = [double.address for double in control_doubles[:2]]
    prometheus.routes["/api/v1/targets"] = prometheus_targets("erp", addresses)

    async with start_optimizer(prometheus_url=prometheus.url) as optimizer:
        answer = await optimizer.post(load_payload("saturation_job_only"))
        await optimizer.settle()

        decisions = answer.json()["decisions"]
        assert sorted(d["target"] for d in decisions) == sorted(addresses)
        assert [d["result"] for d in decisions] == ["executed", "executed"]
        assert [d.knobs["workers"].value for d in control_doubles] == [3, 3, 2]


async def test_job_alert_without_prometheus_fails(start_optimizer: StartOptimizer) -> None:
    async with start_optimizer() as optimizer:
        [decision] = (await optimizer.post(load_payload("saturation_job_only"))).json()["decisions"]

        assert decision["result"] == "failed"
        assert "without --prometheus-url" in decision["reason"]


async def test_verification_records_improvement(
    start_optimizer: StartOptimizer, control: ControlDouble, prometheus: JsonStub
) -> None:
    prometheus.routes["/api/v1/query"] = prometheus_vector([])
    prometheus.routes["/api/v1/targets"] = prometheus_targets("erp", [control.address])
    payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})

    async with start_optimizer(prometheus_url=prometheus.url) as optimizer:
        await optimizer.post(payload)
        await optimizer.settle()
        await optimizer.wait_for(lambda: optimizer.clock.sleepers == 1, "the verification wait")
        optimizer.clock.advance(120)
        await optimizer.wait_for(
            lambda: (
                optimizer.sample("leitstand_optimizer_verifications_total", result="improved") == 1
            ),
            "the verification",
        )

        [query] = [r for r in prometheus.requests if r.path == "/api/v1/query"]
        assert query.query["query"] == [
            'ALERTS{alertstate="firing",alertname="LeitstandHighLatency",'
            f'instance="{control.address}",job="erp",service="erp",severity="warning"}}'
        ]
        [executed] = await optimizer.decisions(result="executed")
        assert executed["action_state"]["verification"] == "improved"


async def test_failed_verifications_escalate(
    start_optimizer: StartOptimizer,
    control: ControlDouble,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prometheus = JsonStub().start()
    alertmanager = JsonStub().start()
    prometheus.routes["/api/v1/query"] = prometheus_vector([{"alertname": "LeitstandSaturation"}])
    prometheus.routes["/api/v1/targets"] = prometheus_targets("erp", [control.address])
    alertmanager.routes["/api/v2/alerts"] = (200, {})
    rules = """
escalation: {max_failed_attempts: 2, window: 30m}
verify_after: 1m
rules:
  - name: add-worker
    alert: LeitstandSaturation
    action: {kind: add, knob: workers, amount: 1, max: 8}
    cooldown: 2m
    verify:
      query: 'erp_in_flight{instance="{{ $labels.instance }}"} > 10'
"""
    payload = load_payload("saturation_three_instances", {"127.0.0.1:8003": control.address})
    payload["alerts"] = payload["alerts"][:1]
    try:
        async with start_optimizer(
            rules=rules, prometheus_url=prometheus.url, alertmanager_url=alertmanager.url
        ) as optimizer:
            for attempt in range(2):
                firing = with_starts_at(payload, f"2026-12-04T12:0{attempt * 3}:30Z")
                assert (await optimizer.post(firing)).json()["decisions"][0]["result"] == (
                    "executed"
                )
                await optimizer.settle()
                await optimizer.wait_for(lambda: optimizer.clock.sleepers == 1, "verification")
                optimizer.clock.advance(60)
                await optimizer.wait_for(
                    lambda: optimizer.context.optimizer.runner.pending == 0, "verification end"
                )
                optimizer.clock.advance(120)

            blocked = with_starts_at(payload, "2026-12-04T12:06:30Z")
            [decision] = (await optimizer.post(blocked)).json()["decisions"]

            assert decision["result"] == "budget"
            assert "2 failed attempts" in decision["reason"]
            assert control.knobs["workers"].value == 4
            assert (
                optimizer.sample("leitstand_optimizer_verifications_total", result="not_improved")
                == 2
            )
            assert optimizer.sample("leitstand_optimizer_escalations_total", rule="add-worker") == 1
            queries = [
                r.query["query"][0] for r in prometheus.requests if r.path == "/api/v1/query"
            ]
            assert queries == [f'erp_in_flight{{instance="{control.address}"}} > 10'] * 2
            [posted] = alertmanager.requests
            [alert] = posted.body
            assert alert["labels"]["service"] == "optimizer"
            assert alert["labels"]["alertname"] == "LeitstandOptimizerFailing"
            assert alert["labels"]["instance"] == control.address
            errors = [r for r in caplog.records if r.levelno == logging.ERROR]
            assert len(errors) == 1
            assert "stops acting" in errors[0].getMessage()
            assert errors[0].name == "leitstand.optimizer.actions"
    finally:
        prometheus.stop()
        alertmanager.stop()
