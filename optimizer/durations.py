"""Durations written the Prometheus way: ``90s``, ``5m``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w))+$")
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")


def parse_duration(text: str) -> timedelta:
    """Parse ``text`` such as ``5m`` or ``1h30m``; raise ``ValueError`` naming the text."""
    if not _DURATION.match(text):
        raise ValueError(
            f"invalid duration {text!r}: expected a number and a unit (ms, s, m, h, d, w), "
            "for example 30s, 5m or 1h30m"
        )
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(text))
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """Format ``duration`` as the shortest Prometheus duration, e.g. ``1h30m``."""
    milliseconds = round(duration.total_seconds() * 1000)
    if milliseconds == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = round(_UNIT_SECONDS[unit] * 1000)
        count, milliseconds = divmod(milliseconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
