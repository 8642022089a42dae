"""Wire the metrics into an app: the ``/metrics`` route and the HTTP middleware."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client.registry import Collector
from starlette.types import ASGIApp

from app.metrics.database import instrument_engine
from app.metrics.exposition import metrics_endpoint, scrape_registry
from app.metrics.http import HttpMetricsMiddleware
from app.metrics.routes import RouteTemplates
from app.settings import Settings


def install_metrics(app: FastAPI, settings: Settings) -> None:
    """Serve ``/metrics`` and, unless ``settings.metrics_enabled`` is off, instrument requests.

    ``/metrics`` stays available with instrumentation off, so that Prometheus
    keeps its target while the cost of instrumentation is measured. Database
    engines are instrumented through ``app.state.engine_hooks``, which the
    lifespan calls with each worker's engine.
    """
    registry = app.state.metrics_registry = scrape_registry(settings)
    app.add_route("/metrics", metrics_endpoint(registry), include_in_schema=False)
    if not settings.metrics_enabled:
        return
    engine_hooks = getattr(app.state, "engine_hooks", None)
    if engine_hooks is not None:
        engine_hooks.append(instrument_engine)

    # Outside every other middleware, including Starlette's error handling, so
    # the middleware sees each status code exactly as the server sends it.
    routes = RouteTemplates(app)
    build_middleware_stack = app.build_middleware_stack

    def build_instrumented_stack() -> ASGIApp:
        return HttpMetricsMiddleware(build_middleware_stack(), routes)

    app.build_middleware_stack = build_instrumented_stack  # type: ignore[method-assign]


def register_collector(app: FastAPI, collector: Collector) -> None:
    """Add a custom collector to what ``/metrics`` of ``app`` serves.

    For values computed at scrape time from state every worker shares (the
    shared state file, a database): in multiprocess mode, collectors on
    prometheus_client's default registry are not served.
    """
    registry = getattr(app.state, "metrics_registry", None)
    if registry is None:
        raise RuntimeError("call install_metrics(app, settings) before register_collector")
    registry.register(collector)
