"""The Redis backend against a real redis-server: the CacheBackend contract and types."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import redis

from app.cache import MISSING, CacheBackend
from app.cache.redis_backend import RedisBackend, connect
from app.cache.region import NotFound
from app.schemas.artikel import ArtikelRead
from app.services.errors import NotFoundError


def backend(url: str, prefix: str, name: str = "artikel") -> RedisBackend:
    return RedisBackend(connect(url, timeout_seconds=1.0), name, prefix=prefix)


def test_redis_backend_is_a_cache_backend(redis_url: str, prefix: str) -> None:
    shared: CacheBackend = backend(redis_url, prefix)
    assert shared.generation() == 0


def test_get_set_delete(redis_url: str, prefix: str) -> None:
    shared = backend(redis_url, prefix)
    shared.set(("k", 1), "value", ttl_seconds=5, generation=0)
    assert shared.get(("k", 1)) == "value"
    assert shared.get(("k", "1")) is MISSING
    shared.delete(("k", 1))
    assert shared.get(("k", 1)) is MISSING
    shared.delete(("k", 1))  # deleting a missing key is no error


def test_entry_expires_after_its_ttl(redis_url: str, prefix: str, client: redis.Redis) -> None:
    shared = backend(redis_url, prefix)
    shared.set(("short",), 1, ttl_seconds=0.2, generation=0)
    shared.set(("long",), 2, ttl_seconds=60, generation=0)
    assert 0 < client.pttl(f"{prefix}:artikel:entry:('short',)") <= 200
    time.sleep(0.3)
    assert shared.get(("short",)) is MISSING
    assert shared.get(("long",)) == 2


def test_clear_reaches_every_client(redis_url: str, prefix: str) -> None:
    first = backend(redis_url, prefix)
    second = backend(redis_url, prefix)
    first.set(("k",), 1, ttl_seconds=60, generation=0)
    assert second.get(("k",)) == 1

    second.clear()

    assert first.generation() == 1
    assert first.get(("k",)) is MISSING
    assert second.get(("k",)) is MISSING


def test_value_from_older_generation_is_not_stored(redis_url: str, prefix: str) -> None:
    shared = backend(redis_url, prefix)
    started_at = shared.generation()
    shared.clear()  # a write commits while the value is computed
    shared.set(("k",), "stale", ttl_seconds=60, generation=started_at)
    assert shared.get(("k",)) is MISSING
    shared.set(("k",), "fresh", ttl_seconds=60, generation=shared.generation())
    assert shared.get(("k",)) == "fresh"


def test_caches_do_not_share_entries(redis_url: str, prefix: str) -> None:
    artikel = backend(redis_url, prefix, "artikel")
    kunden = backend(redis_url, prefix, "kunden")
    artikel.set(("k",), "artikel", ttl_seconds=60, generation=0)
    kunden.clear()
    assert artikel.get(("k",)) == "artikel"
    assert kunden.get(("k",)) is MISSING


def test_types_survive_the_round_trip(redis_url: str, prefix: str) -> None:
    shared = backend(redis_url, prefix)
    artikel = ArtikelRead(
        id=7,
        artikelnummer="A-000007",
        name="Schraube",
        kategorie="Eisenwaren",
        preis=Decimal("0.35"),
        bestand=12,
        erstellt_am=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
    )
    value = {
        1: date(2026, 12, 4),
        2: datetime(2026, 12, 4, 17, 30, tzinfo=UTC),
        3: Decimal("19.99"),
        4: [artikel],
        5: None,
    }
    shared.set(("types",), value, ttl_seconds=60, generation=0)

    stored = shared.get(("types",))

    assert stored == value
    assert list(stored) == [1, 2, 3, 4, 5]
    assert type(stored[3]) is Decimal
    assert stored[2].tzinfo is UTC
    assert type(stored[4][0]) is ArtikelRead


def test_not_found_result_survives_the_round_trip(redis_url: str, prefix: str) -> None:
    shared = backend(redis_url, prefix)
    shared.set(("missing", 5), NotFound(NotFoundError("artikel", 5)), ttl_seconds=5, generation=0)

    stored = shared.get(("missing", 5))

    assert type(stored) is NotFound
    assert type(stored.error) is NotFoundError
    assert str(stored.error) == "artikel 5 not found"
    assert stored.error.resource == "artikel"
