"""Raw generator results built from chosen timings, without running Locust."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from leitstand.bench.recorder import Recorder
from leitstand.bench.spec import RunSpec


def raw_result(
    samples: dict[str, list[float]],
    spec: RunSpec | None = None,
    window_s: float = 10.0,
    cpu_percent: float = 20.0,
    busy_ratio: float = 0.2,
    errors: int = 0,
) -> dict[str, Any]:
    """Return a generator result with ``samples`` (seconds) per endpoint across the window."""
    spec = spec or RunSpec(url="http://127.0.0.1:1", endpoints=list(samples))
    recorder = Recorder(interval_s=spec.interval_s)
    recorder.record("warm", intended=0.0, sent=0.0, completed=0.001, error=None)
    recorder.start_window(1.0)
    for name, latencies in samples.items():
        for i, latency in enumerate(latencies):
            sent = 1.0 + window_s * i / len(latencies)
            error = "HTTP 500" if i < errors else None
            recorder.record(name, intended=sent, sent=sent, completed=sent + latency, error=error)
    recorder.close_window(1.0 + window_s)
    return {
        "spec": json.loads(json.dumps(asdict(spec))),
        "window": {
            "start": "2026-12-04T10:00:00+00:00",
            "end": "2026-12-04T10:00:10+00:00",
            "seconds": window_s,
            "spawn_seconds": 0.0,
            "warmup_seconds": 1.0,
        },
        "generator": {
            "cpu_percent": cpu_percent,
            "busy_ratio": busy_ratio,
            "locust_cpu_warning": False,
            "pid": 1,
            "cpu_affinity": [0],
            "unfinished_requests": 0,
        },
        "schedule": {"warmup_sends": 0, "measured_sends": 0, "peak_in_flight": 0},
        "locust_stats": {
            "requests": 0,
            "failures": 0,
            "median_ms": 0,
            "p99_ms": 0,
            "window_requests": 0,
        },
        "recorded": recorder.to_dict(),
    }
