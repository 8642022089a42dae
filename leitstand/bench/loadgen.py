"""The Locust side of a run: spawn users or follow the send schedule, record, report.

Runs inside the generator process only (see :mod:`leitstand.bench.generator`).
It reads a :class:`~leitstand.bench.spec.RunSpec` from a JSON file, prints
progress as JSON lines on stdout, and writes the raw result (encoded
histograms, phases, generator figures) to a JSON file for the parent to turn
into a report.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import gevent
import gevent.event
import psutil
from locust import User, constant, constant_throughput
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment
from locust.runners import LocalRunner

from leitstand.bench.loopbusy import LoopBusyMeter
from leitstand.bench.openmodel import OpenModelSender, ScheduleOutcome, intended_starts
from leitstand.bench.recorder import Recorder
from leitstand.bench.spec import RunSpec
from locustfiles.endpoints import ENDPOINTS, ERP_MIX, Endpoint, SeedSizes, resolve
from locustfiles.erp import ErpUser
from locustfiles.focused import USER_CLASSES, FocusedUser

logger = logging.getLogger("leitstand.bench.loadgen")

PROGRESS_EVERY_S = 0.5


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m leitstand.bench.generator SPEC.json RESULT.json", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    spec = RunSpec.from_json(Path(argv[0]).read_text())
    if spec.generator_cpu is not None:
        os.sched_setaffinity(0, {spec.generator_cpu})
    result = LoadRun(spec).run()
    Path(argv[1]).write_text(json.dumps(result))
    return 0


def _describe_error(exception: BaseException, response: Any) -> str:
    status = getattr(response, "status_code", 0) or 0
    if status >= 400:
        return f"HTTP {status}"
    return type(exception).__name__


def _utc(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat()


def _endpoints(spec: RunSpec) -> tuple[list[Endpoint], list[int]]:
    """Return the run's endpoints and their request shares."""
    if not spec.endpoints:
        return [ENDPOINTS[key] for key in ERP_MIX], list(ERP_MIX.values())
    return [resolve(name) for name in spec.endpoints], [1] * len(spec.endpoints)


def _user_classes(spec: RunSpec) -> list[type[User]]:
    """Subclass the locustfile users with this run's host, timeouts and pacing."""
    if spec.rate is not None:
        wait_time = constant_throughput(spec.rate / spec.users)
    else:
        wait_time = constant(0)
    attributes: dict[str, Any] = {
        "host": spec.url,
        "wait_time": wait_time,
        "network_timeout": spec.timeout_s,
        "connection_timeout": spec.timeout_s,
    }
    if not spec.endpoints:
        return [type("ErpUser", (ErpUser,), attributes)]

    classes: list[type[User]] = []
    for name in spec.endpoints:
        endpoint = resolve(name)
        base = USER_CLASSES.get(endpoint.key, FocusedUser)
        class_name = base.__name__ if base is not FocusedUser else f"PathUser{len(classes)}"
        classes.append(type(class_name, (base,), {**attributes, "endpoint": endpoint}))
    return classes


class LoadRun:
    """One run of the generator, closed or open model."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.done = gevent.event.Event()
        self.spawned = gevent.event.Event()
        self.phase = "starting"
        self.process = psutil.Process()

        self._samples_file: IO[str] | None = None
        if spec.samples_path is not None:
            self._samples_file = open(spec.samples_path, "w", newline="")  # noqa: SIM115
        self.recorder = Recorder(
            interval_s=spec.interval_s,
            requests=spec.requests,
            on_requests_done=self.done.set,
            samples=self._samples_file,
        )

        user_classes = _user_classes(spec) if spec.model == "closed" else []
        self.env = Environment(
            user_classes=user_classes, host=spec.url, stop_timeout=spec.timeout_s
        )
        self.runner: LocalRunner = self.env.create_local_runner()
        # Locust's EventHook.add_listener carries no type hints.
        events = self.env.events
        events.spawning_complete.add_listener(lambda user_count: self.spawned.set())  # type: ignore[no-untyped-call]
        if spec.record:
            events.request.add_listener(self._on_request)  # type: ignore[no-untyped-call]

        self.busy = LoopBusyMeter(gevent.get_hub().loop)
        self.outcome = ScheduleOutcome()
        self.times: dict[str, float] = {}
        self._keys: dict[tuple[str, str], str] = {}
        # Snapshots at the window's start and end, taken by _start_window and _close_window.
        self.cpu_start: Any = None
        self.cpu_end: Any = None
        self.locust_window_start = 0
        self.locust_window_end = 0
        self._wall_origin = time.time()
        self._perf_origin = time.perf_counter()

    def _on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        response: Any = None,
        context: dict[str, Any] | None = None,
        exception: BaseException | None = None,
        **kwargs: Any,
    ) -> None:
        # Locust measures response_time in milliseconds (a float, unrounded) from the
        # actual send; the listener runs as the response completes.
        completed = time.perf_counter()
        sent = completed - response_time / 1000.0
        intended = sent
        if context:
            intended = context.get("intended", sent)
        error = None if exception is None else _describe_error(exception, response)
        # Keyed by method and route as Locust's statistics are: GET and POST of one
        # route are different endpoints.
        key = self._keys.get((request_type, name))
        if key is None:
            key = self._keys[(request_type, name)] = f"{request_type} {name}"
        self.recorder.record(key, intended, sent, completed, error)

    def run(self) -> dict[str, Any]:
        progress = gevent.spawn(self._report_progress)
        try:
            if self.spec.model == "open":
                self._run_open()
            else:
                self._run_closed()
        finally:
            progress.kill()
            self.runner.quit()
            if self._samples_file is not None:
                self._samples_file.close()
        self._emit({"phase": "done"})
        return self._result()

    def _start_window(self) -> None:
        now = time.perf_counter()
        self.times["window_start"] = now
        self.recorder.start_window(now)
        self.locust_window_start = self.env.stats.total.num_requests
        self.cpu_start = self.process.cpu_times()
        self.busy.start()
        self.phase = "measure"

    def _close_window(self, end: float | None = None) -> None:
        now = time.perf_counter()
        self.busy.stop()
        self.locust_window_end = self.env.stats.total.num_requests
        self.cpu_end = self.process.cpu_times()
        end = now if end is None else end
        self.recorder.close_window(end)
        # A --requests run closes the window at its last counted completion.
        window_end = self.recorder.measure_end if self.recorder.measure_end is not None else end
        self.times["window_end"] = window_end
        self.times["cpu_span"] = now - self.times["window_start"]

    def _run_closed(self) -> None:
        spec = self.spec
        self.times["start"] = time.perf_counter()
        self.phase = "spawn"
        self.runner.start(spec.users, spawn_rate=spec.spawn_rate)
        if not self.spawned.wait(timeout=spec.spawn_s + 30.0):
            raise RuntimeError(
                f"spawning {spec.users} users at {spec.spawn_rate:g}/s did not complete"
            )
        self.times["spawned"] = time.perf_counter()
        self.phase = "warmup"
        gevent.sleep(spec.warmup_s)

        self._start_window()
        self.done.wait(timeout=spec.window_s)
        self._close_window()
        self.phase = "drain"
        # Users finish the task in hand (up to stop_timeout), so requests sent
        # inside the window are recorded before the run ends.
        self.runner.stop()

    def _run_open(self) -> None:
        spec = self.spec
        if spec.rate is None:
            raise ValueError("the open model needs a target rate (RunSpec.rate)")
        endpoints, weights = _endpoints(spec)
        session = FastHttpSession(
            base_url=spec.url,
            request_event=self.env.events.request,
            user=None,
            concurrency=spec.max_in_flight,
            network_timeout=spec.timeout_s,
            connection_timeout=spec.timeout_s,
        )
        rng = random.Random(spec.seed)
        sender = OpenModelSender(session, endpoints, weights, rng, SeedSizes.from_env())

        # A short lead time lets the first sends go out on time.
        start = time.perf_counter() + 0.05
        self.times["start"] = start
        # The window's bounds are computed the way the constant schedule computes
        # its sends, so the send due at the window's start compares equal to it.
        interval = 1.0 / spec.rate
        warmup_sends = math.ceil(spec.warmup_s * spec.rate - 1e-9)
        window_sends = math.ceil(spec.window_s * spec.rate - 1e-9)
        window_start = start + warmup_sends * interval
        window_end = start + (warmup_sends + window_sends) * interval
        starts = intended_starts(start, spec.rate, spec.arrival, rng)
        scheduler = gevent.spawn(
            sender.run, starts, window_start, window_end, spec.requests, self.outcome
        )
        self.phase = "warmup"
        gevent.sleep(max(window_start - time.perf_counter(), 0.0))
        self._start_window()
        scheduler.join()
        scheduled_end = min(window_end, time.perf_counter())
        self._close_window(scheduled_end if spec.requests is None else None)

        self.phase = "drain"
        self.times["unfinished"] = sender.drain(timeout=spec.timeout_s + 1.0)

    def _emit(self, message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def _report_progress(self) -> None:
        last_count = 0
        last_time = time.perf_counter()
        while True:
            gevent.sleep(PROGRESS_EVERY_S)
            now = time.perf_counter()
            count = self.recorder.measured_count if self.spec.record else 0
            elapsed = 0.0
            if "window_start" in self.times:
                elapsed = now - self.times["window_start"]
            self._emit(
                {
                    "phase": self.phase,
                    "elapsed_s": round(elapsed, 3),
                    "window_s": self.spec.duration_s,
                    "requests": count,
                    "target_requests": self.spec.requests,
                    "rate": round((count - last_count) / (now - last_time), 1),
                    "users": self.runner.user_count,
                }
            )
            last_count, last_time = count, now

    def _result(self) -> dict[str, Any]:
        spec = self.spec
        times = self.times
        window_s = times["window_end"] - times["window_start"]
        cpu_s = (self.cpu_end.user - self.cpu_start.user) + (
            self.cpu_end.system - self.cpu_start.system
        )
        total = self.env.stats.total
        result: dict[str, Any] = {
            "spec": json.loads(spec.to_json()),
            "window": {
                "start": _utc(self._to_wall(times["window_start"])),
                "end": _utc(self._to_wall(times["window_end"])),
                "seconds": window_s,
                "spawn_seconds": times.get("spawned", times["start"]) - times["start"],
                "warmup_seconds": times["window_start"] - times.get("spawned", times["start"]),
            },
            "generator": {
                "cpu_percent": 100.0 * cpu_s / times["cpu_span"] if times["cpu_span"] else 0.0,
                "busy_ratio": self.busy.busy_ratio,
                "locust_cpu_warning": self.runner.cpu_warning_emitted,
                "pid": os.getpid(),
                "cpu_affinity": sorted(os.sched_getaffinity(0)),
                "unfinished_requests": int(times.get("unfinished", 0)),
            },
            "schedule": {
                "warmup_sends": self.outcome.warmup_sends,
                "measured_sends": self.outcome.measured_sends,
                "peak_in_flight": self.outcome.peak_in_flight,
            },
            # Locust's own figures (rounded buckets) as a cross-check of the whole run.
            "locust_stats": {
                "requests": total.num_requests,
                "failures": total.num_failures,
                "median_ms": total.median_response_time,
                "p99_ms": total.get_response_time_percentile(0.99),
                # Completions Locust counted while the window was open.
                "window_requests": self.locust_window_end - self.locust_window_start,
            },
            "recorded": self.recorder.to_dict() if spec.record else None,
        }
        return result

    def _to_wall(self, moment: float) -> float:
        """Convert a ``perf_counter`` instant of this run to seconds since the epoch."""
        return self._wall_origin + (moment - self._perf_origin)
