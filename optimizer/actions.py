"""The actions a rule can take, all with the same interface.

Each action class is also the schema of its ``action:`` block in the rules file.
``knob(labels)`` names what the action changes on a target (for conflict checks),
``describe(labels)`` describes what it would do, and ``apply`` does it through the
control API and returns the change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from optimizer.control import ControlClient
from optimizer.templates import render, template_labels

# The knobs of the control API; a template such as {{ $labels.cache }} stands for one segment.
_KNOB = re.compile(
    r"^(?:cache\.(?:[a-z0-9_]+|\{\{[^}]*\}\})\.(?:capacity|ttl_seconds)"
    r"|shed\.max_in_flight|degraded|workers|fault\.(?:latency_seconds|error_ratio))$"
)
_KNOB_LIST = (
    "cache.<name>.capacity, cache.<name>.ttl_seconds, shed.max_in_flight, degraded, "
    "workers, fault.latency_seconds, fault.error_ratio"
)


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One action to run on one target, with the text the app records as its reason."""

    instance: str
    labels: Mapping[str, str]
    reason: str
    ttl_seconds: float | None


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """The change an action made; a revert on resolved undoes ``change_id``."""

    knob: str
    change_id: str | None = None
    value: float | None = None
    previous: float | None = None
    expires_at: datetime | None = None


class BoundReachedError(Exception):
    """The knob already sits at the bound the rule allows, so the action cannot help."""


def _check_knob(knob: str) -> str:
    template_labels(knob)
    if not _KNOB.match(knob):
        raise ValueError(f"unknown knob {knob!r}; the control API has {_KNOB_LIST}")
    return knob


class _KnobAction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    knob: str

    @field_validator("knob")
    @classmethod
    def _validate_knob(cls, knob: str) -> str:
        return _check_knob(knob)

    def knob_for(self, labels: Mapping[str, str]) -> str:
        return render(self.knob, labels) if "{{" in self.knob else self.knob


class SetKnob(_KnobAction):
    """Set a knob to a fixed value, e.g. ``degraded`` to 1."""

    kind: Literal["set"]
    value: float

    def describe(self, labels: Mapping[str, str]) -> str:
        return f"set {self.knob_for(labels)} to {self.value:g}"

    async def apply(self, control: ControlClient, request: ActionRequest) -> ActionOutcome:
        knob = self.knob_for(request.labels)
        change = await control.set_knob(
            request.instance, knob, self.value, request.reason, request.ttl_seconds
        )
        return ActionOutcome(
            knob, change.change_id, change.value, change.previous, change.expires_at
        )


class MultiplyKnob(_KnobAction):
    """Multiply a knob's current value by ``factor``, clamped to ``min`` and ``max``."""

    kind: Literal["multiply"]
    factor: float = Field(gt=0)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check_bounds(self) -> MultiplyKnob:
        if self.factor == 1:
            raise ValueError("factor 1 changes nothing; use a factor above or below 1")
        if self.factor > 1 and self.max is None:
            raise ValueError("a factor above 1 needs a max, the bound the knob may grow to")
        if self.factor < 1 and self.min is None:
            raise ValueError("a factor below 1 needs a min, the bound the knob may shrink to")
        return self

    def describe(self, labels: Mapping[str, str]) -> str:
        bound = f"up to {self.max:g}" if self.factor > 1 else f"down to {self.min:g}"
        return f"multiply {self.knob_for(labels)} by {self.factor:g}, {bound}"

    async def apply(self, control: ControlClient, request: ActionRequest) -> ActionOutcome:
        knob = self.knob_for(request.labels)
        current = await control.knob_value(request.instance, knob)
        wanted = _clamp(current * self.factor, self.min, self.max)
        if current.is_integer():
            wanted = float(round(wanted))
        return await _change(control, request, knob, current, wanted)


class AddToKnob(_KnobAction):
    """Add ``amount`` (negative to subtract) to a knob, clamped to ``min`` and ``max``."""

    kind: Literal["add"]
    amount: float
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check_bounds(self) -> AddToKnob:
        if self.amount == 0:
            raise ValueError("amount 0 changes nothing")
        if self.amount > 0 and self.max is None:
            raise ValueError("a positive amount needs a max, the bound the knob may grow to")
        if self.amount < 0 and self.min is None:
            raise ValueError("a negative amount needs a min, the bound the knob may shrink to")
        return self

    def describe(self, labels: Mapping[str, str]) -> str:
        bound = f"up to {self.max:g}" if self.amount > 0 else f"down to {self.min:g}"
        return f"add {self.amount:g} to {self.knob_for(labels)}, {bound}"

    async def apply(self, control: ControlClient, request: ActionRequest) -> ActionOutcome:
        knob = self.knob_for(request.labels)
        current = await control.knob_value(request.instance, knob)
        wanted = _clamp(current + self.amount, self.min, self.max)
        return await _change(control, request, knob, current, wanted)


class ClearCache(BaseModel):
    """Empty one cache (or all caches when ``cache`` is null) in every worker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["clear_cache"]
    cache: str | None = None

    @field_validator("cache")
    @classmethod
    def _check_cache(cls, cache: str | None) -> str | None:
        if cache is not None:
            template_labels(cache)
        return cache

    def knob_for(self, labels: Mapping[str, str]) -> str:
        return "cache.*" if self.cache is None else f"cache.{render(self.cache, labels)}"

    def describe(self, labels: Mapping[str, str]) -> str:
        return "clear every cache" if self.cache is None else f"clear {self.knob_for(labels)}"

    async def apply(self, control: ControlClient, request: ActionRequest) -> ActionOutcome:
        cache = None if self.cache is None else render(self.cache, request.labels)
        await control.clear_cache(request.instance, cache, request.reason)
        return ActionOutcome(self.knob_for(request.labels))


Action = Annotated[SetKnob | MultiplyKnob | AddToKnob | ClearCache, Field(discriminator="kind")]


def _clamp(value: float, low: float | None, high: float | None) -> float:
    if high is not None:
        value = min(value, high)
    if low is not None:
        value = max(value, low)
    return value


async def _change(
    control: ControlClient, request: ActionRequest, knob: str, current: float, wanted: float
) -> ActionOutcome:
    if wanted == current:
        raise BoundReachedError(
            f"{knob} is {current:g} on {request.instance}, already at its bound"
        )
    change = await control.set_knob(
        request.instance, knob, wanted, request.reason, request.ttl_seconds
    )
    return ActionOutcome(knob, change.change_id, change.value, change.previous, change.expires_at)
