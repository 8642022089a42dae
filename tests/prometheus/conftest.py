"""Fixtures of the Prometheus and Alertmanager configuration tests."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "prometheus"
RULE_FILES = [PROMETHEUS_DIR / "rules/recording.yml", PROMETHEUS_DIR / "rules/alerts.yml"]


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_binary("promtool")


@pytest.fixture(scope="session")
def amtool() -> str:
    return require_binary("amtool")


def run_tool(
    argv: Sequence[str | Path], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a promtool or amtool command and return its result, output included."""
    return subprocess.run(
        [str(arg) for arg in argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def assert_succeeds(argv: Sequence[str | Path], cwd: Path | None = None) -> str:
    result = run_tool(argv, cwd)
    assert result.returncode == 0, (
        f"{' '.join(map(str, argv))} exited with {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


@functools.cache
def _load_yaml(path: Path, mtime_ns: int) -> Any:
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file once per version of it; callers must not change the result."""
    return _load_yaml(path, path.stat().st_mtime_ns)
