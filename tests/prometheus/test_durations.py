"""Prometheus durations."""

from __future__ import annotations

import pytest

from leitstand.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [("0", 0), ("15s", 15_000), ("5m", 300_000), ("1h30m", 5_400_000), ("1d", 86_400_000),
     ("2w", 1_209_600_000), ("500ms", 500), ("1m30s250ms", 90_250)],
)  # fmt: skip
def test_parse(text: str, milliseconds: int) -> None:
    assert parse_duration(text) == milliseconds


@pytest.mark.parametrize(
    ("milliseconds", "text"),
    [(0, "0s"), (20_000, "20s"), (90_000, "1m30s"), (3_600_000, "1h"), (259_200_000, "3d"),
     (1_500, "1s500ms")],
)  # fmt: skip
def test_format(milliseconds: int, text: str) -> None:
    assert format_duration(milliseconds) == text
    assert parse_duration(text) == milliseconds


@pytest.mark.parametrize("text", ["", "5", "5 m", "m5", "30s1m", "1h1h", "-5m", "1.5h"])
def test_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)
