"""Start real servers (the app, Prometheus, Alertmanager, Redis, ...) for tests.

Every server listens on a free loopback port, writes its output to a log file
in the test's temporary folder, and is stopped (and waited for) at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A subprocess with its log file; ``stop()`` ends it and its process group."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, **popen: object) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,  # type: ignore[call-overload]
        )

    @property
    def pid(self) -> int:
        pid: int = self.proc.pid
        return pid

    def log(self, tail: int = 40) -> str:
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:])

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # Children that outlived their parent (a killed supervisor's workers).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()
        status: int = self.proc.returncode
        return status


def wait_until(
    check: Callable[[], bool], timeout: float = 30.0, interval: float = 0.1, what: str = ""
) -> None:
    """Poll ``check`` until it returns true; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what or check!r}")


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code < 400
    except httpx.HTTPError:
        return False


def wait_for_http(url: str, server: ServerProcess | None = None, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers below 400; fail early with the log if the server died."""

    def ready() -> bool:
        if server is not None and server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.proc.returncode}:\n{server.log()}"
            )
        return http_ok(url)

    wait_until(ready, timeout=timeout, what=url)


@contextlib.contextmanager
def running(
    name: str,
    argv: Sequence[str],
    log_dir: Path,
    ready_url: str | None = None,
    timeout: float = 30.0,
    **popen: object,
) -> Iterator[ServerProcess]:
    """Run a server for the duration of a ``with`` block."""
    server = ServerProcess(name, argv, log_dir / f"{name}.log", **popen)
    try:
        if ready_url is not None:
            wait_for_http(ready_url, server, timeout)
        yield server
    finally:
        server.stop()
