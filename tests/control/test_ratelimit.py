from __future__ import annotations

import logging

import pytest

from app.control.ratelimit import ThrottledWarning


def test_repeats_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    warn = ThrottledWarning(
        logging.getLogger("leitstand.test"), "Shed %d", interval=10.0, clock=lambda: now[0]
    )
    with caplog.at_level(logging.WARNING, logger="leitstand.test"):
        warn(1)
        warn(2)
        warn(3)
        now[0] += 10.0
        warn(4)

    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "Shed 1 (0 more like this in the last 10 s)",
        "Shed 4 (2 more like this in the last 10 s)",
    ]
