"""``leitstand bench run`` against a minimal target with routes of known latency."""

from __future__ import annotations

import csv
import json
import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from leitstand.bench import histograms
from leitstand.bench.run import execute
from leitstand.bench.run import main as run_main
from leitstand.bench.spec import LoadModel, RunSpec, check_spec
from tests.bench.conftest import StartTarget
from tests.support.processes import ServerProcess

Target = tuple[str, ServerProcess]


def _raw_samples(path: Path, column: str) -> list[int]:
    with path.open() as file:
        return [int(row[column]) for row in csv.DictReader(file) if row["phase"] == "measured"]


def test_percentiles_match_raw_timings(target: Target, tmp_path: Path) -> None:
    url, _ = target
    samples = tmp_path / "samples.csv"
    spec = check_spec(
        RunSpec(
            url=url,
            endpoints=["/jitter/140/155"],
            users=5,
            spawn_rate=50,
            warmup_s=0,
            requests=50,
            samples_path=str(samples),
        )
    )

    report = execute(spec)

    entry = report["endpoints"]["GET /jitter/140/155"]
    raw = _raw_samples(samples, "service_us")
    assert entry["count"] == 50
    assert len(raw) == 50
    timings = entry["service_time_us"]
    assert timings["p99"] <= timings["max"]
    assert timings["max"] == max(raw)
    for label, percentile in histograms.PERCENTILES.items():
        expected = histograms.rank_percentile(raw, percentile)
        assert timings[label] == pytest.approx(expected, rel=0.01), label
    # The server sleeps at least 140 ms; a loaded machine may add any amount to that.
    assert timings["p50"] >= 140_000


def test_sub_millisecond_latency_in_microseconds(target: Target) -> None:
    url, _ = target
    spec = check_spec(
        RunSpec(url=url, endpoints=["/fixed"], users=4, spawn_rate=10, requests=10_000)
    )

    report = execute(spec)

    entry = report["endpoints"]["GET /fixed"]
    timings = entry["service_time_us"]
    assert entry["count"] == 10_000
    # Locust rounds below 100 ms to whole milliseconds; the report keeps microseconds.
    assert isinstance(report["locust_stats"]["median_ms"], int)
    # How fast /fixed answers depends on the machine; the case is the resolution.
    assert 0 < timings["p50"] < 10_000
    assert timings["p50"] % 1000 != 0
    assert timings["p50"] != report["locust_stats"]["median_ms"] * 1000


def test_ramp_longer_than_run_time_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_main(
        [
            "--url",
            "http://127.0.0.1:9",
            "--users",
            "128",
            "--spawn-rate",
            "4",
            "--run-time",
            "20",
            "--warmup",
            "0",
        ]
    )

    assert code == 2
    error = capsys.readouterr().err
    assert "steady state is never reached" in error
    assert "32 s to spawn" in error
    assert "--spawn-rate" in error


def test_warmup_requests_kept_out(target: Target) -> None:
    url, _ = target
    spec = check_spec(
        RunSpec(
            url=url,
            endpoints=["/fixed"],
            users=8,
            spawn_rate=4,
            rate=40,
            warmup_s=1.0,
            duration_s=2.0,
        )
    )

    report = execute(spec)

    served = httpx.get(f"{url}/count").json()["/fixed"]
    measured = report["endpoints"]["GET /fixed"]["count"]
    warmup = report["warmup"]["count"]
    assert warmup > 0
    assert report["window"]["spawn_seconds"] >= 0.5
    assert measured + warmup + report["after_window"] == served
    # 40 requests/s over the 2 s window, not counting the ramp and the warm-up.
    assert measured == pytest.approx(80, abs=12)


def test_saturated_generator_marked(start_target: StartTarget) -> None:
    # Three server processes outpace one generator process even on a busy machine.
    url, _ = start_target("target", workers=3)
    spec = check_spec(
        RunSpec(url=url, endpoints=["/health"], users=20, spawn_rate=100, duration_s=3.0)
    )

    report = execute(spec)

    generator = report["generator"]
    assert generator["limited"] is True
    assert generator["reasons"]
    assert report["gate"]["passed"] is False
    assert any("generator was the limit" in failure for failure in report["gate"]["failures"])


def test_missed_target_rate_fails_gate(target: Target, tmp_path: Path) -> None:
    url, _ = target
    output = tmp_path / "report.json"

    code = run_main(
        [
            "--url",
            url,
            "--endpoints",
            "/delay/2000000",
            "--users",
            "10",
            "--rate",
            "10",
            "--warmup",
            "0",
            "--duration",
            "4",
            "--no-progress",
            "--output",
            str(output),
        ]
    )

    report = json.loads(output.read_text())
    assert code == 1
    assert report["rate"]["target_rps"] == 10
    assert report["rate"]["achieved_rps"] < 7
    assert report["rate"]["missed"] is True
    assert report["generator"]["limited"] is False
    assert "Little's law" in report["rate"]["explanation"]
    assert any("target rate missed" in failure for failure in report["gate"]["failures"])


def _stall_once(server: ServerProcess, after_s: float, stall_s: float) -> Any:
    """Return a progress callback that pauses the server mid-window with SIGSTOP."""
    started = threading.Event()

    def on_progress(message: dict[str, Any]) -> None:
        if started.is_set() or message.get("phase") != "measure":
            return
        if message.get("elapsed_s", 0.0) < after_s:
            return
        started.set()
        server.signal(signal.SIGSTOP)
        threading.Timer(stall_s, server.signal, args=(signal.SIGCONT,)).start()

    return on_progress


def test_server_stall_open_and_closed(start_target: StartTarget) -> None:
    # Both models run at once, each against its own target, to keep the test short.
    reports: dict[str, dict[str, Any]] = {}

    def run(model: LoadModel) -> None:
        url, server = start_target(f"target-{model}")
        spec = check_spec(
            RunSpec(
                url=url,
                endpoints=["/fixed"],
                model=model,
                users=4,
                spawn_rate=100,
                rate=200,
                warmup_s=0.5,
                duration_s=10.0,
            )
        )
        reports[model] = execute(spec, on_progress=_stall_once(server, after_s=2.0, stall_s=6.0))

    threads = [threading.Thread(target=run, args=(model,)) for model in ("open", "closed")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    open_entry = reports["open"]["endpoints"]["GET /fixed"]
    closed_entry = reports["closed"]["endpoints"]["GET /fixed"]
    assert open_entry["response_time_us"]["p99"] > 1_000_000
    assert reports["open"]["load_model"]["latency_from"] == "intended start"
    assert closed_entry["service_time_us"]["p99"] < 1_000_000
    assert closed_entry["service_time_us"]["max"] > 5_000_000
    # The estimate adds the requests each paced user would have sent during the stall.
    assert closed_entry["corrected_service_time_us"]["estimate"] is True
    assert closed_entry["corrected_service_time_us"]["p99"] > 1_000_000
    assert "service times" in reports["closed"]["load_model"]["note"]
    assert "hides" in reports["closed"]["load_model"]["note"]
