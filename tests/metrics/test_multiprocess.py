"""Folding an exited worker's metric files: totals stay, its gauges go."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from app.metrics.files import MultiProcessText
from app.metrics.multiprocess import mark_worker_dead, scrape_lock
from tests.server.serving import parse_samples

# Runs in a fresh interpreter, so prometheus_client starts in multiprocess mode.
WORKER = """
from prometheus_client import Counter, Gauge, Histogram
requests = Counter("jobs_total", "Jobs done.", ["kind"])
latency = Histogram("job_seconds", "Job time.", buckets=(0.1, 1.0))
alive = Gauge("worker_alive", "1 per live worker.", multiprocess_mode="liveall")
busy = Gauge("worker_busy", "Busy workers.", multiprocess_mode="livesum")
requests.labels("a").inc({count})
latency.observe(0.05)
latency.observe(0.5)
alive.set(1)
busy.set(1)
import os
print(os.getpid())
"""


def run_worker(directory: Path, count: int) -> int:
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    result = subprocess.run(
        [sys.executable, "-c", WORKER.format(count=count)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(result.stdout)


def scrape(directory: Path) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    with scrape_lock(directory):
        return parse_samples(generate_latest(registry).decode())


def test_fold_keeps_totals_and_drops_gauges(tmp_path: Path) -> None:
    first = run_worker(tmp_path, 3)
    second = run_worker(tmp_path, 4)
    third = run_worker(tmp_path, 5)
    before = scrape(tmp_path)
    assert before[("jobs_total", frozenset({("kind", "a")}))] == 12

    mark_worker_dead(tmp_path, first)
    mark_worker_dead(tmp_path, second)
    after = scrape(tmp_path)

    for key, total in before.items():
        if key[0].startswith(("jobs_", "job_seconds")):
            assert after[key] == total, key
    alive = {dict(labels)["pid"] for (name, labels) in after if name == "worker_alive"}
    assert alive == {str(third)}
    assert after[("worker_busy", frozenset())] == 1
    files = {path.name for path in tmp_path.glob("*.db")}
    assert files == {
        "counter_archive.db",
        f"counter_{third}.db",
        f"gauge_liveall_{third}.db",
        f"gauge_livesum_{third}.db",
        "histogram_archive.db",
        f"histogram_{third}.db",
    }


def test_fold_of_unknown_pid_changes_nothing(tmp_path: Path) -> None:
    run_worker(tmp_path, 2)
    before = scrape(tmp_path)
    mark_worker_dead(tmp_path, 1)
    assert scrape(tmp_path) == before


def test_text_renderer_matches_prometheus_client(tmp_path: Path) -> None:
    first = run_worker(tmp_path, 3)
    run_worker(tmp_path, 4)
    mark_worker_dead(tmp_path, first)
    run_worker(tmp_path, 5)
    renderer = MultiProcessText(tmp_path)

    rendered = renderer.render().decode()
    assert parse_samples(rendered) == scrape(tmp_path)
    assert renderer.render().decode() == rendered
    types = [line for line in rendered.splitlines() if line.startswith("# TYPE")]
    assert sorted(types) == [
        "# TYPE job_seconds histogram",
        "# TYPE jobs_total counter",
        "# TYPE worker_alive gauge",
        "# TYPE worker_busy gauge",
    ]
