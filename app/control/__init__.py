"""The control API: the knobs the optimizer (or an operator) may turn on a running app.

``install_control`` adds the ``/control`` endpoints, load shedding, fault
injection and the background revert of expired changes to an app. Every knob's
value lives in the shared state, so a change applies to every worker process.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.control.access import ControlAccess
from app.control.changes import ChangeLog
from app.control.controller import Controller
from app.control.expiry import ExpiryWatcher
from app.control.faults import FaultInjection, fault_point
from app.control.knobs import (
    DEGRADED,
    FAULT_ERROR_RATIO,
    FAULT_LATENCY_BOUNDS,
    FAULT_LATENCY_SECONDS,
    SHED_BOUNDS,
    SHED_MAX_IN_FLIGHT,
    Knob,
    state_knob,
)
from app.control.metrics import ControlCollector
from app.control.routes import control_router
from app.control.shedding import LoadShedding
from app.settings import Settings
from app.shared_state import SharedState

__all__ = ["ControlCollector", "Controller", "fault_point", "install_control", "is_degraded"]


def is_degraded(state: SharedState) -> bool:
    """Return whether expensive endpoints must serve cached results only (one mmap read)."""
    return state.get(DEGRADED) >= 1


def build_knobs(settings: Settings, state: SharedState) -> list[Knob]:
    """Build the knobs that live in the shared state, creating their values on first use."""
    knobs = [
        state_knob(
            state,
            SHED_MAX_IN_FLIGHT,
            "requests in flight per worker before new ones get 503; 0 turns shedding off",
            SHED_BOUNDS,
            0,
            integral=True,
        ),
        state_knob(
            state,
            DEGRADED,
            "1: the forecast serves its last cached result or 503 instead of computing",
            (0, 1),
            0,
            integral=True,
        ),
    ]
    if settings.fault_injection:
        knobs += [
            state_knob(
                state,
                FAULT_LATENCY_SECONDS,
                "latency added to the computation of the fault routes (drills only)",
                FAULT_LATENCY_BOUNDS,
                0,
                integral=False,
            ),
            state_knob(
                state,
                FAULT_ERROR_RATIO,
                "share of requests to the fault routes that get 500 (drills only)",
                (0, 1),
                0,
                integral=False,
            ),
        ]
    return knobs


def install_control(app: FastAPI, settings: Settings, state: SharedState) -> Controller:
    """Add the control API and its middleware to ``app``; return its controller."""
    controller = Controller(
        state, build_knobs(settings, state), ChangeLog.beside(settings.state_path)
    )
    app.include_router(control_router(controller, ControlAccess(settings)))

    # Starlette runs the middleware added last first: fault injection runs inside shedding,
    # so a shed request never reaches a drill's fault.
    if settings.fault_injection:
        app.add_middleware(FaultInjection, state=state, routes=settings.fault_routes)
    app.add_middleware(LoadShedding, state=state)
    app.add_middleware(ExpiryWatcher, controller=controller)

    app.state.control = controller
    return controller
