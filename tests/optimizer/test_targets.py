"""Which alerts the optimizer acts on: listed targets, allow-list, startsAt and label values."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from optimizer.allowlist import AllowedTargets
from optimizer.settings import Settings
from tests.optimizer.conftest import STORED_INSTANCE, StartOptimizer, load_payload, with_starts_at
from tests.optimizer.doubles import ControlDouble, JsonStub, prometheus_targets


def high_latency(instance: str) -> dict[str, Any]:
    return load_payload("high_latency_firing", {STORED_INSTANCE: instance})


async def test_instance_not_a_target_is_rejected(
    start_optimizer: StartOptimizer, control_doubles: list[ControlDouble], prometheus: JsonStub
) -> None:
    listed, unlisted = control_doubles[:2]
    prometheus.routes["/api/v1/targets"] = prometheus_targets("erp", [listed.address])

    async with start_optimizer(prometheus_url=prometheus.url) as optimizer:
        [decision] = (await optimizer.post(high_latency(unlisted.address))).json()["decisions"]
        await optimizer.settle()

        assert decision["result"] == "rejected"
        assert (
            f"instance {unlisted.address} is not an active target of job erp"
            in (decision["reason"])
        )
        assert unlisted.requests == []
        assert listed.requests == []


async def test_instance_of_other_job_is_rejected(
    start_optimizer: StartOptimizer, control: ControlDouble, prometheus: JsonStub
) -> None:
    prometheus.routes["/api/v1/targets"] = prometheus_targets("node", [control.address])

    async with start_optimizer(prometheus_url=prometheus.url) as optimizer:
        [decision] = (await optimizer.post(high_latency(control.address))).json()["decisions"]

        assert decision["result"] == "rejected"
        assert "job erp" in decision["reason"]
        assert control.requests == []


async def test_instance_without_job_is_rejected(
    start_optimizer: StartOptimizer, control: ControlDouble, prometheus: JsonStub
) -> None:
    prometheus.routes["/api/v1/targets"] = prometheus_targets("erp", [control.address])
    payload = high_latency(control.address)
    del payload["alerts"][0]["labels"]["job"]

    async with start_optimizer(prometheus_url=prometheus.url) as optimizer:
        [decision] = (await optimizer.post(payload)).json()["decisions"]

        assert decision["result"] == "rejected"
        assert f"instance {control.address} but no job" in decision["reason"]
        assert control.requests == []


async def test_listed_instance_is_acted_on(
    start_optimizer: StartOptimizer, control: ControlDouble, prometheus: JsonStub
) -> None:
    prometheus.routes["/api/v1/targets"] = prometheus_targets("erp", [control.address])

    async with start_optimizer(prometheus_url=prometheus.url) as optimizer:
        [decision] = (await optimizer.post(high_latency(control.address))).json()["decisions"]
        await optimizer.settle()

        assert decision["result"] == "executed"
        assert control.knobs["degraded"].value == 1


async def test_non_loopback_instance_needs_allow_list(start_optimizer: StartOptimizer) -> None:
    # A dry run never calls the instance, so no request leaves loopback.
    async with start_optimizer(optimizer_dry_run=True) as optimizer:
        [decision] = (await optimizer.post(high_latency("10.1.2.3:8000"))).json()["decisions"]

        assert decision["result"] == "rejected"
        assert (
            "instance 10.1.2.3:8000 is not in LEITSTAND_OPTIMIZER_ALLOWED_TARGETS"
            in (decision["reason"])
        )

    async with start_optimizer(
        optimizer_dry_run=True, optimizer_allowed_targets="10.0.0.0/8"
    ) as optimizer:
        [decision] = (await optimizer.post(high_latency("10.1.2.3:8000"))).json()["decisions"]

        assert decision["result"] == "dry_run"


async def test_allow_list_replaces_loopback(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    async with start_optimizer(optimizer_allowed_targets="10.0.0.0/8,app:8000") as optimizer:
        [decision] = (await optimizer.post(high_latency(control.address))).json()["decisions"]
        await optimizer.settle()

        assert decision["result"] == "rejected"
        assert "(app:8000,10.0.0.0/8)" in decision["reason"]
        assert control.requests == []


@pytest.mark.parametrize(
    ("allowed", "instance", "expected"),
    [
        ("", "127.0.0.1:8000", True),
        ("", "127.8.9.10:8000", True),
        ("", "[::1]:8000", True),
        ("", "localhost:8000", True),
        ("", "192.168.1.5:8000", False),
        ("", "app:8000", False),
        ("app:8000", "app:8000", True),
        ("app:8000", "app:8001", False),
        ("app:8000", "127.0.0.1:8000", False),
        ("10.0.0.0/8, fd00::/8", "10.9.8.7:8000", True),
        ("10.0.0.0/8, fd00::/8", "[fd00::1]:8000", True),
        ("10.0.0.0/8, fd00::/8", "11.0.0.1:8000", False),
    ],
)
def test_allow_list_matches(allowed: str, instance: str, expected: bool) -> None:
    assert AllowedTargets.parse(allowed).allows(instance) is expected


@pytest.mark.parametrize("entry", ["app", "app:http", "10.0.0.0/33", ":8000"])
def test_invalid_allow_list_is_rejected(entry: str) -> None:
    with pytest.raises(ValidationError, match=f"invalid allowed target '{entry}'"):
        Settings(optimizer_allowed_targets=entry)


async def test_future_starts_at_is_rejected(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    async with start_optimizer() as optimizer:
        future = with_starts_at(high_latency(control.address), "2099-01-01T00:00:00Z")
        [decision] = (await optimizer.post(future)).json()["decisions"]
        await optimizer.settle()

        assert decision["result"] == "rejected"
        assert "startsAt 2099-01-01T00:00:00+00:00" in decision["reason"]
        assert "ahead of the optimizer's clock" in decision["reason"]
        assert control.requests == []


async def test_starts_at_within_skew_is_acted_on(
    start_optimizer: StartOptimizer, control: ControlDouble
) -> None:
    async with start_optimizer() as optimizer:
        # The harness clock reads 12:00:00, so this alert starts 50 s ahead of it.
        ahead = with_starts_at(high_latency(control.address), "2026-12-04T12:00:50Z")
        [decision] = (await optimizer.post(ahead)).json()["decisions"]
        await optimizer.settle()

        assert decision["result"] == "executed"


@pytest.mark.parametrize("cache", ["../../x", "a.b", "kunden x", 'k"}'])
async def test_invalid_template_value_is_rejected(
    start_optimizer: StartOptimizer, control: ControlDouble, cache: str
) -> None:
    rules = """
rules:
  - name: grow-cache
    alert: LeitstandCacheEvicting
    action: {kind: multiply, knob: 'cache.{{ $labels.cache }}.capacity', factor: 2, max: 4096}
"""
    payload = load_payload("cache_evicting_mixed", {STORED_INSTANCE: control.address})
    payload["alerts"] = payload["alerts"][:1]
    payload["alerts"][0]["labels"]["cache"] = cache

    async with start_optimizer(rules=rules) as optimizer:
        [decision] = (await optimizer.post(payload)).json()["decisions"]

        assert decision["result"] == "rejected"
        assert f"label cache={cache!r}" in decision["reason"]
        assert "[A-Za-z0-9_-]+" in decision["reason"]
        assert control.requests == []
