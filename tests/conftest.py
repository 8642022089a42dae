"""Fixtures shared by every test folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put each test folder into one xdist group, so one worker runs all of it."""
    tests = config.rootpath / "tests"
    for item in items:
        path = Path(item.path)
        area = path.relative_to(tests).parts[0] if path.is_relative_to(tests) else "other"
        item.add_marker(pytest.mark.xdist_group(area))


def require_binary(name: str) -> str:
    """Return the path of a Debian binary the tests run for real, or fail with the fix."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run scripts/install-debian-packages (as root)")
    return path
