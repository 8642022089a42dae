"""What one benchmark run does: the load model, its phases and its limits.

The parent process builds a :class:`RunSpec` from the command line, checks it,
and hands it to the Locust process as JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

LoadModel = Literal["closed", "open"]
Arrival = Literal["constant", "poisson"]

# Default length of the measured window when neither --duration nor --requests is given.
DEFAULT_DURATION_S = 30.0
# Upper bound on a --requests run that reaches its count too slowly.
DEFAULT_MAX_DURATION_S = 600.0


class SpecError(ValueError):
    """A run that cannot give valid figures as configured; the message names the fix."""


@dataclass
class RunSpec:
    """One run of the load generator.

    Timeline: users are spawned (closed model only), then ``warmup_s`` seconds
    pass, then the measured window runs for ``duration_s`` seconds or until
    ``requests`` requests have completed. Requests sent before the window are
    recorded apart as warm-up and never count in the results.
    """

    url: str
    endpoints: list[str] = field(default_factory=list)
    model: LoadModel = "closed"
    users: int = 10
    spawn_rate: float = 10.0
    # Target request rate of the whole run in requests per second. The closed model
    # paces each user at rate / users, and the open model sends on this schedule.
    rate: float | None = None
    arrival: Arrival = "constant"
    warmup_s: float = 0.0
    duration_s: float | None = None
    requests: int | None = None
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    interval_s: float = 1.0
    timeout_s: float = 30.0
    max_in_flight: int = 1000
    rate_tolerance: float = 0.05
    max_send_lag_s: float = 0.010
    generator_cpu: int | None = None
    record: bool = True
    samples_path: str | None = None
    seed: int | None = None

    @property
    def spawn_s(self) -> float:
        """Seconds until every user of a closed-model run is running."""
        if self.model == "open":
            return 0.0
        return self.users / self.spawn_rate

    @property
    def window_s(self) -> float:
        """Length of the measured window, or its upper bound for a ``requests`` run."""
        if self.duration_s is not None:
            return self.duration_s
        if self.requests is not None:
            return self.max_duration_s
        return DEFAULT_DURATION_S

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


def check_spec(spec: RunSpec, run_time_s: float | None = None) -> RunSpec:
    """Validate ``spec``; with ``run_time_s`` (Locust's total run time), derive the window.

    Raise :class:`SpecError` for a run whose figures could not be trusted, such
    as a ramp that never ends before the run does.
    """
    if not spec.url.startswith(("http://", "https://")):
        raise SpecError(f"--url {spec.url!r} must start with http:// or https://")
    if spec.users < 1:
        raise SpecError(f"--users {spec.users} must be at least 1")
    if spec.spawn_rate <= 0:
        raise SpecError(f"--spawn-rate {spec.spawn_rate} must be above 0")
    if spec.rate is not None and spec.rate <= 0:
        raise SpecError(f"--rate {spec.rate} must be above 0 requests per second")
    if spec.model == "open" and spec.rate is None:
        raise SpecError("the open model needs a target rate: add --rate REQUESTS_PER_SECOND")
    if spec.warmup_s < 0:
        raise SpecError(f"--warmup {spec.warmup_s} must not be negative")
    if spec.requests is not None and spec.requests < 1:
        raise SpecError(f"--requests {spec.requests} must be at least 1")
    if spec.duration_s is not None and spec.duration_s <= 0:
        raise SpecError(f"--duration {spec.duration_s} must be above 0 seconds")
    if spec.interval_s <= 0:
        raise SpecError(f"--interval {spec.interval_s} must be above 0 seconds")

    if run_time_s is not None:
        spec.duration_s = _window_within(spec, run_time_s)
    return spec


def _window_within(spec: RunSpec, run_time_s: float) -> float:
    # Locust's --run-time includes the ramp. A window that the ramp and the warm-up
    # eat up entirely (or nearly) would report figures from a system still filling up.
    ramp_s = spec.spawn_s + spec.warmup_s
    window_s = run_time_s - ramp_s
    minimum_s = max(spec.interval_s * 5, 0.25 * run_time_s)
    if window_s >= minimum_s:
        return window_s

    fixes = []
    spawn_budget_s = run_time_s - spec.warmup_s - minimum_s
    if spec.model == "closed" and spawn_budget_s > 0:
        needed_spawn_rate = math.ceil(10 * spec.users / spawn_budget_s) / 10
        fixes.append(f"raise --spawn-rate to {needed_spawn_rate:g}/s")
    needed_run_time_s = max(ramp_s + spec.interval_s * 5, ramp_s / 0.75)
    fixes.append(f"raise --run-time to {math.ceil(needed_run_time_s):g} s")
    fixes.append("give --duration for the measured window alone")
    raise SpecError(
        f"steady state is never reached: {spec.users} users at {spec.spawn_rate:g}/s take "
        f"{spec.spawn_s:g} s to spawn and the warm-up {spec.warmup_s:g} s, which leaves "
        f"{max(window_s, 0):g} s of the {run_time_s:g} s run time to measure "
        f"(at least {minimum_s:g} s needed); " + ", or ".join(fixes)
    )
