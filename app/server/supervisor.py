"""The supervisor: forks the workers, keeps their number on target, and stops them.

One process owns the listening socket and forks workers that share it. The
supervisor sleeps on a self-pipe that signal handlers write to, and on every
wake-up it reaps exited workers, applies signals, and forks or stops workers
until the count matches the target in the shared state:

- SIGINT, SIGTERM: stop every worker gracefully, then exit; a second one
  forces the workers to stop at once.
- SIGTTIN, SIGTTOU: one worker more or less, as in gunicorn.
- SIGHUP: replace every worker with a fresh one.
- SIGUSR1: re-read ``workers.target`` now (see ``app.server.scaling``).
- SIGCHLD: a worker exited; a replacement starts unless it was asked to stop.

A worker touches its heartbeat file once a second from its event loop. One
whose file is older than the worker timeout is hung (a blocking call, a
deadlock) and is killed with SIGKILL and replaced. The check starts with a
worker's first heartbeat, so a slow lifespan startup is never cut short.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from uvicorn.config import STARTUP_FAILURE

from app.server.scaling import CURRENT_WORKERS, RESCALE_SIGNAL, SUPERVISOR_PID, TARGET_WORKERS
from app.server.stopping import STOP_SIGNALS
from app.shared_state import SharedState

logger = logging.getLogger("leitstand.server")

HANDLED_SIGNALS = (
    *STOP_SIGNALS,
    signal.SIGHUP,
    signal.SIGTTIN,
    signal.SIGTTOU,
    RESCALE_SIGNAL,
    signal.SIGCHLD,
)
# Time the supervisor sleeps when nothing happens; the target is re-read this often.
TICK_SECONDS = 1.0
# Time after the graceful timeout before the supervisor kills a worker that is still running.
KILL_MARGIN_SECONDS = 5.0


@dataclass
class Worker:
    pid: int
    started: float
    stopping: bool = False


class Supervisor:
    """Run ``target`` workers, each a fork that calls ``run_worker`` and exits with its result."""

    def __init__(
        self,
        run_worker: Callable[[], int],
        state: SharedState,
        target: int,
        minimum: int,
        maximum: int,
        graceful_timeout: float,
        on_worker_exit: Sequence[Callable[[int], None]] = (),
        heartbeat_folder: Path | None = None,
        worker_timeout: float = 0.0,
    ) -> None:
        self._run_worker = run_worker
        self._state = state
        self._target = target
        self._minimum = minimum
        self._maximum = maximum
        self._graceful_timeout = graceful_timeout
        self._on_worker_exit = tuple(on_worker_exit)
        self._heartbeat_folder = heartbeat_folder
        self._worker_timeout = worker_timeout
        self._workers: dict[int, Worker] = {}
        self._stopping = False
        self._exit_status = 0
        self._wakeup_read = -1
        self._wakeup_write = -1

    def run(self) -> int:
        """Supervise until a stop signal; return the exit status for the command."""
        self._install_signal_handlers()
        try:
            self._state.set(SUPERVISOR_PID, float(os.getpid()))
            self._state.set(TARGET_WORKERS, float(self._target))
            logger.info("Started supervisor process [%d]", os.getpid())
            try:
                while not self._stopping:
                    self._reap()
                    self._check_heartbeats()
                    if not self._stopping:
                        self._reconcile()
                    self._handle_signals(self._wait(TICK_SECONDS))
            except Exception:
                # A failed fork, for one: the workers already running must not be orphaned.
                logger.exception("Supervising the workers failed; stopping them")
                self._exit_status = 1
            self._stop_workers()
        finally:
            self._state.set(CURRENT_WORKERS, 0.0)
            self._restore_signal_handlers()
        logger.info("Stopped supervisor process [%d]", os.getpid())
        return self._exit_status

    # Signals

    def _install_signal_handlers(self) -> None:
        self._wakeup_read, self._wakeup_write = os.pipe()
        os.set_blocking(self._wakeup_read, False)
        os.set_blocking(self._wakeup_write, False)
        # The C-level handler writes each signal number to the pipe, which
        # wakes the select() in _wait; the Python handler has nothing to do.
        signal.set_wakeup_fd(self._wakeup_write, warn_on_full_buffer=False)
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, _note_signal)

    def _restore_signal_handlers(self) -> None:
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        os.close(self._wakeup_read)
        os.close(self._wakeup_write)

    def _wait(self, timeout: float) -> list[int]:
        """Sleep until a signal arrives or ``timeout`` passes; return the signals received."""
        readable, _, _ = select.select([self._wakeup_read], [], [], max(timeout, 0.0))
        if not readable:
            return []
        with contextlib.suppress(BlockingIOError):
            return list(os.read(self._wakeup_read, 4096))
        return []

    def _handle_signals(self, signals: list[int]) -> None:
        for signum in signals:
            name = signal.Signals(signum).name
            if signum in STOP_SIGNALS:
                if self._stopping:
                    self._force_stop(name)
                else:
                    logger.info("Received %s; stopping the workers gracefully", name)
                    self._stopping = True
            elif signum == signal.SIGTTIN:
                self._set_target(self._target + 1, name)
            elif signum == signal.SIGTTOU:
                self._set_target(self._target - 1, name)
            elif signum == signal.SIGHUP:
                logger.info("Received SIGHUP; replacing every worker")
                for worker in list(self._workers.values()):
                    self._stop_worker(worker)

    def _force_stop(self, name: str) -> None:
        logger.warning("Received %s again; stopping the workers without waiting", name)
        # uvicorn cancels the requests of a server that gets SIGINT while stopping.
        for pid in self._workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)

    # Worker count

    def _set_target(self, count: int, source: str) -> None:
        bounded = min(max(count, self._minimum), self._maximum)
        if bounded != count:
            bound = "LEITSTAND_WORKERS_MAX" if count > self._maximum else "LEITSTAND_WORKERS_MIN"
            logger.warning(
                "%s: keeping %d workers, the bound set by %s", source, self._target, bound
            )
        self._state.set(TARGET_WORKERS, float(bounded))

    def _reconcile(self) -> None:
        """Fork or stop workers until the running count equals the target in the shared state."""
        requested = int(self._state.get(TARGET_WORKERS, float(self._target)))
        target = min(max(requested, self._minimum), self._maximum)
        if target != requested:
            logger.warning(
                "Requested %d workers, outside the allowed %d to %d; running %d",
                requested,
                self._minimum,
                self._maximum,
                target,
            )
            self._state.set(TARGET_WORKERS, float(target))
        if target != self._target:
            logger.info("Changing the worker count from %d to %d", self._target, target)
            self._target = target

        running = sorted(
            (worker for worker in self._workers.values() if not worker.stopping),
            key=lambda worker: worker.started,
        )
        for _ in range(target - len(running)):
            self._spawn()
        # The oldest workers go first, as in gunicorn.
        for worker in running[: max(len(running) - target, 0)]:
            self._stop_worker(worker)
        serving = sum(1 for worker in self._workers.values() if not worker.stopping)
        self._state.set(CURRENT_WORKERS, float(serving))

    # Worker processes

    def _spawn(self) -> None:
        # Objects allocated so far move to the permanent generation: the
        # collector in the worker never touches them, so their pages stay
        # shared with the supervisor instead of being copied on write.
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                self._become_worker()
                status = self._run_worker()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        self._workers[pid] = Worker(pid, time.monotonic())
        logger.info("Started worker [%d]", pid)

    def _become_worker(self) -> None:
        signal.set_wakeup_fd(-1)
        os.close(self._wakeup_read)
        os.close(self._wakeup_write)
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        # Scaling signals are for the supervisor; their default action would stop a worker.
        for signum in (signal.SIGTTIN, signal.SIGTTOU, signal.SIGHUP, RESCALE_SIGNAL):
            signal.signal(signum, signal.SIG_IGN)

    def _check_heartbeats(self) -> None:
        if self._heartbeat_folder is None or self._worker_timeout <= 0:
            return
        # File times are wall-clock times: a forward jump of the system clock
        # by more than the timeout makes every worker look hung once.
        now = time.time()
        for worker in list(self._workers.values()):
            if worker.stopping:
                continue
            try:
                beat = (self._heartbeat_folder / str(worker.pid)).stat().st_mtime
            except FileNotFoundError:
                continue  # still starting: no heartbeat yet
            if now - beat > self._worker_timeout:
                logger.error(
                    "Worker [%d] sent no heartbeat for %.0f s (--worker-timeout %.0f); "
                    "killing it and starting a replacement",
                    worker.pid,
                    now - beat,
                    self._worker_timeout,
                )
                worker.stopping = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)

    def _stop_worker(self, worker: Worker) -> None:
        if worker.stopping:
            return
        worker.stopping = True
        logger.info("Stopping worker [%d]", worker.pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGTERM)

    def _reap(self) -> None:
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self._workers.pop(pid, None)
            if worker is not None:
                self._worker_exited(worker, os.waitstatus_to_exitcode(wait_status))

    def _worker_exited(self, worker: Worker, status: int) -> None:
        if self._heartbeat_folder is not None:
            (self._heartbeat_folder / str(worker.pid)).unlink(missing_ok=True)
        for hook in self._on_worker_exit:
            try:
                hook(worker.pid)
            except Exception:
                logger.exception("Clean-up after worker [%d] failed", worker.pid)

        expected = worker.stopping or self._stopping
        if expected and status == 0:
            logger.info("Worker [%d] stopped", worker.pid)
        elif status == STARTUP_FAILURE and not expected:
            logger.error(
                "Worker [%d] failed to start (see the error above); stopping the server",
                worker.pid,
            )
            self._stopping = True
            self._exit_status = STARTUP_FAILURE
        elif status < 0:
            logger.warning(
                "Worker [%d] was killed by %s%s",
                worker.pid,
                signal.Signals(-status).name,
                "" if expected else "; starting a replacement",
            )
        else:
            logger.warning(
                "Worker [%d] exited with status %d%s",
                worker.pid,
                status,
                "" if expected else "; starting a replacement",
            )

    def _stop_workers(self) -> None:
        for worker in list(self._workers.values()):
            self._stop_worker(worker)
        deadline = time.monotonic() + self._graceful_timeout + KILL_MARGIN_SECONDS
        while self._workers:
            self._reap()
            remaining = deadline - time.monotonic()
            if not self._workers or remaining <= 0:
                break
            self._handle_signals(self._wait(min(remaining, TICK_SECONDS)))
        for pid in list(self._workers):
            logger.warning("Worker [%d] did not stop in time; killing it", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self._worker_exited(self._workers.pop(pid), -signal.SIGKILL)


def _note_signal(signum: int, frame: object) -> None:
    """Do nothing: the wake-up pipe already carries the signal number."""
