"""A Redis server per test run, and a fresh key prefix per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import redis

from tests.redis.server import RedisServer, redis_server

_prefixes = itertools.count()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def restartable_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server of the test's own, which the test may stop and start again."""
    with redis_server(tmp_path_factory.mktemp("redis-restart")) as server:
        yield server


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url) as connection:
        yield connection


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses, so tests share the server but no keys."""
    return f"test{next(_prefixes)}"
