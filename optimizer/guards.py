"""The guards between a matching rule and an action, with the state they need.

The state lives in memory for speed and is rebuilt from the audit store at start,
so a restart keeps cooldowns, budgets, duplicates and changes in force.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from optimizer.decisions import ACTED, ActionRecord, Decision, Result
from optimizer.durations import format_duration
from optimizer.rules import Rule, RuleSet

Occurrence = tuple[str, datetime]  # (fingerprint, startsAt): one firing of one alert


@dataclass(frozen=True, slots=True)
class Verdict:
    result: Result
    reason: str


class Guards:
    """Duplicate, staleness, cooldown, budget, escalation and conflict checks."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.reset()

    def reset(self) -> None:
        """Forget all state, before loading it again from the audit."""
        # (fingerprint, startsAt, rule, target) of every occurrence acted on.
        # The value is the result (executed or dry_run): plain strings keep this large
        # map out of the garbage collector's way.
        self._acted: dict[tuple[str, datetime, str, str], str] = {}
        self._resolved: set[Occurrence] = set()
        self._last_acted: dict[tuple[str, str], datetime] = {}
        self._attempts: defaultdict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._actions: deque[datetime] = deque()
        self._failures: defaultdict[str, deque[datetime]] = defaultdict(deque)
        # Executed actions by occurrence, for reverts on resolved.
        self._by_occurrence: defaultdict[Occurrence, list[ActionRecord]] = defaultdict(list)
        # Changes that may be in force, by (target, knob).
        self._in_force: dict[tuple[str, str], ActionRecord] = {}

    def load(self, decisions: Iterable[Decision], actions: Iterable[ActionRecord]) -> None:
        """Rebuild the state from the audit, oldest record first."""
        for decision in decisions:
            self.note_decision(decision)
        for action in actions:
            self.note_action(action)
            if action.status == "failed" and action.finished_at is not None:
                self._failures[action.target].append(action.finished_at)
            if action.verification == "not_improved" and action.verified_at is not None:
                self._failures[action.target].append(action.verified_at)
        for failures in self._failures.values():
            ordered = sorted(failures)
            failures.clear()
            failures.extend(ordered)

    def check(
        self,
        rule: Rule,
        fingerprint: str,
        starts_at: datetime,
        target: str,
        knob: str,
        now: datetime,
    ) -> Verdict | None:
        """Return why the rule may not act on ``target`` now, or None when it may."""
        key = (fingerprint, starts_at, rule.name, target)
        earlier = self._acted.get(key)
        if earlier is not None:
            return Verdict(
                "duplicate", f"rule {rule.name} already acted on this occurrence ({earlier})"
            )

        age = now - starts_at
        if age > self.rules.stale_after:
            return Verdict(
                "stale",
                f"the alert started {format_duration(_whole_seconds(age))} ago, longer than "
                f"stale_after {format_duration(self.rules.stale_after)}",
            )

        last = self._last_acted.get((rule.name, target))
        if last is not None and now - last < rule.cooldown:
            since = format_duration(_whole_seconds(now - last))
            remaining = format_duration(_whole_seconds(rule.cooldown - (now - last)))
            return Verdict(
                "cooldown",
                f"rule {rule.name} acted on {target} {since} ago; "
                f"cooldown {format_duration(rule.cooldown)} ends in {remaining}",
            )

        escalation = self.rules.escalation
        failures = _count_since(self._failures.get(target), now - escalation.window)
        if failures >= escalation.max_failed_attempts:
            return Verdict(
                "budget",
                f"{failures} failed attempts on {target} in {format_duration(escalation.window)}; "
                "acting stopped and the target escalated to people",
            )

        attempts = _count_since(self._attempts.get((rule.name, target)), now - rule.attempt_window)
        if attempts >= rule.max_attempts:
            return Verdict(
                "budget",
                f"rule {rule.name} already acted {attempts} times on {target} in "
                f"{format_duration(rule.attempt_window)} (max_attempts {rule.max_attempts})",
            )

        budget = self.rules.budget
        recent = _count_since(self._actions, now - budget.window)
        if recent >= budget.max_actions:
            return Verdict(
                "budget",
                f"{recent} actions in the last {format_duration(budget.window)} reach the global "
                f"budget of {budget.max_actions}",
            )

        holder = self.change_in_force(target, knob, now)
        if holder is not None and holder.rule != rule.name:
            holder_rule = self._rule(holder.rule)
            holder_priority = 0 if holder_rule is None else holder_rule.priority
            if holder.status == "running" or rule.priority <= holder_priority:
                return Verdict(
                    "conflict",
                    f"{knob} on {target} is held by rule {holder.rule} "
                    f"(decision {holder.decision_id}, {holder.status}, priority {holder_priority})",
                )
        return None

    def is_resolved_duplicate(self, fingerprint: str, starts_at: datetime) -> bool:
        return (fingerprint, starts_at) in self._resolved

    def actions_of(self, fingerprint: str, starts_at: datetime) -> list[ActionRecord]:
        return list(self._by_occurrence.get((fingerprint, starts_at), []))

    def change_in_force(self, target: str, knob: str, now: datetime) -> ActionRecord | None:
        action = self._in_force.get((target, knob))
        if action is None:
            return None
        if action.status == "running":
            return action
        if action.status != "succeeded" or action.change_id is None:
            return None
        if action.expires_at is not None and action.expires_at <= now:
            return None
        return action

    def failures(self, target: str, now: datetime) -> int:
        return _count_since(self._failures.get(target), now - self.rules.escalation.window)

    def note_decision(self, decision: Decision) -> None:
        """Update the state with a decision just made (or read back from the audit)."""
        if decision.starts_at is None:
            return
        if decision.result in ACTED:
            key = (decision.fingerprint, decision.starts_at, decision.rule, decision.target)
            self._acted[key] = decision.result
            self._last_acted[(decision.rule, decision.target)] = decision.recorded_at
            self._attempts[(decision.rule, decision.target)].append(decision.recorded_at)
            self._actions.append(decision.recorded_at)
        elif decision.result == "resolved" or (
            decision.result == "duplicate" and decision.alert_status == "resolved"
        ):
            self._resolved.add((decision.fingerprint, decision.starts_at))

    def note_action(self, action: ActionRecord) -> None:
        """Track an action that started, or the new state of one already tracked."""
        occurrence = self._by_occurrence[(action.fingerprint, action.starts_at)]
        for index, known in enumerate(occurrence):
            # A record read back from the audit and the runner's own record are one action.
            if known is action or (action.decision_id and known.decision_id == action.decision_id):
                occurrence[index] = action
                break
        else:
            occurrence.append(action)
        key = (action.target, action.knob)
        in_force = action.status == "running" or (
            action.status == "succeeded" and action.change_id is not None
        )
        if in_force:
            self._in_force[key] = action
        elif self._in_force.get(key) is action:
            del self._in_force[key]

    def note_failure(self, target: str, at: datetime) -> int:
        """Count a failed attempt on ``target`` and return the failures in the window."""
        self._failures[target].append(at)
        return self.failures(target, at)

    def forget_before(self, horizon: datetime) -> None:
        """Drop state older than ``horizon`` so memory stays bounded on a long run."""
        for times in [self._actions, *self._attempts.values(), *self._failures.values()]:
            while times and times[0] < horizon:
                times.popleft()
        self._acted = {key: value for key, value in self._acted.items() if key[1] >= horizon}
        self._resolved = {key for key in self._resolved if key[1] >= horizon}
        self._last_acted = {key: at for key, at in self._last_acted.items() if at >= horizon}
        for occurrence in [key for key in self._by_occurrence if key[1] < horizon]:
            if all(
                action.status not in ("running", "succeeded")
                for action in self._by_occurrence[occurrence]
            ):
                del self._by_occurrence[occurrence]

    def _rule(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules.rules if rule.name == name), None)


def _count_since(times: deque[datetime] | None, start: datetime) -> int:
    """Drop the times at or before ``start`` and count the rest.

    Each deque is only ever read with one window, so what falls out of it is never
    needed again, and a check costs no more than the times it drops.
    """
    if not times:
        return 0
    while times and times[0] <= start:
        times.popleft()
    return len(times)


def _whole_seconds(duration: timedelta) -> timedelta:
    return timedelta(seconds=int(duration.total_seconds()))
