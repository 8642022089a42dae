"""The worker count of an instance, as its shared state records it.

The supervisor stores its pid and the live worker count there; a worker asks
for another count by writing ``workers.target`` and sending the supervisor
``SIGUSR1``. The supervisor also re-reads the target once a second, so a lost
signal delays a change but never drops it.
"""

from __future__ import annotations

import contextlib
import os
import signal

from app.shared_state import SharedState

TARGET_WORKERS = "workers.target"
CURRENT_WORKERS = "workers.current"
SUPERVISOR_PID = "supervisor.pid"

# Sent to the supervisor after a new target is written.
RESCALE_SIGNAL = signal.SIGUSR1


def request_worker_count(state: SharedState, count: int) -> None:
    """Ask the supervisor of ``state``'s instance to run ``count`` workers.

    The supervisor keeps the count within ``LEITSTAND_WORKERS_MIN`` and
    ``LEITSTAND_WORKERS_MAX``; callers that must report the bounds check them first.
    """
    if count < 1:
        raise ValueError(f"invalid worker count {count}: at least 1 worker is required")
    state.set(TARGET_WORKERS, float(count))
    supervisor = int(state.get(SUPERVISOR_PID, 0.0))
    if supervisor > 0:
        # A supervisor that already exited has no workers to change.
        with contextlib.suppress(ProcessLookupError):
            os.kill(supervisor, RESCALE_SIGNAL)
