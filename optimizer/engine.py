"""The decision step: a notification's alerts in, recorded decisions and started work out."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from optimizer.allowlist import AllowedTargets
from optimizer.clock import Clock
from optimizer.decisions import ActionRecord, Decision, Result
from optimizer.durations import format_duration
from optimizer.guards import Guards
from optimizer.metrics import OptimizerMetrics
from optimizer.payload import Alert, Notification
from optimizer.prometheus import PrometheusClient, PrometheusError
from optimizer.rules import Rule, RuleSet
from optimizer.runner import ActionRunner
from optimizer.store import AuditStore
from optimizer.templates import LabelTemplateError

logger = logging.getLogger("leitstand.optimizer")

# Alerts about the optimizer go to people; acting on them could feed a loop.
OWN_SERVICE = "optimizer"

# How far an alert's startsAt may lie ahead of the optimizer's clock, for clocks of
# Prometheus and the optimizer that differ a little.
CLOCK_SKEW = timedelta(seconds=60)

# Decisions that change something, or show a problem, are logged at INFO or WARNING;
# the skipped ones (duplicate, cooldown, ...) only at DEBUG, since Alertmanager
# repeats notifications and the audit has them all.
_LOG_LEVELS = {
    "executed": logging.INFO,
    "dry_run": logging.INFO,
    "resolved": logging.INFO,
    "failed": logging.WARNING,
    "rejected": logging.WARNING,
}


class _Decide(Protocol):
    def __call__(
        self, result: Result, reason: str, rule: Rule | None = None, **fields: str
    ) -> Decision: ...


@dataclass(frozen=True, slots=True)
class _NoTargets:
    """Why an alert has no target to act on: a lookup that failed, or a rejected instance."""

    result: Result
    reason: str


@dataclass(slots=True)
class _Plan:
    """Decisions, actions and reverts of one notification, before they are recorded."""

    decisions: list[Decision] = field(default_factory=list)
    actions: list[tuple[Decision, ActionRecord, Rule, Mapping[str, str]]] = field(
        default_factory=list
    )
    reverts: list[tuple[Decision, ActionRecord]] = field(default_factory=list)


class Optimizer:
    """Decides per alert, records the decisions, then hands the actions to the runner."""

    def __init__(
        self,
        *,
        rules: RuleSet,
        store: AuditStore,
        guards: Guards,
        runner: ActionRunner,
        prometheus: PrometheusClient | None,
        allowed_targets: AllowedTargets,
        clock: Clock,
        metrics: OptimizerMetrics,
        dry_run: bool,
    ) -> None:
        self.rules = rules
        self.store = store
        self.guards = guards
        self.runner = runner
        self.dry_run = dry_run
        self._prometheus = prometheus
        self._allowed_targets = allowed_targets
        self._clock = clock
        self._metrics = metrics
        # Decisions of one notification see those of the previous one.
        self._lock = asyncio.Lock()
        self._last_pruned = clock.monotonic()
        self._descriptions: dict[tuple[str, str], str] = {}

    async def load_history(self, *, at_start: bool = True) -> None:
        """Rebuild the guards from the audit.

        At start, actions that a previous run left ``running`` are closed as failed,
        because the audit cannot tell whether their change took effect.
        """
        now = self._clock.now()
        decisions, actions = await self.store.history(now - self.rules.retention())
        for action in actions:
            if at_start and action.status == "running":
                action.status = "failed"
                action.error = "the optimizer stopped before the action finished"
                action.finished_at = now
                await self.store.save_action(action)
        self.guards.load(decisions, actions)
        logger.info(
            "loaded %d decisions and %d actions from %s",
            len(decisions),
            len(actions),
            self.store.path,
        )

    async def handle(self, notification: Notification, received_at: datetime) -> list[Decision]:
        """Decide on every alert, record the decisions, start the work and return the decisions."""
        if notification.truncated_alerts:
            logger.warning(
                "Alertmanager cut %d alerts from group %s (max_alerts of receiver %s); "
                "they never reach the optimizer, so set max_alerts: 0 for it",
                notification.truncated_alerts,
                notification.group_key,
                notification.receiver,
            )

        # Finding targets is the one step that may wait on the network, so it runs
        # before the lock is taken.
        targets = await self._targets(notification)

        async with self._lock:
            plan = _Plan()
            now = self._clock.now()
            for alert in notification.alerts:
                self._decide(alert, notification, targets, received_at, now, plan)
            try:
                await self.store.append(
                    plan.decisions, [(decision, record) for decision, record, _, _ in plan.actions]
                )
            except Exception:
                # The guards already count decisions that never reached the audit.
                self.guards.reset()
                await self.load_history(at_start=False)
                raise

        counts = Counter((d.rule or "none", d.action or "none", d.result) for d in plan.decisions)
        for (rule_name, action, result), count in counts.items():
            self._metrics.decisions.labels(rule=rule_name, action=action, result=result).inc(count)
        for decision in plan.decisions:
            level = _LOG_LEVELS.get(decision.result, logging.DEBUG)
            if not logger.isEnabledFor(level):
                continue
            logger.log(
                level,
                "%s %s on %s: %s (%s)",
                decision.alertname,
                decision.alert_status,
                decision.target or "-",
                decision.result,
                decision.reason,
                extra={
                    "decision_id": decision.id,
                    "rule": decision.rule,
                    "fingerprint": decision.fingerprint,
                    "action": decision.action,
                    "target": decision.target,
                    "result": decision.result,
                },
            )
        for decision, record, rule, labels in plan.actions:
            self.runner.start_action(decision, record, rule, labels)
        for decision, record in plan.reverts:
            self.runner.start_revert(decision, record)
        self._prune()
        return plan.decisions

    def _decide(
        self,
        alert: Alert,
        notification: Notification,
        targets: Mapping[str, list[str] | _NoTargets],
        received_at: datetime,
        now: datetime,
        plan: _Plan,
    ) -> None:
        def decision(
            result: Result, reason: str, rule: Rule | None = None, **fields: str
        ) -> Decision:
            made = Decision(
                result=result,
                reason=reason,
                received_at=received_at,
                recorded_at=now,
                rule=rule.name if rule is not None else "",
                action=rule.action.kind if rule is not None else "",
                target=fields.get("target", alert.labels.get("instance", "")),
                knob=fields.get("knob", ""),
                alertname=alert.alertname,
                fingerprint=alert.fingerprint,
                starts_at=alert.starts_at,
                alert_status=alert.status,
                receiver=notification.receiver,
                group_key=notification.group_key,
                labels=alert.labels,
            )
            plan.decisions.append(made)
            self.guards.note_decision(made)
            return made

        if alert.labels.get("service") == OWN_SERVICE:
            decision("rejected", "alerts with service=optimizer go to people only")
            return

        rule = self.rules.match(alert.labels)
        if alert.status == "resolved":
            self._decide_resolved(alert, rule, plan, decision)
            return
        if rule is None:
            decision(
                "no_rule", f"no rule matches {alert.alertname or 'an alert without alertname'}"
            )
            return

        ahead = alert.starts_at - now
        if ahead > CLOCK_SKEW:
            whole = timedelta(seconds=int(ahead.total_seconds()))
            decision(
                "rejected",
                f"startsAt {alert.starts_at.isoformat()} is {format_duration(whole)} "
                f"ahead of the optimizer's clock (at most {format_duration(CLOCK_SKEW)} allowed); "
                "check the clocks of Prometheus and the optimizer",
                rule,
            )
            return

        found = targets.get(alert.fingerprint, [])
        if isinstance(found, _NoTargets):
            decision(found.result, found.reason, rule)
            return
        for target in found:
            try:
                knob = rule.action.knob_for(alert.labels)
            except LabelTemplateError as error:
                decision("rejected", f"rule {rule.name}: {error}", rule, target=target)
                continue
            verdict = self.guards.check(rule, alert.fingerprint, alert.starts_at, target, knob, now)
            if verdict is not None:
                decision(verdict.result, verdict.reason, rule, target=target, knob=knob)
                continue

            description = f"{self._describe(rule, knob, alert.labels)} on {target}"
            if self.dry_run:
                decision("dry_run", f"would {description}", rule, target=target, knob=knob)
                continue
            executed = decision("executed", description, rule, target=target, knob=knob)
            record = ActionRecord(
                rule=rule.name,
                kind=rule.action.kind,
                knob=knob,
                target=target,
                fingerprint=alert.fingerprint,
                starts_at=alert.starts_at,
                started_at=now,
            )
            self.guards.note_action(record)
            plan.actions.append((executed, record, rule, alert.labels))

    def _decide_resolved(
        self, alert: Alert, rule: Rule | None, plan: _Plan, decision: _Decide
    ) -> None:
        if self.guards.is_resolved_duplicate(alert.fingerprint, alert.starts_at):
            decision("duplicate", "this resolution was already handled", rule)
            return
        if rule is None:
            decision("resolved", "no rule matches; nothing to undo")
            return
        if rule.on_resolved != "revert":
            decision("resolved", f"rule {rule.name} keeps its change (on_resolved: nothing)", rule)
            return

        actions = [
            action
            for action in self.guards.actions_of(alert.fingerprint, alert.starts_at)
            if action.rule == rule.name and action.status in ("running", "succeeded")
        ]
        if not actions:
            decision("resolved", f"rule {rule.name} made no change for this occurrence", rule)
            return
        for action in actions:
            change = action.change_id or "of the running action"
            resolved = decision(
                "resolved",
                f"reverting change {change} on {action.target}",
                rule,
                target=action.target,
                knob=action.knob,
            )
            plan.reverts.append((resolved, action))

    def _describe(self, rule: Rule, knob: str, labels: Mapping[str, str]) -> str:
        # An action's description depends only on the knob it renders to, and a
        # notification of many alerts needs the same one again and again.
        key = (rule.name, knob)
        description = self._descriptions.get(key)
        if description is None:
            description = self._descriptions[key] = rule.action.describe(labels)
        return description

    async def _targets(self, notification: Notification) -> dict[str, list[str] | _NoTargets]:
        """Map each firing alert's fingerprint to its targets, or to why it has none.

        An alert's instance label is only a claim, so it is acted on only when Prometheus
        lists it as an active target of the alert's job or, without Prometheus, when the
        allow-list contains it.
        """
        targets: dict[str, list[str] | _NoTargets] = {}
        # One lookup per job and notification, however many alerts name the job.
        jobs: dict[str, list[str] | _NoTargets] = {}
        for alert in notification.alerts:
            if alert.status != "firing":
                continue
            instance = alert.labels.get("instance")
            job = alert.labels.get("job")
            if job and job not in jobs:
                jobs[job] = await self._instances(job)
            if instance:
                targets[alert.fingerprint] = self._check_instance(instance, job, jobs)
            elif job:
                targets[alert.fingerprint] = jobs.get(job) or _NoTargets(
                    "failed", f"Prometheus lists no active target of job {job}"
                )
            else:
                targets[alert.fingerprint] = _NoTargets(
                    "failed", "the alert has neither an instance nor a job label"
                )
        return targets

    def _check_instance(
        self, instance: str, job: str | None, jobs: Mapping[str, list[str] | _NoTargets]
    ) -> list[str] | _NoTargets:
        if self._prometheus is None:
            if self._allowed_targets.allows(instance):
                return [instance]
            return _NoTargets(
                "rejected",
                f"instance {instance} is not in LEITSTAND_OPTIMIZER_ALLOWED_TARGETS "
                f"({self._allowed_targets.describe()}); add it there or set --prometheus-url",
            )
        if not job:
            return _NoTargets(
                "rejected",
                f"the alert names instance {instance} but no job, so Prometheus cannot "
                "confirm it as a target",
            )
        instances = jobs[job]
        if isinstance(instances, _NoTargets):
            return instances
        if instance not in instances:
            return _NoTargets(
                "rejected",
                f"instance {instance} is not an active target of job {job} in Prometheus",
            )
        return [instance]

    async def _instances(self, job: str) -> list[str] | _NoTargets:
        if self._prometheus is None:
            return _NoTargets(
                "failed",
                f"the alert names job {job} but no instance, and without --prometheus-url "
                "the targets of a job cannot be found",
            )
        try:
            instances = await self._prometheus.instances(job)
        except PrometheusError as error:
            return _NoTargets("failed", f"cannot find the targets of job {job}: {error}")
        return instances

    def _prune(self) -> None:
        # Once a minute is often enough: the guards only need their windows.
        if self._clock.monotonic() - self._last_pruned < 60:
            return
        self._last_pruned = self._clock.monotonic()
        self.guards.forget_before(self._clock.now() - self.rules.retention())
