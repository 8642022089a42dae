"""Engines and sessions of one process.

An engine owns a connection pool, which must never cross a ``fork``: the app
creates its ``Database`` in the lifespan of each worker process.

On SQLite every connection runs in WAL mode, where readers never block the
writer, and waits up to a busy timeout for the write lock. Write transactions
start with ``BEGIN IMMEDIATE``, so a writer takes the write lock before it
reads. Two processes that read and then write therefore never deadlock on the
lock upgrade: the second one waits instead.

aiosqlite runs every driver call on the connection's own thread and resumes
the caller through the event loop, so each call costs one turn of a loop that
is busy with other requests. A write session makes 30 to 50 such calls while it
holds the file's write lock, and on a loaded worker those turns, not SQLite,
made up most of the time the lock was held. Once ``BEGIN IMMEDIATE`` has taken
the lock, no statement of the transaction can wait for another connection, so
a write session's statements run directly on the event loop's thread until
its commit or rollback, which go back to the connection's thread (a commit may
checkpoint the WAL).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, make_url
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

# Execution option: run the statements of a BEGIN IMMEDIATE transaction on the
# event loop's thread instead of the connection's thread.
SQLITE_INLINE_WRITES = "leitstand_sqlite_inline_writes"

# Rows aiosqlite fetches per call when iterating a cursor (its own default).
_ITER_CHUNK_SIZE = 64


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for ``settings.database_url`` with the SQLite set-up."""
    if make_url(settings.database_url).get_backend_name() != "sqlite":
        return create_async_engine(settings.database_url)
    engine = create_async_engine(
        settings.database_url, connect_args={"async_creator_fn": _connect_sqlite}
    )
    _configure_sqlite(engine)
    return engine


class SqliteConnection(aiosqlite.Connection):
    """An aiosqlite connection that can run its calls on the caller's thread.

    While ``inline`` is set, each call runs at once on the calling thread
    instead of being queued to the connection's thread. Set it only while the
    connection holds SQLite's write lock, so that no call waits for a lock,
    and only while no queued call is running (every call is awaited in turn).
    """

    inline = False

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.inline:
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _connect_sqlite(database: str, **kwargs: Any) -> SqliteConnection:
    # The sqlite3 connection is used from two threads, never at the same time.
    kwargs["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        opened: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return opened

    connection = SqliteConnection(connector, _ITER_CHUNK_SIZE)
    connection._thread.daemon = True
    return connection


def _set_inline(driver_connection: Any, inline: bool) -> None:
    if isinstance(driver_connection, SqliteConnection):
        driver_connection.inline = inline


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
        options = connection.get_execution_options()
        mode = options.get(SQLITE_BEGIN_MODE, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
        if mode == "IMMEDIATE" and options.get(SQLITE_INLINE_WRITES, False):
            _set_inline(connection.connection.driver_connection, True)

    # Both fire before the driver's commit or rollback, which therefore run on
    # the connection's thread again.
    @event.listens_for(engine.sync_engine, "commit")
    def _on_commit(connection: Connection) -> None:
        _set_inline(connection.connection.driver_connection, False)

    @event.listens_for(engine.sync_engine, "rollback")
    def _on_rollback(connection: Connection) -> None:
        _set_inline(connection.connection.driver_connection, False)

    # A connection that goes back to the pool or is invalidated mid-transaction
    # skips the events above.
    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        _set_inline(connection_record.driver_connection, False)


class Database:
    """The engine of one process and the session factories built on it."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        info = {EAGER_LOADING: settings.eager_loading}
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False, info=info)
        writer = self.engine.execution_options(
            **{SQLITE_BEGIN_MODE: "IMMEDIATE", SQLITE_INLINE_WRITES: True}
        )
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
