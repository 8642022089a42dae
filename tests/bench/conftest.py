"""Minimal uvicorn targets for the tests, each on a free loopback port."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.support.processes import ServerProcess, free_port, running


def _target_argv(port: int, workers: int) -> list[str]:
    return [
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
        "--workers",
        str(workers),
    ]


class StartTarget(Protocol):
    def __call__(self, name: str, workers: int = 1) -> tuple[str, ServerProcess]: ...


@pytest.fixture
def start_target(tmp_path: Path) -> Iterator[StartTarget]:
    """Yield a function that starts a named target and returns its base URL and process."""
    with contextlib.ExitStack() as stack:

        def start(name: str, workers: int = 1) -> tuple[str, ServerProcess]:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            argv = _target_argv(port, workers)
            server = stack.enter_context(running(name, argv, tmp_path, ready_url=f"{url}/health"))
            return url, server

        yield start


@pytest.fixture
def target(start_target: StartTarget) -> tuple[str, ServerProcess]:
    """Return the base URL and process of one ``leitstand.bench.target`` under uvicorn."""
    return start_target("target")
