"""The open load model: requests sent on a fixed schedule, whatever the responses do.

A scheduler greenlet walks a precomputed sequence of intended start times and
spawns one greenlet per request when its time comes, so a slow or stalled
response never delays the next send. Each request carries its intended start
in Locust's request context; the recorder measures its response time from
there.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import gevent
from gevent.pool import Group

from leitstand.bench.spec import Arrival
from locustfiles.endpoints import Endpoint, HttpClient, SeedSizes


def intended_starts(
    start: float, rate: float, arrival: Arrival, rng: random.Random
) -> Iterator[float]:
    """Yield intended start times from ``start`` at ``rate`` requests per second.

    ``constant`` spaces them evenly; ``poisson`` draws exponential gaps with the
    same mean, as independent users arriving at random would.
    """
    interval = 1.0 / rate
    k = 0
    moment = start
    while True:
        if arrival == "constant":
            yield start + k * interval
            k += 1
        else:
            yield moment
            moment += rng.expovariate(rate)


@dataclass
class ScheduleOutcome:
    """Counts of a schedule's sends per phase, and the peak of requests in flight."""

    warmup_sends: int = 0
    measured_sends: int = 0
    peak_in_flight: int = 0


class OpenModelSender:
    """Send requests to a mix of endpoints on a schedule of intended start times."""

    def __init__(
        self,
        client: HttpClient,
        endpoints: Sequence[Endpoint],
        weights: Sequence[int],
        rng: random.Random,
        sizes: SeedSizes,
    ) -> None:
        self.client = client
        self.endpoints = list(endpoints)
        self.cum_weights = list(accumulate(weights))
        self.rng = rng
        self.sizes = sizes
        self.in_flight = Group()

    def run(
        self,
        starts: Iterator[float],
        window_start: float,
        window_end: float,
        requests: int | None,
        outcome: ScheduleOutcome,
    ) -> None:
        """Send until ``window_end`` or until ``requests`` sends fall in the window."""
        for intended in starts:
            if intended >= window_end:
                return
            if intended >= window_start:
                if requests is not None and outcome.measured_sends >= requests:
                    return
                outcome.measured_sends += 1
            else:
                outcome.warmup_sends += 1

            delay = intended - time.perf_counter()
            if delay > 0:
                gevent.sleep(delay)
            endpoint = self.rng.choices(self.endpoints, cum_weights=self.cum_weights)[0]
            self.in_flight.spawn(self._send, endpoint, intended)
            outcome.peak_in_flight = max(outcome.peak_in_flight, len(self.in_flight))

    def _send(self, endpoint: Endpoint, intended: float) -> Any:
        return endpoint.send(self.client, self.rng, self.sizes, context={"intended": intended})

    def drain(self, timeout: float) -> int:
        """Wait for requests still in flight; return how many were still open at the timeout."""
        self.in_flight.join(timeout=timeout)
        left = len(self.in_flight)
        self.in_flight.kill(block=False)
        return left
