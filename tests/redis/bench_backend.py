"""Time one cache hit through the memory backend and through the Redis backend.

Starts a ``redis-server`` on a free loopback port, fills one entry per value
and times ``Cache.call`` hits in this process: an article detail and a list
page of 50 articles, each through both backends. Prints a Markdown table of
microseconds per call, the median of the repeats.

Usage::

    .venv/bin/python -m tests.redis.bench_backend --calls 5000 --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import timeit
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.cache import Cache, CacheConfig
from app.cache.redis_backend import RedisBackend, connect
from app.schemas.artikel import ArtikelRead
from app.shared_state import SharedState
from tests.redis.server import redis_server


def artikel(artikel_id: int) -> ArtikelRead:
    return ArtikelRead(
        id=artikel_id,
        artikelnummer=f"A-{artikel_id:06d}",
        name=f"Artikel {artikel_id}",
        kategorie="Eisenwaren",
        preis=Decimal("12.50"),
        bestand=100,
        erstellt_am=datetime(2026, 1, 1, tzinfo=UTC),
    )


def time_hits(cache: Cache, value: Any, calls: int, repeats: int) -> float:
    """Return the median microseconds of one hit of ``value`` in ``cache``."""
    key = ("bench", type(value).__name__)
    cache.call(key, lambda: value, (), {})
    runs = timeit.repeat(
        lambda: cache.call(key, lambda: value, (), {}), number=calls, repeat=repeats
    )
    return statistics.median(runs) / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=5000, help="hits per repeat")
    parser.add_argument("--repeats", type=int, default=7, help="repeats; the median is shown")
    arguments = parser.parse_args(argv)

    values = {
        "article detail": artikel(1),
        "list page, 50 articles": [artikel(i) for i in range(50)],
    }
    config = CacheConfig(capacity=100, ttl_seconds=600)
    with tempfile.TemporaryDirectory() as folder, redis_server(Path(folder)) as server:
        state = SharedState.temporary()
        backend = RedisBackend(connect(server.url, timeout_seconds=1.0), "bench")
        memory = Cache("bench_memory", config, state)
        shared = Cache("bench_redis", config, state, backend=backend)
        print("| value | memory backend, µs per hit | Redis backend, µs per hit |")
        print("| --- | --- | --- |")
        for name, value in values.items():
            in_memory = time_hits(memory, value, arguments.calls, arguments.repeats)
            in_redis = time_hits(shared, value, arguments.calls, arguments.repeats)
            print(f"| {name} | {in_memory:.1f} | {in_redis:.1f} |")
        state.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
