"""A minimal uvicorn target per test, on a free loopback port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ServerProcess, free_port, running


@pytest.fixture
def target(tmp_path: Path) -> Iterator[tuple[str, ServerProcess]]:
    """Yield the base URL and process of ``leitstand.bench.target`` under uvicorn."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "leitstand.bench.target:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    url = f"http://127.0.0.1:{port}"
    with running("target", argv, tmp_path, ready_url=f"{url}/health") as server:
        yield url, server
