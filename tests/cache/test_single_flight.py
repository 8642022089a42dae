from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.cache import cached
from tests.cache.conftest import MakeCache

CALLERS = 100
COMPUTE_SECONDS = 1.0


def test_threads_missing_one_key_compute_once(make_cache: MakeCache) -> None:
    cache = make_cache()
    calls: list[int] = []
    start = threading.Barrier(CALLERS)

    @cached(cache)
    def get_prognose(artikel_id: int) -> list[float]:
        calls.append(artikel_id)
        time.sleep(COMPUTE_SECONDS)
        return [float(artikel_id)] * 4

    def caller() -> list[float]:
        start.wait()
        return get_prognose(42)

    with ThreadPoolExecutor(CALLERS) as pool:
        results = list(pool.map(lambda _: caller(), range(CALLERS)))

    assert calls == [42]
    assert results == [[42.0] * 4] * CALLERS
    assert len(cache._flights) == 0


async def test_tasks_missing_one_key_compute_once(make_cache: MakeCache) -> None:
    cache = make_cache()
    calls: list[int] = []

    @cached(cache)
    async def get_prognose(artikel_id: int) -> list[float]:
        calls.append(artikel_id)
        await asyncio.sleep(COMPUTE_SECONDS)
        return [float(artikel_id)] * 4

    results = await asyncio.gather(*(get_prognose(42) for _ in range(CALLERS)))

    assert calls == [42]
    assert results == [[42.0] * 4] * CALLERS
    assert len(cache._flights) == 0


async def test_failure_reaches_every_waiter_and_is_not_stored(make_cache: MakeCache) -> None:
    cache = make_cache()
    calls: list[int] = []

    @cached(cache)
    async def get_prognose(artikel_id: int) -> list[float]:
        calls.append(artikel_id)
        await asyncio.sleep(0.05)
        if len(calls) == 1:
            raise ConnectionError("database gone")
        return [1.0]

    results = await asyncio.gather(*(get_prognose(1) for _ in range(10)), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    assert calls == [1]
    assert await get_prognose(1) == [1.0]
    assert calls == [1, 1]


async def test_cancelled_leader_hands_over_to_follower(make_cache: MakeCache) -> None:
    cache = make_cache()
    calls: list[int] = []
    never = asyncio.Event()

    @cached(cache)
    async def get_prognose(artikel_id: int) -> list[float]:
        calls.append(artikel_id)
        if len(calls) == 1:
            await never.wait()  # the first leader runs until it is cancelled
        return [2.0]

    leader = asyncio.create_task(get_prognose(1))
    await asyncio.sleep(0)  # the leader starts computing
    follower = asyncio.create_task(get_prognose(1))
    await asyncio.sleep(0)  # the follower waits for the leader's flight
    leader.cancel()

    assert await follower == [2.0]
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert calls == [1, 1]


async def test_cancelled_follower_leaves_flight_alone(make_cache: MakeCache) -> None:
    cache = make_cache()
    release = asyncio.Event()

    @cached(cache)
    async def get_prognose(artikel_id: int) -> list[float]:
        await release.wait()
        return [3.0]

    leader = asyncio.create_task(get_prognose(1))
    await asyncio.sleep(0)
    follower = asyncio.create_task(get_prognose(1))
    await asyncio.sleep(0)
    follower.cancel()
    await asyncio.sleep(0)
    release.set()

    assert await leader == [3.0]
    with pytest.raises(asyncio.CancelledError):
        await follower


async def test_caller_after_write_does_not_join_older_flight(make_cache: MakeCache) -> None:
    cache = make_cache()
    price = {"value": 10}
    started = asyncio.Event()

    @cached(cache)
    async def get_preis(artikel_id: int) -> int:
        read = price["value"]
        started.set()
        await asyncio.sleep(0.1)
        return read

    before_write = asyncio.create_task(get_preis(1))
    await started.wait()
    price["value"] = 12
    cache.clear()
    after_write = await get_preis(1)

    assert after_write == 12
    assert await before_write == 10
    # The value read before the write was not stored.
    assert await get_preis(1) == 12
