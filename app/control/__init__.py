"""The control API: the knobs the optimizer (or an operator) may turn on a running app.

``install_control`` adds the ``/control`` endpoints, load shedding, fault
injection and the background revert of expired changes to an app. Every knob's
value lives in the shared state, so a change applies to every worker process.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from prometheus_client import CollectorRegistry

from app.api.errors import validation_error_response
from app.cache import CacheRegistry
from app.control.access import ControlAccess
from app.control.catalog import build_knobs
from app.control.changes import ChangeLog
from app.control.controller import Controller
from app.control.degraded import degradable, is_degraded
from app.control.expiry import ExpiryWatcher
from app.control.faults import FaultInjection, fault_point
from app.control.metrics import ControlCollector
from app.control.routes import control_router
from app.control.shedding import LoadShedding
from app.settings import Settings
from app.shared_state import SharedState

__all__ = [
    "ControlCollector",
    "Controller",
    "degradable",
    "fault_point",
    "install_control",
    "is_degraded",
]


def install_control(
    app: FastAPI,
    settings: Settings,
    *,
    state: SharedState | None = None,
    caches: CacheRegistry | None = None,
    registry: CollectorRegistry | None = None,
) -> Controller:
    """Add the control API and its middleware to ``app``; return its controller.

    ``state`` defaults to the instance's shared state file (``Settings.state_path``),
    or a temporary one. ``caches`` adds the cache knobs and cache clearing.
    ``registry`` gets the collector of the control metrics; it defaults to the
    registry that ``install_metrics`` left in ``app.state.metrics_registry``.
    """
    if registry is None:
        registry = getattr(app.state, "metrics_registry", None)
    if state is None:
        state = SharedState(settings.state_path) if settings.state_path else SharedState.temporary()
    knobs = build_knobs(settings, state, caches)
    controller = Controller(state, knobs, ChangeLog.beside(settings.state_path))
    clear_caches = caches.clear if caches is not None else None
    app.include_router(control_router(controller, ControlAccess(settings), clear_caches))
    # A knob value of NaN must get a 422, whichever app the control API is part of.
    app.add_exception_handler(RequestValidationError, validation_error_response)
    if registry is not None:
        cache_names = caches.names() if caches is not None else []
        actions = [f"cache.{name}.clear" for name in cache_names]
        registry.register(ControlCollector(controller, actions))

    # Starlette runs the middleware added last first: fault injection runs inside shedding,
    # so a shed request never reaches a drill's fault.
    if settings.fault_injection:
        app.add_middleware(FaultInjection, state=state, routes=settings.fault_routes)
    app.add_middleware(LoadShedding, state=state)
    app.add_middleware(ExpiryWatcher, controller=controller)

    app.state.control = controller
    return controller
