"""Invalidation and knobs across worker processes that share one state file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

from app.cache import Cache, CacheConfig, cached
from app.shared_state import SharedState

WORKERS = 3
CONFIG = CacheConfig(capacity=100, ttl_seconds=3600)


def serve(state_path: str, database: str, connection: Connection) -> None:
    """Serve requests from the test like one worker process of the app."""
    cache = Cache("artikel", CONFIG, SharedState(state_path))
    queries = 0

    @cached(cache)
    def get_preis(artikel_id: int) -> float:
        nonlocal queries
        queries += 1
        with sqlite3.connect(database) as db:
            row = db.execute("SELECT preis FROM artikel WHERE id = ?", (artikel_id,)).fetchone()
        return float(row[0])

    while True:
        request = connection.recv()
        if request == "stop":
            return
        if request == "describe":
            connection.send(cache.describe() | {"queries": queries})
        else:
            connection.send(get_preis(request))


class Workers:
    def __init__(self, tmp_path: Path) -> None:
        self.state_path = str(tmp_path / "state")
        self.database = str(tmp_path / "erp.db")
        with sqlite3.connect(self.database) as db:
            db.execute("CREATE TABLE artikel (id INTEGER PRIMARY KEY, preis REAL)")
            db.execute("INSERT INTO artikel VALUES (1, 9.5)")
        self.cache = Cache("artikel", CONFIG, SharedState(self.state_path))
        context = multiprocessing.get_context("fork")
        self.connections: list[Connection] = []
        self.processes = []
        for _ in range(WORKERS):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=serve, args=(self.state_path, self.database, theirs), daemon=True
            )
            process.start()
            self.connections.append(ours)
            self.processes.append(process)

    def ask_all(self, request: Any) -> list[Any]:
        for connection in self.connections:
            connection.send(request)
        return [connection.recv() for connection in self.connections]

    def set_preis(self, artikel_id: int, preis: float) -> None:
        with sqlite3.connect(self.database) as db:
            db.execute("UPDATE artikel SET preis = ? WHERE id = ?", (preis, artikel_id))
        self.cache.clear()  # after the commit, as the write paths do

    def stop(self) -> None:
        for connection in self.connections:
            connection.send("stop")
        for process in self.processes:
            process.join(10)


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    started = Workers(tmp_path_factory.mktemp("workers"))
    yield started
    started.stop()


def test_read_after_write_on_every_worker(workers: Workers) -> None:
    assert workers.ask_all(1) == [9.5] * WORKERS
    assert workers.ask_all(1) == [9.5] * WORKERS
    assert [info["queries"] for info in workers.ask_all("describe")] == [1] * WORKERS

    workers.set_preis(1, 12.25)

    assert workers.ask_all(1) == [12.25] * WORKERS
    assert [info["queries"] for info in workers.ask_all("describe")] == [2] * WORKERS


def test_capacity_change_applies_in_every_worker(workers: Workers) -> None:
    workers.ask_all(1)
    assert {info["entries"] for info in workers.ask_all("describe")} == {1}

    previous = workers.cache.set_capacity(32)

    assert previous == 100
    workers.ask_all(1)
    described = workers.ask_all("describe")
    assert [info["capacity"] for info in described] == [32] * WORKERS
    assert [info["entries"] for info in described] == [1] * WORKERS
    assert [info["queries"] for info in described] == [3] * WORKERS


def test_ttl_change_applies_in_every_worker(workers: Workers) -> None:
    workers.cache.set_ttl(90)
    assert [info["ttl_seconds"] for info in workers.ask_all("describe")] == [90.0] * WORKERS
