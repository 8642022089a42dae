"""Label matchers in Alertmanager's syntax: ``name="value"`` with ``=``, ``!=``, ``=~``, ``!~``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Operator = Literal["=", "!=", "=~", "!~"]

_MATCHER = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^"\s]*)\s*$"""
)


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on one label; a missing label matches as the empty string."""

    name: str
    operator: Operator
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.operator == "=":
            return actual == self.value
        if self.operator == "!=":
            return actual != self.value
        if self.pattern is None:  # pragma: no cover - parse_matcher always sets it for regexes
            raise RuntimeError(f"matcher {self} has no compiled pattern")
        found = self.pattern.fullmatch(actual) is not None
        return found if self.operator == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.operator}{json.dumps(self.value)}"


def parse_matcher(text: str) -> Matcher:
    """Parse ``service!="optimizer"`` or ``cache=~"kunden|artikel"``.

    Regular expressions are anchored at both ends, as in Prometheus and Alertmanager.
    Raises ``ValueError`` that names the text and the expected form.
    """
    found = _MATCHER.match(text)
    if found is None:
        raise ValueError(
            f"invalid label matcher {text!r}: expected name, operator (=, !=, =~, !~) and "
            'value, for example service!="optimizer"'
        )
    name, operator, raw = found.group("name"), found.group("op"), found.group("value")
    value = json.loads(raw) if raw.startswith('"') else raw
    pattern = None
    if operator in ("=~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as error:
            raise ValueError(f"invalid regular expression in matcher {text!r}: {error}") from None
    return Matcher(name, operator, value, pattern)  # type: ignore[arg-type]
