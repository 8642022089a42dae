"""One running part of the stack: its process, its log and its readiness check."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx


@dataclass
class PartSpec:
    """Command, readiness check and summary URL of one part."""

    name: str
    argv: list[str]
    ready_url: str | None = None
    url: str | None = None  # shown in the summary
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready_timeout: float = 60.0


class Part:
    """A started part; its output goes to its own log and, prefixed, to the console."""

    def __init__(self, spec: PartSpec, log_dir: Path, console: TextIO, width: int) -> None:
        self.spec = spec
        self.log_path = log_dir / f"{spec.name}.log"
        self._console = console
        self._prefix = f"{spec.name.ljust(width)} | "
        self._tail: deque[str] = deque(maxlen=30)
        # Lines that name an error, kept apart: a usage text can push them out of the tail.
        self._errors: deque[str] = deque(maxlen=5)
        self._console_lock = threading.Lock()
        self.proc = subprocess.Popen(
            spec.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **spec.env},
            cwd=spec.cwd,
            start_new_session=True,  # Ctrl-C reaches `up`, which stops parts in order
        )
        self._pump = threading.Thread(target=self._copy_output, name=spec.name, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.proc.stdout is not None
        with self.log_path.open("ab") as log:
            for raw in iter(self.proc.stdout.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode(errors="replace").rstrip()
                self._tail.append(line)
                if "error" in line.lower():
                    self._errors.append(line)
                with self._console_lock:
                    self._console.write(self._prefix + line + "\n")
                    self._console.flush()

    def tail(self) -> str:
        """Return the last lines of output, after any earlier error lines they no longer hold."""
        earlier = [line for line in self._errors if line not in self._tail]
        return "\n".join([*earlier, *(["..."] if earlier else []), *self._tail])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, stop: threading.Event) -> None:
        """Wait until the ready URL returns below 400; raise ``RuntimeError`` if the part dies."""
        url = self.spec.ready_url
        if url is None:
            return
        deadline = time.monotonic() + self.spec.ready_timeout
        while time.monotonic() < deadline and not stop.is_set():
            if not self.alive():
                raise RuntimeError(f"{self.spec.name} exited with status {self.proc.returncode}")
            if _answers(url):
                return
            time.sleep(0.2)
        if not stop.is_set():
            raise RuntimeError(
                f"{self.spec.name} not ready at {url} after {self.spec.ready_timeout:.0f} s"
            )

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the part with SIGTERM, then SIGKILL its whole process group."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(
                    f"{self.spec.name} did not stop within {timeout:.0f} s; killing it",
                    file=sys.stderr,
                )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        self._pump.join(2)


def _answers(url: str) -> bool:
    """Return whether ``url`` is ready: a status below 400, or a connection for ``tcp://``."""
    if url.startswith("tcp://"):
        host, _, port = url.removeprefix("tcp://").rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=2.0):
                return True
        except OSError:
            return False
    try:
        return httpx.get(url, timeout=2.0).status_code < 400
    except httpx.HTTPError:
        return False


def stop_all(parts: list[Part], log: Callable[[str], None]) -> None:
    """Stop parts in the reverse order of their start."""
    for part in reversed(parts):
        log(f"stopping {part.spec.name}")
        part.stop()
