"""The optimizer's FastAPI application and the start and stop of its parts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from optimizer.alertmanager import AlertmanagerClient
from optimizer.clock import Clock, SystemClock
from optimizer.control import ControlClient
from optimizer.engine import Optimizer
from optimizer.guards import Guards
from optimizer.metrics import OptimizerMetrics
from optimizer.prometheus import PrometheusClient
from optimizer.routes import router
from optimizer.rules import RuleSet, load_rules
from optimizer.runner import ActionRunner
from optimizer.settings import Settings
from optimizer.store import AuditStore
from optimizer.tokens import resolve_token

logger = logging.getLogger("leitstand.optimizer")

# How long running actions get to finish when the optimizer stops.
SHUTDOWN_GRACE_SECONDS = 5.0


@dataclass(slots=True)
class Context:
    """Shared objects of the routes, kept on ``app.state.context`` while the app runs."""

    settings: Settings
    clock: Clock
    metrics: OptimizerMetrics
    optimizer: Optimizer
    webhook_token: SecretStr


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    rules: RuleSet | None = None,
    metrics: OptimizerMetrics | None = None,
) -> FastAPI:
    """Build the optimizer app; its parts start with the app's lifespan and stop with it.

    ``rules`` skips reading ``settings.optimizer_rules`` (the CLI validates the file
    before the server starts). ``clock`` lets tests move time by hand.
    """
    settings = settings or Settings()
    clock = clock or SystemClock()
    metrics = metrics or OptimizerMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _running(settings, clock, metrics, rules) as context:
            app.state.context = context
            yield

    application = FastAPI(title="Leitstand optimizer", version="0.1.0", lifespan=lifespan)
    application.include_router(router)
    return application


@asynccontextmanager
async def _running(
    settings: Settings, clock: Clock, metrics: OptimizerMetrics, rules: RuleSet | None
) -> AsyncIterator[Context]:
    rules = rules or load_rules(settings.optimizer_rules)
    webhook_token = resolve_token(
        "LEITSTAND_WEBHOOK_TOKEN",
        settings.webhook_token,
        settings.webhook_token_file,
        settings.state_dir / "webhook.token",
    )
    control_token = resolve_token(
        "LEITSTAND_CONTROL_TOKEN",
        settings.control_token,
        settings.control_token_file,
        settings.state_dir / "control.token",
    )
    metrics.dry_run.set(1 if settings.optimizer_dry_run else 0)
    metrics.start_rules((rule.name, rule.action.kind) for rule in rules.rules)

    # One connection pool for the app, Prometheus and Alertmanager; the control client
    # sets its own timeout on each request.
    http = httpx.AsyncClient(timeout=settings.optimizer_prometheus_timeout_seconds, trust_env=False)
    store = AuditStore(settings.optimizer_state)
    try:
        await store.open()
        prometheus = (
            None
            if settings.prometheus_url is None
            else PrometheusClient(
                http, settings.prometheus_url, clock, settings.optimizer_targets_cache_seconds
            )
        )
        own_url = settings.optimizer_external_url or (
            f"http://{settings.optimizer_host}:{settings.optimizer_port}"
        )
        alertmanager = (
            None
            if settings.alertmanager_url is None
            else AlertmanagerClient(http, settings.alertmanager_url, f"{own_url}/decisions")
        )
        guards = Guards(rules)
        runner = ActionRunner(
            control=ControlClient(
                http,
                control_token.get_secret_value(),
                timeout_seconds=settings.optimizer_action_timeout_seconds,
                retries=settings.optimizer_action_retries,
            ),
            prometheus=prometheus,
            alertmanager=alertmanager,
            store=store,
            guards=guards,
            clock=clock,
            metrics=metrics,
            max_concurrent_actions=settings.optimizer_max_concurrent_actions,
        )
        optimizer = Optimizer(
            rules=rules,
            store=store,
            guards=guards,
            runner=runner,
            prometheus=prometheus,
            allowed_targets=settings.allowed_targets,
            clock=clock,
            metrics=metrics,
            dry_run=settings.optimizer_dry_run,
        )
        await optimizer.load_history()
        logger.info(
            "optimizer ready: %d rules from %s, audit in %s%s",
            len(rules.rules),
            settings.optimizer_rules,
            settings.optimizer_state,
            ", dry run (the app is never called)" if settings.optimizer_dry_run else "",
        )
        if prometheus is None:
            logger.warning(
                "no Prometheus URL: actions are not verified, alerts without an instance "
                "label cannot be acted on, and instances are checked against "
                "LEITSTAND_OPTIMIZER_ALLOWED_TARGETS (%s); set --prometheus-url",
                settings.allowed_targets.describe(),
            )
        yield Context(settings, clock, metrics, optimizer, webhook_token)
        await runner.stop(SHUTDOWN_GRACE_SECONDS)
    finally:
        await store.close()
        await http.aclose()
