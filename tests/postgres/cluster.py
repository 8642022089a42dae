"""A throw-away PostgreSQL cluster for tests.

PostgreSQL refuses to run as root. As root, ``initdb`` and ``postgres`` run as
the ``postgres`` user through ``runuser``; other users run them directly. The
cluster listens on a free loopback port, trusts local connections, skips
fsync, and is removed with its folder at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import free_port, running, wait_until

USER = "leitstand"
DATABASE = "erp"


def postgres_binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(
            f"PostgreSQL's {name} is not installed; run scripts/install-debian-packages (as root)"
        )
    return found[-1]


def _accepts_connections(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@contextlib.contextmanager
def postgres_cluster(log_dir: Path) -> Iterator[str]:
    """Run a cluster for the ``with`` block and yield its asyncpg URL."""
    folder = Path(tempfile.mkdtemp(prefix="leitstand-pg-"))
    try:
        as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
            as_postgres = ["runuser", "-u", "postgres", "--"]
        data = folder / "data"
        subprocess.run(
            [*as_postgres, postgres_binary("initdb"), "-D", str(data), "-A", "trust", "-U", USER,
             "--no-sync", "-E", "UTF8", "--locale", "C"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        port = free_port()
        argv = [
            *as_postgres, postgres_binary("postgres"), "-D", str(data), "-p", str(port),
            "-k", str(folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]  # fmt: skip
        with running("postgres", argv, log_dir) as server:
            wait_until(lambda: _accepts_connections(port), timeout=30, what="PostgreSQL")
            createdb = [postgres_binary("createdb"), "-h", "127.0.0.1", "-p", str(port)]
            wait_until(
                lambda: (
                    subprocess.run([*createdb, "-U", USER, DATABASE], check=False).returncode == 0
                ),
                timeout=30,
                what=f"createdb {DATABASE}\n{server.log()}",
            )
            yield f"postgresql+asyncpg://{USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
