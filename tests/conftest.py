"""Fixtures shared by every test folder."""

from __future__ import annotations

import shutil

import pytest


def require_binary(name: str) -> str:
    """Return the path of a Debian binary the tests run for real, or fail with the fix."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run scripts/install-debian-packages (as root)")
    return path

