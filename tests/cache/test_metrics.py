"""The cache metrics as the app's /metrics exposes them with several worker processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

from app.cache import Cache, CacheConfig, CacheKey, cached
from app.shared_state import SharedState
from tests.conftest import require_binary

WORKER = """
import sys
from app.cache import Cache, CacheConfig, cached
from app.shared_state import SharedState

cache = Cache("artikel", CacheConfig(capacity=64, ttl_seconds=60), SharedState.temporary())

@cached(cache)
def get_artikel(artikel_id):
    return artikel_id

for artikel_id in range(int(sys.argv[1])):
    get_artikel(artikel_id)
    get_artikel(artikel_id)
print("ready", flush=True)
sys.stdin.readline()
"""


def start_worker(metrics_dir: Path, artikel: int) -> subprocess.Popen[str]:
    environment = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(artikel)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )


def wait_ready(worker: subprocess.Popen[str]) -> None:
    assert worker.stdout is not None
    assert worker.stdout.readline() == "ready\n"


def test_dead_worker_leaves_gauges_but_not_counters(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    staying = start_worker(tmp_path, artikel=10)
    leaving = start_worker(tmp_path, artikel=4)
    try:
        wait_ready(staying)
        wait_ready(leaving)
        leaving.communicate("\n", timeout=10)
        # What the app's supervisor does when a worker exits.
        multiprocess.mark_process_dead(leaving.pid, str(tmp_path))  # type: ignore[no-untyped-call]

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(tmp_path))  # type: ignore[no-untyped-call]
        labels = {"cache": "artikel"}
        assert registry.get_sample_value("erp_cache_hits_total", labels) == 14
        assert registry.get_sample_value("erp_cache_misses_total", labels) == 14
        assert registry.get_sample_value("erp_cache_entries", labels) == 10
        assert registry.get_sample_value("erp_cache_capacity_entries", labels) == 64

        exposition = generate_latest(registry)
        check = subprocess.run(
            [promtool, "check", "metrics"], input=exposition, capture_output=True, check=False
        )
        assert check.returncode == 0, check.stderr.decode()
        assert check.stdout.decode() + check.stderr.decode() == ""
    finally:
        staying.communicate("\n", timeout=10)
        if leaving.poll() is None:
            leaving.kill()
            leaving.wait(10)


class UnreachableBackend:
    """A backend whose server is down: every operation raises."""

    def get(self, key: CacheKey) -> Any:
        raise ConnectionRefusedError("cache server at 127.0.0.1:6379 refused the connection")

    def set(self, key: CacheKey, value: Any, ttl_seconds: float, generation: int) -> None:
        raise ConnectionRefusedError("cache server at 127.0.0.1:6379 refused the connection")

    def delete(self, key: CacheKey) -> None:
        raise ConnectionRefusedError("cache server at 127.0.0.1:6379 refused the connection")

    def clear(self) -> None:
        raise ConnectionRefusedError("cache server at 127.0.0.1:6379 refused the connection")

    def generation(self) -> int:
        raise ConnectionRefusedError("cache server at 127.0.0.1:6379 refused the connection")


async def test_failing_backend_serves_uncached_and_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = Cache(
        "unreachable",
        CacheConfig(capacity=16, ttl_seconds=60),
        SharedState.temporary(),
        backend=UnreachableBackend(),
    )
    calls: list[int] = []

    @cached(cache)
    async def get_kunde(kunde_id: int) -> int:
        calls.append(kunde_id)
        return kunde_id

    with caplog.at_level(logging.WARNING, logger="leitstand.cache"):
        for _ in range(5):
            assert await get_kunde(1) == 1

    assert calls == [1] * 5
    # Each call fails a lookup and a generation read.
    assert REGISTRY.get_sample_value("erp_cache_errors_total", {"cache": "unreachable"}) == 10
    assert REGISTRY.get_sample_value("erp_cache_misses_total", {"cache": "unreachable"}) == 5
    warnings = [record for record in caplog.records if record.name == "leitstand.cache"]
    assert len(warnings) == 1
    assert "backend get failed" in warnings[0].getMessage()
    assert "refused the connection" in warnings[0].getMessage()


def test_gauges_are_set_on_first_access_only() -> None:
    # The supervisor builds the app before it forks; a gauge set there would
    # count as one more live worker in the livesum.
    cache = Cache("first-access", CacheConfig(capacity=16, ttl_seconds=60), SharedState.temporary())
    labels = {"cache": "first-access"}
    assert REGISTRY.get_sample_value("erp_cache_capacity_entries", labels) == 0

    @cached(cache)
    def get_kunde(kunde_id: int) -> int:
        return kunde_id

    get_kunde(1)
    assert REGISTRY.get_sample_value("erp_cache_capacity_entries", labels) == 16
    assert REGISTRY.get_sample_value("erp_cache_entries", labels) == 1
