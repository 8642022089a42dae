"""The knobs of one app instance: shedding, degraded mode, caches, workers and drill faults."""

from __future__ import annotations

from app.cache import (
    CAPACITY_MAX,
    CAPACITY_MIN,
    TTL_MAX_SECONDS,
    TTL_MIN_SECONDS,
    CacheRegistry,
)
from app.control.knobs import (
    DEGRADED,
    FAULT_ERROR_RATIO,
    FAULT_LATENCY_BOUNDS,
    FAULT_LATENCY_SECONDS,
    SHED_BOUNDS,
    SHED_MAX_IN_FLIGHT,
    WORKERS,
    Knob,
    state_knob,
)
from app.server.scaling import TARGET_WORKERS, request_worker_count
from app.settings import Settings
from app.shared_state import SharedState


def build_knobs(
    settings: Settings, state: SharedState, caches: CacheRegistry | None = None
) -> list[Knob]:
    """Build every knob this instance has, creating their shared state values on first use.

    The worker count is a knob only with a shared state file, which the supervisor
    of ``leitstand serve`` creates before it builds the app. The fault knobs exist
    only with ``LEITSTAND_FAULT_INJECTION=1``.
    """
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
    if caches is not None:
        for name in caches.names():
            knobs += cache_knobs(caches, name)
    if settings.state_path is not None:
        knobs.append(workers_knob(settings, state))
    if settings.fault_injection:
        knobs += fault_knobs(state)
    return knobs


def cache_knobs(caches: CacheRegistry, name: str) -> list[Knob]:
    """Build the capacity and TTL knobs of one named cache; the registry stores the values."""
    cache = caches.get(name)
    described = cache.describe()

    def read_capacity() -> float:
        return float(cache.describe()["capacity"])

    def write_capacity(value: float) -> None:
        caches.set_capacity(name, int(value))

    def read_ttl() -> float:
        return float(cache.describe()["ttl_seconds"])

    def write_ttl(value: float) -> None:
        caches.set_ttl(name, value)

    return [
        Knob(
            name=f"cache.{name}.capacity",
            description=f"maximum entries of the {name} cache per worker",
            minimum=CAPACITY_MIN,
            maximum=CAPACITY_MAX,
            default=described["default_capacity"],
            integral=True,
            read=read_capacity,
            write=write_capacity,
        ),
        Knob(
            name=f"cache.{name}.ttl_seconds",
            description=f"time to live of the {name} cache's entries",
            minimum=TTL_MIN_SECONDS,
            maximum=TTL_MAX_SECONDS,
            default=described["default_ttl_seconds"],
            integral=False,
            read=read_ttl,
            write=write_ttl,
        ),
    ]


def workers_knob(settings: Settings, state: SharedState) -> Knob:
    """Build the worker count knob; the supervisor starts or stops workers to match it."""
    return Knob(
        name=WORKERS,
        description="number of worker processes",
        minimum=settings.workers_min,
        maximum=settings.workers_max,
        default=settings.workers,
        integral=True,
        read=lambda: state.get(TARGET_WORKERS, settings.workers),
        write=lambda value: request_worker_count(state, int(value)),
    )


def fault_knobs(state: SharedState) -> list[Knob]:
    return [
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
