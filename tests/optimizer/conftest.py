"""Fixtures: the optimizer app in process, with a hand-moved clock and loopback doubles."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from optimizer.clock import ManualClock
from optimizer.metrics import OptimizerMetrics
from optimizer.rules import DEFAULT_RULES_PATH, RuleSet, load_rules, parse_rules
from optimizer.service import Context, create_app
from optimizer.settings import Settings
from tests.optimizer.doubles import ControlDouble, JsonStub

PAYLOADS = Path(__file__).with_name("payloads")
WEBHOOK_TOKEN = "webhook-test-token"  # noqa: S105 - a test value sent only on loopback
CONTROL_TOKEN = "control-test-token"  # noqa: S105 - a test value sent only on loopback
# The instance the stored payloads name; tests point it at a control double.
STORED_INSTANCE = "127.0.0.1:8003"


def load_payload(name: str, instances: dict[str, str] | None = None) -> dict[str, Any]:
    """Read a stored payload, replacing instance labels as ``instances`` maps them."""
    payload: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    mapping = instances or {}
    for labels in [payload["groupLabels"], payload["commonLabels"]] + [
        alert["labels"] for alert in payload["alerts"]
    ]:
        if labels.get("instance") in mapping:
            labels["instance"] = mapping[labels["instance"]]
    return payload


def with_starts_at(payload: dict[str, Any], starts_at: str) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    for alert in changed["alerts"]:
        alert["startsAt"] = starts_at
    return changed


@dataclass
class Harness:
    """A running optimizer app and the ways tests talk to it."""

    app: FastAPI
    client: httpx.AsyncClient
    clock: ManualClock
    metrics: OptimizerMetrics

    @property
    def context(self) -> Context:
        context: Context = self.app.state.context
        return context

    async def post(self, payload: Any, token: str | None = WEBHOOK_TOKEN) -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        if isinstance(payload, bytes):
            return await self.client.post(
                "/webhook", content=payload, headers={**headers, "Content-Type": "application/json"}
            )
        return await self.client.post("/webhook", json=payload, headers=headers)

    async def decisions(self, **filters: Any) -> list[dict[str, Any]]:
        response = await self.client.get("/decisions", params=filters)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["decisions"]
        return items

    async def settle(self, wait_seconds: float = 10.0) -> None:
        """Wait until no call to the app is in progress (sleeping verifications aside)."""
        runner = self.context.optimizer.runner
        for _ in range(int(wait_seconds / 0.01)):
            await asyncio.sleep(0.01)
            if runner.busy == 0:
                return
        raise TimeoutError(f"{runner.busy} actions still calling the app after {wait_seconds} s")

    async def wait_for(self, condition: Callable[[], bool], description: str) -> None:
        """Let background tasks run until ``condition`` is true (at most 10 s)."""
        for _ in range(1000):
            if condition():
                return
            await asyncio.sleep(0.01)
        raise TimeoutError(f"timed out waiting for {description}")

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


@pytest.fixture
def control() -> Iterator[ControlDouble]:
    double = ControlDouble(CONTROL_TOKEN).start()
    yield double
    double.stop()


@pytest.fixture
def control_doubles() -> Iterator[list[ControlDouble]]:
    doubles = [ControlDouble(CONTROL_TOKEN).start() for _ in range(3)]
    yield doubles
    for double in doubles:
        double.stop()


@pytest.fixture
def prometheus() -> Iterator[JsonStub]:
    stub = JsonStub().start()
    yield stub
    stub.stop()


StartOptimizer = Callable[..., Any]


@pytest.fixture
def start_optimizer(tmp_path: Path) -> StartOptimizer:
    """Return ``start(**options)``, an async context manager running one optimizer app."""

    @asynccontextmanager
    async def start(
        rules: str | RuleSet | None = None,
        clock: ManualClock | None = None,
        state: Path | None = None,
        **settings: Any,
    ) -> AsyncIterator[Harness]:
        if isinstance(rules, str):
            rule_set = parse_rules(rules, Path("test-rules.yml"))
        else:
            rule_set = rules or load_rules(DEFAULT_RULES_PATH)
        clock = clock or ManualClock()
        metrics = OptimizerMetrics()
        options: dict[str, Any] = {
            "optimizer_state": state or tmp_path / "optimizer.db",
            "webhook_token": WEBHOOK_TOKEN,
            "control_token": CONTROL_TOKEN,
            "optimizer_action_timeout_seconds": 2.0,
            "optimizer_action_retries": 1,
            **settings,
        }
        app = create_app(Settings(**options), clock=clock, rules=rule_set, metrics=metrics)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://optimizer"
            ) as client,
        ):
            yield Harness(app, client, clock, metrics)

    return start
