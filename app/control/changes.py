"""The change log: every change and revert of a knob, shared by all workers of one instance.

The shared state contains floats only, so the records that do not fit there (reason,
requester, the value a change replaced) live in a JSON-lines file next to the
state file. The same file is the lock that makes a change or a revert atomic
across workers: ``fcntl.flock`` on a file descriptor of its own, so two threads
of one process exclude each other as well. An app without a state file (tests,
one process) keeps the log in memory behind a thread lock.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger("leitstand.control")

# Change ids are random 48-bit numbers. A float64 in the shared state stores them exactly,
# and an id from before a restart names a change made after it with a chance of 2**-48.
_ID_BITS = 48
_ID_PREFIX = "c-"


def new_change_id() -> int:
    return secrets.randbits(_ID_BITS) or 1  # 0 in the shared state means "no change in force"


def format_change_id(number: int) -> str:
    return f"{_ID_PREFIX}{number:012x}"


def parse_change_id(text: str) -> int | None:
    """Return the number of a change id such as ``c-0003f2a9d1e4``, or None if it is malformed."""
    if not text.startswith(_ID_PREFIX):
        return None
    digits = text.removeprefix(_ID_PREFIX)
    if not 1 <= len(digits) <= _ID_BITS // 4:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """A knob change; times are seconds since the epoch (UTC)."""

    change_id: str
    knob: str
    value: float
    previous: float
    replaced: str | None  # the change in force before this one, restored by a revert
    replaced_expires_at: float | None
    expires_at: float | None
    reason: str
    requested_by: str
    at: float
    event: Literal["change"] = "change"


@dataclass(frozen=True, slots=True)
class RevertRecord:
    """The end of a change: reverted on request or because its time limit ran out."""

    change_id: str
    knob: str
    restored: float
    cause: Literal["request", "expired"]
    reason: str
    requested_by: str
    at: float
    event: Literal["revert"] = "revert"


Entry = ChangeRecord | RevertRecord


class ChangeLog:
    """An append-only list of change and revert records, in a file or in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: list[Entry] = []
        self._thread_lock = threading.Lock()

    @classmethod
    def beside(cls, state_path: Path | None) -> ChangeLog:
        """Return the log that belongs to a shared state file (in memory without one)."""
        if state_path is None:
            return cls(None)
        return cls(state_path.with_name(state_path.name + ".changes.jsonl"))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the instance-wide control lock; not reentrant."""
        if self.path is None:
            with self._thread_lock:
                yield
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def append(self, entry: Entry) -> None:
        """Add ``entry``; call with the lock held."""
        if self.path is None:
            self._memory.append(entry)
            return
        line = json.dumps(asdict(entry), separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def entries(self) -> list[Entry]:
        """Return every record, oldest first."""
        # NOTE: the log is never compacted and every revert reads it whole: fine for the
        # thousands of records an optimizer's action budget allows, slow for millions.
        if self.path is None:
            return list(self._memory)
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        entries: list[Entry] = []
        for number, line in enumerate(text.splitlines(), 1):
            entry = _parse(line, self.path, number)
            if entry is not None:
                entries.append(entry)
        return entries

    def find(self, change_id: str) -> tuple[ChangeRecord | None, RevertRecord | None]:
        """Return the change with ``change_id`` and its revert, each None when absent."""
        change: ChangeRecord | None = None
        revert: RevertRecord | None = None
        for entry in self.entries():
            if entry.change_id != change_id:
                continue
            if isinstance(entry, ChangeRecord):
                change = entry
            else:
                revert = entry
        return change, revert


def _parse(line: str, path: Path, number: int) -> Entry | None:
    if not line.strip():
        return None
    try:
        fields: dict[str, Any] = json.loads(line)
        if fields.get("event") == "revert":
            return RevertRecord(**fields)
        return ChangeRecord(**fields)
    except (ValueError, TypeError) as exc:
        # A line cut short by a crash mid-write; the records around it stay usable.
        logger.warning("Skipping unreadable change record at %s line %d: %s", path, number, exc)
        return None
