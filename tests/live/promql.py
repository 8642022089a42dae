"""Read the metric names and label names a PromQL expression uses.

A small lexer, enough for the expressions of this repository's rules and
dashboards: it drops strings, range and subquery brackets and grouping
clauses, and keeps every identifier that is not a function, keyword or
recording rule (recording rules have a colon in their names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
    "atan2",
    "start",
    "end",
}
# Series that Prometheus makes itself rather than scraping.
SYNTHETIC = {
    "ALERTS",
    "ALERTS_FOR_STATE",
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", re.IGNORECASE
)
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)")
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_VARIABLE = re.compile(r"\$\{?[a-zA-Z_][a-zA-Z0-9_]*(:[a-z]+)?\}?")


@dataclass
class Usage:
    """The metrics of one expression and the labels it matches or groups on."""

    metrics: dict[str, set[str]] = field(default_factory=dict)  # metric -> matcher labels
    recorded: set[str] = field(default_factory=set)  # recording rule outputs it reads
    grouping: set[str] = field(default_factory=set)


def usage(expression: str) -> Usage:
    found = Usage()
    text = _VARIABLE.sub("x", expression)
    selectors: list[tuple[str, str]] = []

    # Strings can hold any character, so labels are read before they go.
    def keep_selector(match: re.Match[str]) -> str:
        selectors.append((match.group(1) or "", match.group(2)))
        return f" {match.group(1) or ''} "

    text = _SELECTOR.sub(keep_selector, _STRING.sub('""', text).replace('""', '"s"'))
    for name, body in selectors:
        labels = {label for label, _ in _MATCHER.findall(_STRING.sub("", body))}
        if name == "":
            metric = next(
                (value for label, value in re.findall(r'(__name__)\s*=\s*"([^"]*)"', body)), ""
            )
            name = metric
            labels.discard("__name__")
        if ":" in name:
            found.recorded.add(name)
        elif name and name not in SYNTHETIC:
            found.metrics.setdefault(name, set()).update(labels)

    text = _RANGE.sub(" ", text)
    for _, labels in _GROUPING.findall(text):
        found.grouping.update(label.strip() for label in labels.split(",") if label.strip())
    text = _GROUPING.sub(" ", text)
    text = _STRING.sub(" ", text)

    for match in _IDENTIFIER.finditer(text):
        name = match.group(0)
        after = text[match.end() :].lstrip()
        if after.startswith("("):
            continue  # a function call
        if ":" in name:
            found.recorded.add(name)
            continue
        if name.lower() in KEYWORDS or name in SYNTHETIC:
            continue
        if re.fullmatch(r"[0-9].*|e[0-9]*", name):
            continue
        found.metrics.setdefault(name, set())
    return found
