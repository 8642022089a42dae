"""The events of one drill, in the order they were seen, with JSON and Markdown views."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Event kinds of a drill, in the order a healthy loop produces them.
KINDS = (
    "load_started",
    "baseline",
    "drill_started",
    "alert_pending",
    "alert_firing",
    "action_executed",
    "condition_recovered",
    "alert_resolved",
    "change_reverted",
    "drill_ended",
)


@dataclass
class Event:
    """One thing that happened, with the time it was observed."""

    kind: str
    at: datetime
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timeline:
    """The events of one drill and the outcome."""

    events: list[Event] = field(default_factory=list)
    outcome: str = "running"

    def add(self, kind: str, detail: str, **data: Any) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}; expected one of {KINDS}")
        event = Event(kind, datetime.now(UTC), detail, data)
        self.events.append(event)
        return event

    def first(self, kind: str) -> Event | None:
        return next((event for event in self.events if event.kind == kind), None)

    def has(self, kind: str) -> bool:
        return self.first(kind) is not None

    @property
    def start(self) -> datetime:
        return self.events[0].at if self.events else datetime.now(UTC)

    def offset(self, event: Event) -> float:
        """Seconds from the first event to ``event``."""
        return (event.at - self.start).total_seconds()

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "start": self.start.isoformat(),
            "events": [
                {**asdict(event), "at": event.at.isoformat(), "offset_seconds": self.offset(event)}
                for event in self.events
            ],
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    def line(self, event: Event) -> str:
        return f"{self.offset(event):7.1f} s  {event.kind:<20}  {event.detail}"

    def to_markdown(self, plot_name: str | None = None) -> str:
        lines = [
            "# Leitstand closed-loop drill",
            "",
            f"Started {self.start.isoformat(timespec='seconds')}; outcome: **{self.outcome}**.",
            "",
            "| time | event | detail |",
            "| ---: | --- | --- |",
        ]
        lines += [
            f"| {self.offset(event):.1f} s | {event.kind} | {event.detail} |"
            for event in self.events
        ]
        if plot_name:
            lines += ["", f"![latency and request rate during the drill]({plot_name})"]
        return "\n".join(lines) + "\n"
