"""Changes and reverts of knobs: validated, recorded, logged, and in force in every worker.

For each knob the shared state holds, besides the value itself:

- ``control.<knob>.change``: the number of the change in force (0: none),
- ``control.<knob>.expires_at``: when that change reverts by itself (0: never),
- ``control.<knob>.changes``: how many changes and reverts the knob has seen.

Every write happens with the change log's lock held, so a revert compares the
change in force and restores the value it replaced as one step: of several
workers that notice an expired change at once, exactly one reverts it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from app.control.changes import (
    ChangeLog,
    ChangeRecord,
    RevertRecord,
    format_change_id,
    new_change_id,
    parse_change_id,
)
from app.control.knobs import Knob, UnknownKnobError
from app.shared_state import SharedState

logger = logging.getLogger("leitstand.control")


class ChangeNotFoundError(LookupError):
    """No change with the requested id was ever made on this instance."""


class ChangeNotInForceError(RuntimeError):
    """The change to revert was already reverted or replaced by a newer one."""


@dataclass(frozen=True, slots=True)
class KnobStatus:
    """A knob's value in force and the change that set it."""

    knob: Knob
    value: float
    change_id: str | None
    expires_at: datetime | None


def change_key(knob: str) -> str:
    return f"control.{knob}.change"


def expires_key(knob: str) -> str:
    return f"control.{knob}.expires_at"


def changes_key(knob: str) -> str:
    return f"control.{knob}.changes"


def to_datetime(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def to_isoformat(epoch: float | None) -> str | None:
    """Format seconds since the epoch as ISO 8601 UTC, such as ``2026-12-04T17:10:00+00:00``."""
    moment = to_datetime(epoch)
    return None if moment is None else moment.isoformat()


class Controller:
    """Apply, revert and expire knob changes for every worker of one app instance."""

    def __init__(
        self,
        state: SharedState,
        knobs: Iterable[Knob],
        log: ChangeLog,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.knobs = {knob.name: knob for knob in knobs}
        self.log = log
        self._clock = clock
        # Allocate the slots now: a missing name costs a scan of the slot table on every read,
        # and the expiry check reads every knob's time limit twice a second.
        for name in self.knobs:
            for key in (change_key(name), expires_key(name), changes_key(name)):
                state.setdefault(key, 0.0)

    def knob(self, name: str) -> Knob:
        try:
            return self.knobs[name]
        except KeyError:
            known = ", ".join(sorted(self.knobs))
            raise UnknownKnobError(f"unknown knob {name!r}; known knobs: {known}") from None

    def describe(self) -> list[KnobStatus]:
        """Return every knob's status, after reverting the changes whose time ran out."""
        self.expire_due()
        statuses = []
        for knob in self.knobs.values():
            expires_at = self.state.get(expires_key(knob.name))
            statuses.append(
                KnobStatus(
                    knob=knob,
                    value=knob.read(),
                    change_id=self.in_force(knob.name),
                    expires_at=to_datetime(expires_at) if expires_at else None,
                )
            )
        return statuses

    def change(
        self,
        name: str,
        value: float,
        *,
        reason: str,
        requested_by: str,
        ttl_seconds: float | None = None,
    ) -> ChangeRecord:
        """Set a knob in every worker and record the change; raise on an unknown knob or value."""
        knob = self.knob(name)
        value = knob.validate(value)

        self.expire_due()
        with self.log.locked():
            now = self._clock()
            replaced = int(self.state.get(change_key(name)))
            replaced_expires_at = self.state.get(expires_key(name))
            record = ChangeRecord(
                change_id=format_change_id(new_change_id()),
                knob=name,
                value=value,
                previous=knob.read(),
                replaced=format_change_id(replaced) if replaced else None,
                replaced_expires_at=replaced_expires_at or None,
                expires_at=now + ttl_seconds if ttl_seconds is not None else None,
                reason=reason,
                requested_by=requested_by,
                at=now,
            )
            knob.write(value)
            self._set_in_force(name, record.change_id, record.expires_at)
            self.log.append(record)
            self.state.add(changes_key(name))

        logger.info(
            "Changed %s from %s to %s (change %s, requested by %s, reason: %s, reverts: %s)",
            name,
            knob.format(record.previous),
            knob.format(value),
            record.change_id,
            requested_by,
            reason,
            to_isoformat(record.expires_at) or "never",
            extra={"change_id": record.change_id, "knob": name, "requested_by": requested_by},
        )
        return record

    def revert(self, change_id: str, *, reason: str, requested_by: str) -> RevertRecord:
        """Undo one change while it is still in force, restoring the value it replaced."""
        self.expire_due()
        with self.log.locked():
            change, revert = self.log.find(change_id)
            if change is None:
                raise ChangeNotFoundError(f"no change {change_id!r} on this instance")
            if revert is not None:
                ending = "expired" if revert.cause == "expired" else "was reverted"
                raise ChangeNotInForceError(
                    f"change {change_id} to {change.knob} is no longer in force: "
                    f"it {ending} at {to_isoformat(revert.at)}"
                )
            in_force = int(self.state.get(change_key(change.knob)))
            if in_force != parse_change_id(change_id):
                raise ChangeNotInForceError(
                    f"change {change_id} to {change.knob} is no longer in force: "
                    + (
                        f"change {format_change_id(in_force)} replaced it"
                        if in_force
                        else "the shared state names no change (a new state file)"
                    )
                )
            record = self._revert_locked(change, "request", reason, requested_by)

        self._log_revert(record)
        return record

    def in_force(self, name: str) -> str | None:
        """Return the id of the change in force on knob ``name``, or None."""
        number = int(self.state.get(change_key(name)))
        return format_change_id(number) if number else None

    def has_due(self) -> bool:
        """Return whether a change's time limit has run out, without taking the lock."""
        now = self._clock()
        return any(0 < self.state.get(expires_key(name)) <= now for name in self.knobs)

    def expire_due(self) -> list[RevertRecord]:
        """Revert every change whose time limit has run out; cheap when none has."""
        if not self.has_due():
            return []
        with self.log.locked():
            records = self._expire_due_locked()
        for record in records:
            self._log_revert(record)
        return records

    def record_action(self, label: str, *, reason: str, requested_by: str, message: str) -> None:
        """Log and count an action that is not a revertible knob change (a cache clear)."""
        self.state.add(changes_key(label))
        logger.info(
            "%s (requested by %s, reason: %s)",
            message,
            requested_by,
            reason,
            extra={"knob": label, "requested_by": requested_by},
        )

    def _expire_due_locked(self) -> list[RevertRecord]:
        records: list[RevertRecord] = []
        # A revert can bring back a replaced change whose own time ran out meanwhile,
        # so this repeats until no knob is due. Every round ends one change for good.
        while True:
            now = self._clock()
            due = [n for n in self.knobs if 0 < self.state.get(expires_key(n)) <= now]
            if not due:
                return records
            for name in due:
                number = int(self.state.get(change_key(name)))
                change, _ = self.log.find(format_change_id(number))
                if change is None:
                    # The state names a change the log lacks (a log removed by hand).
                    self._set_in_force(name, None, None)
                    continue
                records.append(self._revert_locked(change, "expired", "time limit ran out", "ttl"))

    def _revert_locked(
        self,
        change: ChangeRecord,
        cause: Literal["request", "expired"],
        reason: str,
        requested_by: str,
    ) -> RevertRecord:
        knob = self.knob(change.knob)
        knob.write(change.previous)
        self._set_in_force(change.knob, change.replaced, change.replaced_expires_at)
        record = RevertRecord(
            change_id=change.change_id,
            knob=change.knob,
            restored=change.previous,
            cause=cause,
            reason=reason,
            requested_by=requested_by,
            at=self._clock(),
        )
        self.log.append(record)
        self.state.add(changes_key(change.knob))
        return record

    def _set_in_force(self, name: str, change_id: str | None, expires_at: float | None) -> None:
        number = parse_change_id(change_id) if change_id else None
        self.state.set(change_key(name), float(number or 0))
        self.state.set(expires_key(name), expires_at or 0.0)

    def _log_revert(self, record: RevertRecord) -> None:
        knob = self.knobs[record.knob]
        logger.info(
            "Reverted change %s: %s back to %s (%s, requested by %s, reason: %s)",
            record.change_id,
            record.knob,
            knob.format(record.restored),
            "time limit ran out" if record.cause == "expired" else "on request",
            record.requested_by,
            record.reason,
            extra={
                "change_id": record.change_id,
                "knob": record.knob,
                "requested_by": record.requested_by,
            },
        )
