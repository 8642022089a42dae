"""The audit store: an append-only table of decisions and a table of action states, in SQLite.

All SQLite work runs in one dedicated thread that owns the connection, so the
event loop never blocks on the disk and writes stay in submission order. The
database runs in WAL mode with ``synchronous=NORMAL``: a committed decision
survives a crash of the process, while the last transactions before a power
loss may be lost.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pydantic_core

from optimizer.decisions import ActionRecord, Decision

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    result TEXT NOT NULL,
    reason TEXT NOT NULL,
    rule TEXT NOT NULL,
    action TEXT NOT NULL,
    knob TEXT NOT NULL,
    target TEXT NOT NULL,
    alertname TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    starts_at TEXT,
    alert_status TEXT NOT NULL,
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    labels TEXT NOT NULL,
    parent_id INTEGER REFERENCES decisions (id),
    duration_seconds REAL
);
CREATE INDEX IF NOT EXISTS decisions_recorded_at ON decisions (recorded_at);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision audit is append-only'); END;

CREATE TABLE IF NOT EXISTS actions (
    decision_id INTEGER PRIMARY KEY REFERENCES decisions (id),
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    knob TEXT NOT NULL,
    target TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    started_at TEXT NOT NULL,
    status TEXT NOT NULL,
    change_id TEXT,
    value REAL,
    previous REAL,
    expires_at TEXT,
    finished_at TEXT,
    duration_seconds REAL,
    error TEXT,
    verification TEXT,
    verified_at TEXT,
    reverted_at TEXT
);
CREATE INDEX IF NOT EXISTS actions_started_at ON actions (started_at);
"""

_DECISION_COLUMNS = (
    "recorded_at, received_at, result, reason, rule, action, knob, target, alertname, "
    "fingerprint, starts_at, alert_status, receiver, group_key, labels, parent_id, "
    "duration_seconds"
)
_ACTION_COLUMNS = (
    "decision_id, rule, kind, knob, target, fingerprint, starts_at, started_at, status, "
    "change_id, value, previous, expires_at, finished_at, duration_seconds, error, "
    "verification, verified_at, reverted_at"
)


def _placeholders(columns: str) -> str:
    return ", ".join("?" for _ in columns.split(","))


def _prefixed(table: str, columns: str) -> str:
    return ", ".join(f"{table}.{name.strip()}" for name in columns.split(","))


# The statements are put together from the column lists above, never from input:
# every value is a bound parameter.
_INSERT_DECISION = (
    f"INSERT INTO decisions ({_DECISION_COLUMNS}) VALUES ({_placeholders(_DECISION_COLUMNS)})"  # noqa: S608
)
_SAVE_ACTION = (
    f"INSERT OR REPLACE INTO actions ({_ACTION_COLUMNS}) "  # noqa: S608
    f"VALUES ({_placeholders(_ACTION_COLUMNS)})"
)
_SELECT_DECISIONS = (
    f"SELECT d.id, {_prefixed('d', _DECISION_COLUMNS)}, {_prefixed('a', _ACTION_COLUMNS)} "  # noqa: S608
    "FROM decisions d LEFT JOIN actions a ON a.decision_id = d.id"
)
_DECISIONS_SINCE = (
    f"SELECT id, {_DECISION_COLUMNS} FROM decisions WHERE recorded_at >= ? ORDER BY id"  # noqa: S608
)
_ACTIONS_SINCE = (
    f"SELECT {_ACTION_COLUMNS} FROM actions "  # noqa: S608
    "WHERE started_at >= ? OR status IN ('running', 'succeeded') ORDER BY decision_id"
)
_FILTER_COLUMNS = ("rule", "result", "target", "alertname")


@dataclass(frozen=True, slots=True)
class DecisionQuery:
    """Filters and page of ``GET /decisions``; ``before_id`` continues a previous page."""

    rule: str | None = None
    result: str | None = None
    target: str | None = None
    alertname: str | None = None
    since: datetime | None = None
    before_id: int | None = None
    limit: int = 100


class AuditStore:
    """Writes and reads decisions and actions; every method runs in the store's own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-store")
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        await self._run(self._open)

    async def close(self) -> None:
        if self._connection is not None:
            await self._run(self._close)
        self._executor.shutdown(wait=True)

    async def append(
        self, decisions: Sequence[Decision], actions: Sequence[tuple[Decision, ActionRecord]] = ()
    ) -> None:
        """Append decisions and insert the actions they start, in one transaction.

        Sets the ids of the decisions and the ``decision_id`` of the actions.
        """
        await self._run(lambda: self._append(decisions, actions))

    async def save_action(self, action: ActionRecord) -> None:
        """Insert or replace the state of one action."""
        await self._run(lambda: self._save_action(action))

    async def decisions(self, query: DecisionQuery) -> list[tuple[Decision, ActionRecord | None]]:
        return await self._run(lambda: self._decisions(query))

    async def history(self, since: datetime) -> tuple[list[Decision], list[ActionRecord]]:
        """Return decisions recorded since ``since`` (oldest first) and actions still relevant.

        Actions are relevant when they started since ``since`` or may still be in force.
        """
        return await self._run(lambda: self._history(since))

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    # The methods below run in the store's thread.

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.executescript(_SCHEMA)
        self._connection = connection

    def _close(self) -> None:
        self._db.close()
        self._connection = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError(f"the audit store {self.path} is not open")
        return self._connection

    def _append(
        self, decisions: Sequence[Decision], actions: Sequence[tuple[Decision, ActionRecord]]
    ) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(_INSERT_DECISION, [_decision_row(decision) for decision in decisions])
            # One writer inside one transaction, and rows are never deleted, so the new
            # rows got consecutive rowids ending at the last one inserted.
            last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
            for offset, decision in enumerate(decisions):
                decision.id = last - len(decisions) + 1 + offset
            for decision, action in actions:
                if decision.id is None:
                    raise RuntimeError(f"action on {action.target} has no recorded decision")
                action.decision_id = decision.id
                db.execute(_SAVE_ACTION, _action_row(action))
        except BaseException:
            db.execute("ROLLBACK")
            for decision in decisions:
                decision.id = None
            raise
        db.execute("COMMIT")

    def _save_action(self, action: ActionRecord) -> None:
        self._db.execute(_SAVE_ACTION, _action_row(action))

    def _decisions(self, query: DecisionQuery) -> list[tuple[Decision, ActionRecord | None]]:
        conditions: list[str] = []
        parameters: list[Any] = []
        for column in _FILTER_COLUMNS:
            value = getattr(query, column)
            if value is not None:
                conditions.append(f"d.{column} = ?")
                parameters.append(value)
        if query.since is not None:
            conditions.append("d.recorded_at >= ?")
            parameters.append(_iso(query.since))
        if query.before_id is not None:
            conditions.append("d.id < ?")
            parameters.append(query.before_id)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        statement = f"{_SELECT_DECISIONS}{where} ORDER BY d.id DESC LIMIT ?"
        rows = self._db.execute(statement, [*parameters, query.limit]).fetchall()
        width = len(_DECISION_COLUMNS.split(",")) + 1
        return [
            (
                _decision_from_row(row[:width]),
                None if row[width] is None else _action_from_row(row[width:]),
            )
            for row in rows
        ]

    def _history(self, since: datetime) -> tuple[list[Decision], list[ActionRecord]]:
        decisions = self._db.execute(_DECISIONS_SINCE, [_iso(since)]).fetchall()
        actions = self._db.execute(_ACTIONS_SINCE, [_iso(since)]).fetchall()
        return [_decision_from_row(row) for row in decisions], [
            _action_from_row(row) for row in actions
        ]


@functools.lru_cache(maxsize=4096)
def _iso(value: datetime) -> str:
    # Cached: the decisions of one notification share their times.
    return value.isoformat(timespec="microseconds")


def _optional_iso(value: datetime | None) -> str | None:
    return None if value is None else _iso(value)


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _decision_row(decision: Decision) -> tuple[Any, ...]:
    return (
        _iso(decision.recorded_at),
        _iso(decision.received_at),
        decision.result,
        decision.reason,
        decision.rule,
        decision.action,
        decision.knob,
        decision.target,
        decision.alertname,
        decision.fingerprint,
        _optional_iso(decision.starts_at),
        decision.alert_status,
        decision.receiver,
        decision.group_key,
        pydantic_core.to_json(decision.labels).decode(),
        decision.parent_id,
        decision.duration_seconds,
    )


def _decision_from_row(row: Iterable[Any]) -> Decision:
    (
        decision_id,
        recorded_at,
        received_at,
        result,
        reason,
        rule,
        action,
        knob,
        target,
        alertname,
        fingerprint,
        starts_at,
        alert_status,
        receiver,
        group_key,
        labels,
        parent_id,
        duration_seconds,
    ) = row
    return Decision(
        id=decision_id,
        recorded_at=datetime.fromisoformat(recorded_at),
        received_at=datetime.fromisoformat(received_at),
        result=result,
        reason=reason,
        rule=rule,
        action=action,
        knob=knob,
        target=target,
        alertname=alertname,
        fingerprint=fingerprint,
        starts_at=_parse(starts_at),
        alert_status=alert_status,
        receiver=receiver,
        group_key=group_key,
        labels=json.loads(labels),
        parent_id=parent_id,
        duration_seconds=duration_seconds,
    )


def _action_row(action: ActionRecord) -> tuple[Any, ...]:
    return (
        action.decision_id,
        action.rule,
        action.kind,
        action.knob,
        action.target,
        action.fingerprint,
        _iso(action.starts_at),
        _iso(action.started_at),
        action.status,
        action.change_id,
        action.value,
        action.previous,
        _optional_iso(action.expires_at),
        _optional_iso(action.finished_at),
        action.duration_seconds,
        action.error,
        action.verification,
        _optional_iso(action.verified_at),
        _optional_iso(action.reverted_at),
    )


def _action_from_row(row: Iterable[Any]) -> ActionRecord:
    values = list(row)
    record = ActionRecord(
        rule=values[1],
        kind=values[2],
        knob=values[3],
        target=values[4],
        fingerprint=values[5],
        starts_at=datetime.fromisoformat(values[6]),
        started_at=datetime.fromisoformat(values[7]),
        decision_id=values[0],
        status=values[8],
    )
    record.change_id = values[9]
    record.value = values[10]
    record.previous = values[11]
    record.expires_at = _parse(values[12])
    record.finished_at = _parse(values[13])
    record.duration_seconds = values[14]
    record.error = values[15]
    record.verification = values[16]
    record.verified_at = _parse(values[17])
    record.reverted_at = _parse(values[18])
    return record
