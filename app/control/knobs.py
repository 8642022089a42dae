"""The knobs of the control API: a name, bounds, a default and how to read and write the value."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from app.shared_state import SharedState

# Knobs whose value is the shared state value of the same name.
SHED_MAX_IN_FLIGHT = "shed.max_in_flight"
DEGRADED = "degraded"
FAULT_LATENCY_SECONDS = "fault.latency_seconds"
FAULT_ERROR_RATIO = "fault.error_ratio"

# The worker count, stored in the supervisor's ``workers.target``.
WORKERS = "workers"

SHED_BOUNDS = (0, 10_000)
FAULT_LATENCY_BOUNDS = (0, 30)


class UnknownKnobError(LookupError):
    """A request named a knob this app does not have."""


class KnobValueError(ValueError):
    """A requested value lies outside a knob's bounds or is not a whole number where one is due."""

    def __init__(self, knob: Knob, value: float, problem: str) -> None:
        super().__init__(
            f"invalid value {value!r} for {knob.name}: {problem}; "
            f"use {'a whole number ' if knob.integral else 'a number '}"
            f"from {knob.format(knob.minimum)} to {knob.format(knob.maximum)}"
        )
        self.knob = knob
        self.value = value


@dataclass(frozen=True, slots=True)
class Knob:
    """One setting the control API may change, with the bounds it enforces for every caller."""

    name: str
    description: str
    minimum: float
    maximum: float
    default: float
    integral: bool
    read: Callable[[], float]
    write: Callable[[float], None]

    def validate(self, value: float) -> float:
        """Return ``value`` if it lies within the bounds; raise ``KnobValueError`` otherwise."""
        if not math.isfinite(value):
            raise KnobValueError(self, value, "not a finite number")
        if self.integral and value != int(value):
            raise KnobValueError(self, value, "not a whole number")
        if not self.minimum <= value <= self.maximum:
            raise KnobValueError(self, value, "out of bounds")
        return float(value)

    def format(self, value: float) -> int | float:
        """Return ``value`` as the JSON number a client expects: an int for whole-number knobs."""
        return int(value) if self.integral else value


def state_knob(
    state: SharedState,
    name: str,
    description: str,
    bounds: tuple[float, float],
    default: float,
    *,
    integral: bool,
) -> Knob:
    """Build a knob whose value is the shared state value of the same name."""
    state.setdefault(name, default)
    return Knob(
        name=name,
        description=description,
        minimum=bounds[0],
        maximum=bounds[1],
        default=default,
        integral=integral,
        read=lambda: state.get(name, default),
        write=lambda value: state.set(name, value),
    )
