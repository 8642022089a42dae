"""Prometheus durations (``90s``, ``5m``, ``1h30m``) as whole milliseconds."""

from __future__ import annotations

import re

# Units of the Prometheus duration syntax, largest first, in milliseconds.
_UNITS: dict[str, int] = {
    "y": 365 * 24 * 3600 * 1000,
    "w": 7 * 24 * 3600 * 1000,
    "d": 24 * 3600 * 1000,
    "h": 3600 * 1000,
    "m": 60 * 1000,
    "s": 1000,
    "ms": 1,
}
_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")


def parse_duration(text: str) -> int:
    """Return the length of a Prometheus duration such as ``1h30m`` in milliseconds.

    Units must come largest first and at most once, as Prometheus requires;
    anything else raises ``ValueError``.
    """
    text = text.strip()
    if text == "0":
        return 0
    position = 0
    total = 0
    seen: list[str] = []
    order = list(_UNITS)
    while position < len(text):
        match = _PART.match(text, position)
        if match is None or (seen and order.index(match.group(2)) <= order.index(seen[-1])):
            raise ValueError(
                f"invalid duration {text!r}: expected a Prometheus duration such as "
                "15s, 5m or 1h30m (units y, w, d, h, m, s, ms, largest first)"
            )
        seen.append(match.group(2))
        total += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not seen:
        raise ValueError(f"invalid duration {text!r}: it is empty")
    return total


def format_duration(milliseconds: int) -> str:
    """Return the shortest Prometheus spelling of a duration, e.g. ``90000`` -> ``1m30s``."""
    if milliseconds < 0:
        raise ValueError(f"invalid duration {milliseconds} ms: durations are not negative")
    if milliseconds == 0:
        return "0s"
    parts: list[str] = []
    rest = milliseconds
    # Years and weeks read poorly in rule files; days are the largest unit written.
    for unit in ("d", "h", "m", "s", "ms"):
        count, rest = divmod(rest, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
