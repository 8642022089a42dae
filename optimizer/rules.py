"""The rules file: which alert leads to which action, and the guards around it.

The file is validated as a whole when the optimizer starts. Every error names the
file and line it comes from (``rules.yml:14: rules[2].action.factor: ...``), so an
operator can fix it without guessing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from optimizer.actions import Action
from optimizer.durations import format_duration, parse_duration
from optimizer.matchers import Matcher, parse_matcher
from optimizer.templates import render, template_labels

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yml")


def _duration(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"a duration needs a unit: write {value}s or {value}m, not {value}")
    return value


Duration = Annotated[
    timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(_Section):
    """The global budget: at most ``max_actions`` actions in any ``window``."""

    max_actions: int = Field(default=20, ge=1)
    window: Duration = timedelta(minutes=10)


class Escalation(_Section):
    """When to stop acting on a target and call people instead."""

    max_failed_attempts: int = Field(default=3, ge=1)
    window: Duration = timedelta(minutes=30)


class Verify(_Section):
    """A rule's check, after its action, of whether the alert's condition went away."""

    # PromQL that returns a non-empty result while the problem persists. Default:
    # the alert's own ALERTS series in state firing.
    query: str | None = None
    after: Duration | None = None

    @field_validator("query")
    @classmethod
    def _check_query(cls, query: str | None) -> str | None:
        if query is not None:
            template_labels(query)
        return query


class Rule(_Section):
    """One alert-to-action mapping."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    alert: str = Field(pattern=r"^[A-Za-z_:][A-Za-z0-9_:]*$")
    matchers: tuple[Matcher, ...] = ()
    action: Action
    priority: int = 0
    cooldown: Duration = timedelta(minutes=10)
    on_resolved: Literal["revert", "nothing"] = "nothing"
    ttl: Duration | None = None
    max_attempts: int = Field(default=3, ge=1)
    attempt_window: Duration = timedelta(hours=1)
    verify: Verify = Verify()

    @field_validator("matchers", mode="before")
    @classmethod
    def _parse_matchers(cls, value: object) -> object:
        if not isinstance(value, list):
            raise ValueError('expected a list of matchers such as service="erp"')
        return tuple(
            item if isinstance(item, Matcher) else parse_matcher(str(item)) for item in value
        )

    @model_validator(mode="after")
    def _check_revert(self) -> Rule:
        if self.on_resolved == "revert" and self.action.kind == "clear_cache":
            raise ValueError("on_resolved: revert needs an action that changes a knob")
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        return labels.get("alertname") == self.alert and all(
            matcher.matches(labels) for matcher in self.matchers
        )

    def verify_query(self, labels: Mapping[str, str], target: str) -> str:
        """Return the PromQL that is non-empty while the alert's condition holds on ``target``.

        In a rule's own query, ``$labels.instance`` is the target when the alert has no
        instance label. The default query selects the alert's own ALERTS series.
        """
        if self.verify.query is not None:
            # Instances (host:port) cannot pass the knob-name check, and the query only
            # reads from Prometheus.
            # NOTE: values are inserted unescaped, so a quote in a label value ends the
            # PromQL string and the query fails instead of verifying.
            return render(self.verify.query, {"instance": target, **labels}, check_values=False)
        selectors = [f"{name}={_promql_string(value)}" for name, value in sorted(labels.items())]
        return "ALERTS{" + ",".join(['alertstate="firing"', *selectors]) + "}"


class RuleSet(_Section):
    """The whole rules file."""

    budget: Budget = Budget()
    escalation: Escalation = Escalation()
    # Firing alerts that started longer ago than this are not acted on.
    stale_after: Duration = timedelta(hours=1)
    verify_after: Duration = timedelta(minutes=2)
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _check_names(self) -> RuleSet:
        seen: set[str] = set()
        for index, rule in enumerate(self.rules):
            if rule.name in seen:
                raise _LocatedValueError(
                    ("rules", index, "name"), f"duplicate rule name {rule.name!r}"
                )
            seen.add(rule.name)
        return self

    def match(self, labels: Mapping[str, str]) -> Rule | None:
        """Return the matching rule with the highest priority, the first in the file on a tie."""
        best: Rule | None = None
        for rule in self.rules:
            if rule.matches(labels) and (best is None or rule.priority > best.priority):
                best = rule
        return best

    def retention(self) -> timedelta:
        """Return how far back the guards look, so a restart reloads enough history."""
        spans = [self.budget.window, self.escalation.window, self.stale_after]
        for rule in self.rules:
            spans += [rule.cooldown, rule.attempt_window, rule.ttl or timedelta(0)]
        return max(spans)


class RulesError(Exception):
    """The rules file is invalid; ``str()`` lists every problem as ``file:line: message``."""

    def __init__(self, path: Path, problems: Sequence[tuple[int, str]]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__("\n".join(f"{path}:{line}: {message}" for line, message in problems))


class _LocatedValueError(ValueError):
    def __init__(self, location: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.location = location


def load_rules(path: Path) -> RuleSet:
    """Read and validate a rules file; raise ``RulesError`` with file:line for every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RulesError(path, [(0, f"cannot read the rules file: {error.strerror}")]) from None
    return parse_rules(text, path)


def parse_rules(text: str, path: Path) -> RuleSet:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise RulesError(path, [(1, "the file is empty; it needs at least a rules: list")])
        problems = _duplicate_keys(root)
        if problems:
            raise RulesError(path, problems)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise RulesError(path, [(line, f"invalid YAML: {error.problem or error}")]) from None
    finally:
        loader.dispose()

    if not isinstance(data, dict):
        raise RulesError(
            path, [(root.start_mark.line + 1, "expected a mapping with a rules: list")]
        )
    try:
        return RuleSet.model_validate(data)
    except ValidationError as error:
        raise RulesError(path, _locate(root, error)) from None


def _locate(root: yaml.Node, error: ValidationError) -> list[tuple[int, str]]:
    problems = []
    for detail in error.errors():
        location: tuple[str | int, ...] = tuple(detail["loc"])
        message = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = f"unknown field {location[-1]!r}; check its spelling and indentation"
        elif detail["type"] == "missing":
            message = f"missing required field {location[-1]!r}"
        context = detail.get("ctx", {}).get("error")
        if isinstance(context, _LocatedValueError):
            location = context.location
        node = _node_at(root, location)
        problems.append((node.start_mark.line + 1, f"{_dotted(root, location)}: {message}"))
    return sorted(problems, key=lambda problem: problem[0])


def _node_at(node: yaml.Node, location: tuple[str | int, ...]) -> yaml.Node:
    """Follow a validation error's location as far as the YAML tree goes."""
    for step in location:
        child = _child(node, step)
        if child is None:
            break
        node = child
    return node


def _dotted(root: yaml.Node, location: tuple[str | int, ...]) -> str:
    """Write a location as ``rules[2].action.factor``, without discriminator tags."""
    parts = []
    node: yaml.Node | None = root
    for step in location:
        if node is not None and _is_tag(node, step):
            continue
        parts.append(f"[{step}]" if isinstance(step, int) else f".{step}")
        node = None if node is None else _child(node, step)
    return "".join(parts).lstrip(".") or "(top level)"


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    if _is_tag(node, step):
        return node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == step:
                found: yaml.Node = value
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        child: yaml.Node = node.value[step]
        return child
    return None


def _is_tag(node: yaml.Node, step: str | int) -> bool:
    """Tell whether ``step`` is the ``kind`` value pydantic puts in a union member's location."""
    if not isinstance(node, yaml.MappingNode) or not isinstance(step, str):
        return False
    for key, value in node.value:
        if key.value == "kind":
            return isinstance(value, yaml.ScalarNode) and value.value == step
    return False


def _duplicate_keys(node: yaml.Node) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if key.value in seen:
                problems.append((key.start_mark.line + 1, f"duplicate key {key.value!r}"))
            seen.add(key.value)
            problems += _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            problems += _duplicate_keys(item)
    return problems


def _promql_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
