"""Requesting a worker count through the shared state."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

import pytest

from app.server.scaling import (
    RESCALE_SIGNAL,
    SUPERVISOR_PID,
    TARGET_WORKERS,
    request_worker_count,
)
from app.shared_state import SharedState


def test_request_writes_target_and_signals_supervisor(tmp_path: Path) -> None:
    state = SharedState(tmp_path / "state")
    state.set(SUPERVISOR_PID, float(os.getpid()))
    received: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(RESCALE_SIGNAL, note)
    try:
        request_worker_count(state, 3)
    finally:
        signal.signal(RESCALE_SIGNAL, previous)
    assert state.get(TARGET_WORKERS) == 3
    assert received == [RESCALE_SIGNAL]


def test_request_without_supervisor_only_writes(tmp_path: Path) -> None:
    state = SharedState(tmp_path / "state")
    request_worker_count(state, 2)
    assert state.get(TARGET_WORKERS) == 2


def test_request_of_zero_workers_is_rejected(tmp_path: Path) -> None:
    state = SharedState(tmp_path / "state")
    with pytest.raises(ValueError, match="invalid worker count 0"):
        request_worker_count(state, 0)
    assert state.get(TARGET_WORKERS, -1.0) == -1.0
