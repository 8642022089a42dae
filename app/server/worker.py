"""The code of a forked worker: one uvicorn server on the supervisor's socket."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from app.server.pid_header import WorkerPidHeader

logger = logging.getLogger("leitstand.server")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class WorkerServer(uvicorn.Server):
    """A uvicorn server that sends heartbeats and ends with status 0 after a graceful stop.

    ``uvicorn.Server`` raises a captured SIGTERM again once it has shut down,
    so that a standalone process ends by that signal. A worker reports through
    its exit status instead, which the supervisor reads.
    """

    def __init__(self, config: uvicorn.Config, heartbeat: Path | None) -> None:
        super().__init__(config)
        self._heartbeat = heartbeat

    async def on_tick(self, counter: int) -> bool:
        # uvicorn calls this every 0.1 s from the event loop: a touch once a
        # second shows the supervisor that the loop still runs.
        if self._heartbeat is not None and counter % 10 == 0:
            self._heartbeat.touch()
        return await super().on_tick(counter)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run_worker(
    config: uvicorn.Config,
    listener: socket.socket,
    pid_header: bool,
    heartbeat_folder: Path | None = None,
) -> int:
    """Serve on ``listener`` until SIGTERM or SIGINT; return the process's exit status.

    ``config`` is loaded in the supervisor before the fork, so the app and its
    imports are shared between workers. ``STARTUP_FAILURE`` (3) means the
    app's lifespan startup failed.
    """
    if pid_header:
        config.loaded_app = WorkerPidHeader(config.loaded_app)
    heartbeat = None if heartbeat_folder is None else heartbeat_folder / str(os.getpid())
    server = WorkerServer(config, heartbeat)
    try:
        server.run(sockets=[listener])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception:
        logger.exception("Worker [%d] failed", os.getpid())
        return 1
    return 0 if server.started else STARTUP_FAILURE
