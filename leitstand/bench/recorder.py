"""Per-request timings recorded into HDR histograms, per endpoint and per interval.

Every completed request is recorded with three instants on the
``time.perf_counter`` clock: when it was due (its intended start), when it was
sent, and when its response was complete. The response time counts from the
intended start, so a generator that sends late cannot hide the wait. The
service time counts from the actual send. In the closed model a request is due
when it is sent, and both are the same.

A request belongs to the phase in which it was due: before the measured window
it is warm-up and kept apart; inside the window it counts.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from hdrh.histogram import HdrHistogram

from leitstand.bench import histograms

# Values wait in a list and enter the histogram in batches of this many, because a
# batch costs far less per value than HdrHistogram's own record_value.
_BATCH = 16_384


@dataclass
class Timings:
    """One histogram of latencies and its exact extremes, in microseconds."""

    histogram: HdrHistogram = field(default_factory=histograms.new_histogram)
    min_us: int | None = None
    max_us: int | None = None
    pending: list[int] = field(default_factory=list)

    def add(self, value_us: int) -> None:
        self.pending.append(value_us)
        if len(self.pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        low = min(max(min(self.pending), 0), histograms.HIGHEST_US)
        high = min(max(max(self.pending), 0), histograms.HIGHEST_US)
        self.min_us = low if self.min_us is None else min(self.min_us, low)
        self.max_us = high if self.max_us is None else max(self.max_us, high)
        histograms.record_many(self.histogram, self.pending)
        self.pending = []

    def to_dict(self) -> dict[str, Any]:
        self.flush()
        return {
            "histogram": histograms.encode(self.histogram),
            "min_us": self.min_us,
            "max_us": self.max_us,
        }


@dataclass
class EndpointTimings:
    """Everything recorded for one endpoint in one phase."""

    response: Timings = field(default_factory=Timings)
    service: Timings = field(default_factory=Timings)
    count: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "errors": dict(self.errors),
            "response": self.response.to_dict(),
            "service": self.service.to_dict(),
        }


@dataclass
class Interval:
    """Completions within one interval of the measured window, across endpoints."""

    response: Timings = field(default_factory=Timings)
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def to_dict(self, index: int, interval_s: float) -> dict[str, Any]:
        return {
            "start_s": round(index * interval_s, 6),
            "counts": dict(self.counts),
            "errors": dict(self.errors),
            "response": self.response.to_dict()["histogram"],
        }


class Recorder:
    """Collect the timings of one run; fed by Locust's ``request`` event."""

    def __init__(
        self,
        interval_s: float = 1.0,
        requests: int | None = None,
        on_requests_done: Callable[[], None] | None = None,
        samples: IO[str] | None = None,
    ) -> None:
        self.interval_s = interval_s
        self.requests = requests
        self.on_requests_done = on_requests_done
        self.measure_start: float | None = None
        self.measure_end: float | None = None
        self.warmup: dict[str, EndpointTimings] = {}
        self.measured: dict[str, EndpointTimings] = {}
        self.intervals: dict[int, Interval] = {}
        self.send_lag = Timings()
        self.measured_count = 0
        self.after_window = 0
        self._samples = csv.writer(samples) if samples is not None else None
        if self._samples is not None:
            self._samples.writerow(
                ["phase", "endpoint", "intended_s", "sent_s", "response_us", "service_us", "error"]
            )

    def start_window(self, now: float) -> None:
        self.measure_start = now

    def close_window(self, now: float) -> None:
        if self.measure_end is None:
            self.measure_end = now

    def record(
        self, name: str, intended: float, sent: float, completed: float, error: str | None
    ) -> None:
        """Record one completed request (``error`` names the failure, or is None)."""
        # Whole microseconds, rounded; record_many clamps them into the histogram's range.
        response_us = int((completed - intended) * 1_000_000 + 0.5)
        service_us = int((completed - sent) * 1_000_000 + 0.5)

        if self.measure_start is None or intended < self.measure_start:
            phase = "warmup"
            table = self.warmup
        elif (self.measure_end is not None and intended >= self.measure_end) or (
            self.requests is not None and self.measured_count >= self.requests
        ):
            # Due after the window closed, or past the requested count: not measured.
            self.after_window += 1
            return
        else:
            phase = "measured"
            table = self.measured

        timings = table.get(name)
        if timings is None:
            timings = table[name] = EndpointTimings()
        timings.count += 1
        timings.response.add(response_us)
        timings.service.add(service_us)
        if error is not None:
            timings.errors[error] += 1

        if self._samples is not None:
            origin = self.measure_start if self.measure_start is not None else intended
            self._samples.writerow(
                [
                    phase,
                    name,
                    f"{intended - origin:.6f}",
                    f"{sent - origin:.6f}",
                    response_us,
                    service_us,
                    error or "",
                ]
            )
        if phase == "warmup" or self.measure_start is None:
            return

        self.send_lag.add(int((sent - intended) * 1_000_000 + 0.5))
        index = int((completed - self.measure_start) / self.interval_s)
        interval = self.intervals.get(index)
        if interval is None:
            interval = self.intervals[index] = Interval()
        interval.counts[name] += 1
        interval.response.add(response_us)
        if error is not None:
            interval.errors[name] += 1

        self.measured_count += 1
        if self.requests is not None and self.measured_count == self.requests:
            self.close_window(completed)
            if self.on_requests_done is not None:
                self.on_requests_done()

    def to_dict(self) -> dict[str, Any]:
        return {
            "interval_s": self.interval_s,
            "measured": {name: t.to_dict() for name, t in sorted(self.measured.items())},
            "warmup": {name: t.to_dict() for name, t in sorted(self.warmup.items())},
            "intervals": [
                self.intervals[i].to_dict(i, self.interval_s) for i in sorted(self.intervals)
            ],
            "send_lag": self.send_lag.to_dict(),
            "after_window": self.after_window,
        }
