"""Database metrics from SQLAlchemy engine and pool events.

``instrument_engine`` attaches the listeners to one engine. Statements are
timed between ``before_cursor_execute`` and ``after_cursor_execute``, and
counted against the request that ran them through a context variable that the
HTTP middleware sets per request.
"""

from __future__ import annotations

import os
import time
from contextvars import ContextVar
from typing import Any

from prometheus_client import Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

QUERIES_PER_REQUEST_BUCKETS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500)
QUERY_DURATION_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

QUERIES_PER_REQUEST = Histogram(
    "erp_db_queries_per_request",
    "Database statements run while answering one HTTP request, by route template.",
    ["handler"],
    buckets=QUERIES_PER_REQUEST_BUCKETS,
)
QUERY_DURATION = Histogram(
    "erp_db_query_duration_seconds",
    "Time from handing a statement to the database driver to its result, by SQL operation.",
    ["operation"],
    buckets=QUERY_DURATION_BUCKETS,
)
POOL_CONNECTIONS = Gauge(
    "erp_db_pool_connections",
    "Connections held by the database pools: in_use (checked out) or idle (in the pool).",
    ["state"],
    multiprocess_mode="livesum",
)

# The first word of a statement, upper-cased, to the operation label.
_OPERATIONS = {word: word.lower() for word in ("SELECT", "INSERT", "UPDATE", "DELETE")}
_OTHER_OPERATION = "other"
_START_TIMES = "leitstand_statement_start_times"


class QueryCount:
    """Statements run so far by one request."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


# The count of the request this task (or thread) works for; the HTTP
# middleware sets it. Background work outside a request counts nowhere.
request_queries: ContextVar[QueryCount | None] = ContextVar("request_queries", default=None)


def instrument_engine(engine: AsyncEngine | Engine) -> None:
    """Attach the statement and pool listeners to ``engine``; a second call does nothing."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if event.contains(sync_engine, "before_cursor_execute", _before_cursor_execute):
        return
    event.listen(sync_engine, "before_cursor_execute", _before_cursor_execute)
    event.listen(sync_engine, "after_cursor_execute", _after_cursor_execute)
    event.listen(sync_engine, "handle_error", _handle_error)

    pool = sync_engine.pool
    event.listen(pool, "connect", _POOL.on_connect)
    event.listen(pool, "close", _POOL.on_close)
    event.listen(pool, "checkout", _POOL.on_checkout)
    event.listen(pool, "checkin", _POOL.on_checkin)
    event.listen(pool, "detach", _POOL.on_detach)


def _before_cursor_execute(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    conn.info.setdefault(_START_TIMES, []).append(time.perf_counter())
    count = request_queries.get()
    if count is not None:
        count.value += 1


def _after_cursor_execute(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    started = conn.info[_START_TIMES].pop()
    operation = _OPERATIONS.get(statement.lstrip()[:6].upper(), _OTHER_OPERATION)
    QUERY_DURATION.labels(operation).observe(time.perf_counter() - started)


def _handle_error(context: Any) -> None:
    # A failed statement never reaches after_cursor_execute; drop its start time.
    connection = context.connection
    if connection is not None:
        starts = connection.info.get(_START_TIMES)
        if starts:
            starts.pop()


class _PoolAccount:
    """Open and checked-out connections of this process's pools, published as gauges.

    The pool's own ``checkedout()`` is not yet updated when the ``checkin``
    event fires, so the account counts the events itself.
    """

    def __init__(self) -> None:
        self.open = 0
        self.in_use = 0
        self._in_use_gauge = POOL_CONNECTIONS.labels("in_use")
        self._idle_gauge = POOL_CONNECTIONS.labels("idle")

    def reset(self) -> None:
        # A forked worker starts with no connections; the parent's stay its own.
        self.open = 0
        self.in_use = 0

    def on_connect(self, dbapi_connection: Any, record: Any) -> None:
        self.open += 1
        self._publish()

    def on_close(self, dbapi_connection: Any, record: Any) -> None:
        self.open -= 1
        self._publish()

    def on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        self.in_use += 1
        self._publish()

    def on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        self.in_use -= 1
        self._publish()

    def on_detach(self, dbapi_connection: Any, record: Any) -> None:
        # A detached connection leaves the pool while checked out, and no
        # checkin event follows; its later close is a close_detached event.
        self.open -= 1
        self.in_use -= 1
        self._publish()

    def _publish(self) -> None:
        self._in_use_gauge.set(self.in_use)
        self._idle_gauge.set(self.open - self.in_use)


_POOL = _PoolAccount()
os.register_at_fork(after_in_child=_POOL.reset)
