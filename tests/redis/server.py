"""A throw-away ``redis-server`` on a free loopback port that a test can stop and restart."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.conftest import require_binary
from tests.support.processes import ServerProcess, free_port, wait_until


class RedisServer:
    """One ``redis-server`` without persistence; a ``start`` after ``stop`` takes the same port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._log_dir = log_dir
        self._starts = 0
        self._process: ServerProcess | None = None

    def start(self) -> None:
        argv = [
            require_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self._log_dir),
        ]  # fmt: skip
        self._starts += 1
        log_path = self._log_dir / f"redis-{self._starts}.log"
        self._process = ServerProcess(f"redis-{self._starts}", argv, log_path)
        wait_until(
            self.ping, timeout=20, what=f"redis-server on port {self.port} (log: {log_path})"
        )

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    def ping(self) -> bool:
        with contextlib.suppress(redis.RedisError), redis.Redis.from_url(self.url) as client:
            return bool(client.ping())
        return False


@contextlib.contextmanager
def redis_server(log_dir: Path) -> Iterator[RedisServer]:
    """Run a Redis server for the ``with`` block."""
    server = RedisServer(log_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
