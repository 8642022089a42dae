"""Background work after a decision: run the action, verify it, revert it, escalate.

The webhook responds as soon as decisions are recorded; everything here happens
later, in tasks this runner owns and waits for (or cancels) at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import replace
from typing import Any

from optimizer.actions import ActionOutcome, ActionRequest, BoundReachedError
from optimizer.alertmanager import AlertmanagerClient, AlertmanagerError
from optimizer.clock import Clock
from optimizer.control import ControlClient, ControlError
from optimizer.decisions import ActionRecord, Decision
from optimizer.durations import format_duration
from optimizer.guards import Guards
from optimizer.metrics import OptimizerMetrics
from optimizer.prometheus import PrometheusClient, PrometheusError
from optimizer.rules import Rule
from optimizer.store import AuditStore
from optimizer.templates import LabelTemplateError

logger = logging.getLogger("leitstand.optimizer.actions")


class ActionRunner:
    """Runs actions, verifications and reverts as background tasks."""

    def __init__(
        self,
        *,
        control: ControlClient,
        prometheus: PrometheusClient | None,
        alertmanager: AlertmanagerClient | None,
        store: AuditStore,
        guards: Guards,
        clock: Clock,
        metrics: OptimizerMetrics,
        max_concurrent_actions: int,
    ) -> None:
        self._control = control
        self._prometheus = prometheus
        self._alertmanager = alertmanager
        self._store = store
        self._guards = guards
        self._clock = clock
        self._metrics = metrics
        self._slots = asyncio.Semaphore(max_concurrent_actions)
        self._tasks: set[asyncio.Task[None]] = set()
        # Set once an action's call to the app is over, so a revert waits for the change id.
        self._applied: dict[int, asyncio.Event] = {}
        # Calls to the app in progress; verifications waiting on the clock do not count.
        self.busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        """Number of actions, verifications and reverts not finished yet."""
        return len(self._tasks)

    def start_action(
        self, decision: Decision, record: ActionRecord, rule: Rule, labels: Mapping[str, str]
    ) -> None:
        self._applied[record.decision_id] = asyncio.Event()
        self._spawn(self._act(decision, record, rule, labels), f"action {decision.id}")

    def start_revert(self, decision: Decision, record: ActionRecord) -> None:
        self._spawn(self._revert(decision, record), f"revert of action {record.decision_id}")

    async def stop(self, grace_seconds: float) -> None:
        """Give calls to the app ``grace_seconds`` to finish, then cancel all work left.

        Verifications still waiting are dropped; their actions stay recorded as succeeded.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        still_running = list(self._tasks)
        for task in still_running:
            task.cancel()
        await asyncio.gather(*still_running, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        self._metrics.pending_actions.set(len(self._tasks))
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._metrics.pending_actions.set(len(self._tasks))
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def _act(
        self, decision: Decision, record: ActionRecord, rule: Rule, labels: Mapping[str, str]
    ) -> None:
        request = ActionRequest(
            instance=record.target,
            labels=labels,
            reason=f"{decision.alertname} on {record.target} (rule {rule.name}, "
            f"decision {decision.id})",
            ttl_seconds=None if rule.ttl is None else rule.ttl.total_seconds(),
        )
        try:
            succeeded = await self._call_app(decision, record, rule, request)
        finally:
            self._applied.pop(record.decision_id, asyncio.Event()).set()
        if succeeded:
            await self._verify(decision, record, rule, labels)

    async def _call_app(
        self, decision: Decision, record: ActionRecord, rule: Rule, request: ActionRequest
    ) -> bool:
        """Run the action and record its outcome; return whether it succeeded.

        The runner counts as busy until the outcome is recorded, so ``stop`` (and a test
        waiting for quiet) never finds an action half written.
        """
        self._enter()
        try:
            started = self._clock.monotonic()
            outcome, error = await self._apply(decision, rule, request)
            duration = self._clock.monotonic() - started
            self._metrics.action_duration.labels(action=record.kind).observe(duration)
            record.finished_at = self._clock.now()
            record.duration_seconds = duration
            if outcome is None:
                record.status = "failed"
                record.error = error
                await self._record_failure(decision, record, rule)
                return False

            record.status = "succeeded"
            record.change_id = outcome.change_id
            record.value = outcome.value
            record.previous = outcome.previous
            record.expires_at = outcome.expires_at
            self._guards.note_action(record)
            await self._store.save_action(record)
        finally:
            self._leave()
        logger.info(
            "rule %s: %s on %s done (change %s, %.3f s)",
            rule.name,
            rule.action.describe(request.labels),
            record.target,
            record.change_id,
            duration,
            extra=_ids(decision, "succeeded"),
        )
        return True

    async def _apply(
        self, decision: Decision, rule: Rule, request: ActionRequest
    ) -> tuple[ActionOutcome | None, str]:
        try:
            async with self._slots:
                return await rule.action.apply(self._control, request), ""
        except (ControlError, BoundReachedError, LabelTemplateError) as failure:
            return None, str(failure)
        except Exception as failure:
            logger.exception("action of decision %s raised", decision.id)
            return None, f"{type(failure).__name__}: {failure}"

    def _enter(self) -> None:
        self.busy += 1
        self._idle.clear()

    def _leave(self) -> None:
        self.busy -= 1
        if self.busy == 0:
            self._idle.set()

    async def _record_failure(self, decision: Decision, record: ActionRecord, rule: Rule) -> None:
        self._guards.note_action(record)
        await self._store.save_action(record)
        now = self._clock.now()
        failed = replace(
            decision,
            id=None,
            result="failed",
            reason=record.error or "the action failed",
            received_at=decision.received_at,
            recorded_at=now,
            parent_id=decision.id,
            duration_seconds=record.duration_seconds,
        )
        await self._store.append([failed])
        self._metrics.decisions.labels(rule=rule.name, action=record.kind, result="failed").inc()
        logger.warning(
            "rule %s: action on %s failed: %s",
            rule.name,
            record.target,
            record.error,
            extra=_ids(failed, "failed"),
        )
        await self._count_failure(decision, record, rule)

    async def _verify(
        self, decision: Decision, record: ActionRecord, rule: Rule, labels: Mapping[str, str]
    ) -> None:
        # Ask Prometheus, some time after the change, whether the alert's condition is gone.
        if self._prometheus is None:
            return
        after = rule.verify.after or self._guards.rules.verify_after
        await self._clock.sleep(after.total_seconds())
        expression = rule.verify_query(labels, record.target)
        try:
            samples = await self._prometheus.query(expression)
        except PrometheusError as error:
            record.verification = "error"
            logger.warning("rule %s: cannot verify %s: %s", rule.name, record.target, error)
        else:
            record.verification = "not_improved" if samples else "improved"
        record.verified_at = self._clock.now()
        await self._store.save_action(record)
        self._metrics.verifications.labels(result=record.verification).inc()
        logger.info(
            "rule %s: verification on %s: %s (%s)",
            rule.name,
            record.target,
            record.verification,
            expression,
            extra=_ids(decision, record.verification),
        )
        if record.verification == "not_improved":
            await self._count_failure(decision, record, rule)

    async def _count_failure(self, decision: Decision, record: ActionRecord, rule: Rule) -> None:
        now = self._clock.now()
        escalation = self._guards.rules.escalation
        failures = self._guards.note_failure(record.target, now)
        if failures != escalation.max_failed_attempts:
            return  # below the limit, or already escalated in this window

        self._metrics.escalations.labels(rule=rule.name).inc()
        logger.error(
            "%d failed attempts on %s within %s (last by rule %s); the optimizer stops acting "
            "on it until the window passes. A person has to look at %s",
            failures,
            record.target,
            format_duration(escalation.window),
            rule.name,
            decision.alertname,
            extra=_ids(decision, "escalated"),
        )
        if self._alertmanager is None:
            return
        try:
            await self._alertmanager.post_alert(
                labels={
                    "alertname": "LeitstandOptimizerFailing",
                    "service": "optimizer",
                    "severity": "critical",
                    "instance": record.target,
                    "rule": rule.name,
                },
                annotations={
                    "summary": f"The optimizer gave up on {record.target}",
                    "description": (
                        f"{failures} actions or verifications failed on {record.target} "
                        f"within {format_duration(escalation.window)}; the last came from rule "
                        f"{rule.name} for {decision.alertname}. The optimizer stops acting on "
                        "this target until the window passes."
                    ),
                    "runbook_url": "docs/optimizer.md#escalation",
                },
                starts_at=now,
                lasts=escalation.window,
            )
        except AlertmanagerError as error:
            logger.error("cannot post the escalation of %s: %s", record.target, error)

    async def _revert(self, decision: Decision, record: ActionRecord) -> None:
        # Wait for the action if it is still running, then undo exactly its change.
        applied = self._applied.get(record.decision_id)
        if applied is not None:
            await applied.wait()
        if record.status != "succeeded" or record.change_id is None:
            logger.info(
                "nothing to revert for decision %s on %s: the action %s",
                record.decision_id,
                record.target,
                record.status,
            )
            return
        reason = f"{decision.alertname} resolved on {record.target} (decision {decision.id})"
        self._enter()
        try:
            reverted = await self._control.revert(record.target, record.change_id, reason)
        except ControlError as error:
            record.status = "revert_failed"
            record.error = str(error)
            logger.warning(
                "cannot revert change %s on %s: %s", record.change_id, record.target, error
            )
        else:
            record.status = "reverted" if reverted else "superseded"
            logger.info(
                "change %s on %s %s",
                record.change_id,
                record.target,
                "reverted" if reverted else "was already replaced; nothing reverted",
                extra=_ids(decision, record.status),
            )
        finally:
            self._leave()
        record.reverted_at = self._clock.now()
        self._guards.note_action(record)
        await self._store.save_action(record)


def _ids(decision: Decision, outcome: str) -> dict[str, Any]:
    return {
        "decision_id": decision.id,
        "rule": decision.rule,
        "fingerprint": decision.fingerprint,
        "action": decision.action,
        "target": decision.target,
        "result": outcome,
    }
