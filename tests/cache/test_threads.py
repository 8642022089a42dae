from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from app.cache import cached
from tests.cache.conftest import MakeCache

THREADS = 16
# The full soak runs for 30 s. The suite runs it for 5 s unless the variable sets another time.
SOAK_SECONDS = float(os.environ.get("LEITSTAND_CACHE_SOAK_SECONDS", "5"))


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Let the interpreter switch threads every microsecond, so races show up."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_shared_ttl_cache_survives_threads(make_cache: MakeCache) -> None:
    cache = make_cache(capacity=50, ttl_seconds=1.0, negative_ttl_seconds=0.5)
    failures: list[BaseException] = []
    stop = time.monotonic() + SOAK_SECONDS
    calls = [0] * THREADS

    @cached(cache)
    def square(number: int) -> int | None:
        return None if number % 7 == 0 else number * number

    def hammer(index: int) -> None:
        rng = random.Random(index)
        try:
            while time.monotonic() < stop:
                number = rng.randint(1, 30)
                expected = None if number % 7 == 0 else number * number
                result = square(number)
                if result != expected:
                    raise AssertionError(f"square({number}) returned {result}")
                calls[index] += 1
                if index == 0 and calls[index] % 5_000 == 0:
                    cache.clear()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=hammer, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SOAK_SECONDS + 30)

    assert failures == []
    # The front end serves through backend failures, so a race shows up as errors.
    assert REGISTRY.get_sample_value("erp_cache_errors_total", {"cache": cache.name}) in (None, 0)
    assert not any(thread.is_alive() for thread in threads)
    assert all(count > 0 for count in calls)

    # Nothing is broken after: the store is within bounds, consistent, and serves.
    store = cache.backend._store  # type: ignore[attr-defined]
    assert len(store) <= 50
    assert sorted(store) == sorted(store.keys())
    assert square(3) == 9
    assert square(3) == 9
    assert square(14) is None
    assert len(cache._flights) == 0
