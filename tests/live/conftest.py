"""One shared live stack per test run for the tests that need every part running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require_binary
from tests.live.stack import LiveStack, start_stack, wait_for_targets


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    for name in ("prometheus", "prometheus-alertmanager", "promtool"):
        require_binary(name)
    stack = start_stack(tmp_path_factory.mktemp("stack"), "--fault-injection")
    try:
        wait_for_targets(stack)
        yield stack
    finally:
        stack.stop()
