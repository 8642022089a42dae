"""Engines and sessions of one process.

An engine owns a connection pool, which must never cross a ``fork``: the app
creates its ``Database`` in the lifespan of each worker process.

On SQLite every connection runs in WAL mode, where readers never block the
writer, and waits up to a busy timeout for the write lock. Write transactions
start with ``BEGIN IMMEDIATE``, so a writer takes the write lock before it
reads. Two processes that read and then write therefore never deadlock on the
lock upgrade: the second one waits instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.db.models import Artikel
from app.settings import Settings

# How long a SQLite connection waits for another process's write lock.
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Session.info key read by the services: load related rows eagerly or lazily.
EAGER_LOADING = "eager_loading"

# Execution option that selects BEGIN DEFERRED (default) or BEGIN IMMEDIATE on SQLite.
SQLITE_BEGIN_MODE = "leitstand_sqlite_begin"


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for ``settings.database_url`` with the SQLite set-up."""
    engine = create_async_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below
        # emits BEGIN itself, so the driver never starts a deferred transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_MODE, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The engine of one process and the session factories built on it."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        info = {EAGER_LOADING: settings.eager_loading}
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False, info=info)
        writer = self.engine.execution_options(**{SQLITE_BEGIN_MODE: "IMMEDIATE"})
        self._write_sessions = async_sessionmaker(writer, expire_on_commit=False, info=info)
        # SQLite has one writer at a time. This process's writers queue on a lock
        # instead of in SQLite's busy handler, which polls with sleeps of up to
        # 100 ms. Only writers of other processes still wait in the busy handler.
        self._write_lock = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """Yield a session for reads; on SQLite its transaction takes no write lock."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        """Yield a session whose transaction holds the write lock from its start on SQLite.

        The caller commits; anything not committed is rolled back on exit.
        """
        if self._write_lock is None:
            async with self._write_sessions() as session:
                yield session
            return
        async with self._write_lock, self._write_sessions() as session:
            yield session

    async def has_schema(self) -> bool:
        """Return whether the ERP tables exist (``prepare_database`` has run)."""
        async with self.engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: inspect(sync).has_table(Artikel.__tablename__)
            )

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
