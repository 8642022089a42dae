"""Two app processes with the Redis cache backend never serve each other's stale reads."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import httpx
import pytest
import redis

from app.db.setup import prepare_database
from tests.app.helpers import small_settings, sqlite_url
from tests.support.processes import free_port, running, wait_for_http

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def urls(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two single-process app instances on one SQLite file and one Redis."""
    folder = tmp_path_factory.mktemp("redis-instances")
    settings = small_settings(sqlite_url(folder / "erp.db"))
    prepare_database(settings)
    env = os.environ | {
        "LEITSTAND_DATABASE_URL": settings.database_url,
        "LEITSTAND_METRICS_ENABLED": "false",
        "LEITSTAND_CACHE_ENABLED": "true",
        "LEITSTAND_CACHE_BACKEND": "redis",
        "LEITSTAND_REDIS_URL": redis_url,
    }
    ports = [free_port(), free_port()]
    argv = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app"]
    argv += ["--host", "127.0.0.1", "--log-level", "warning"]
    with (
        running("app-a", [*argv, "--port", str(ports[0])], folder, env=env) as first,
        running("app-b", [*argv, "--port", str(ports[1])], folder, env=env) as second,
    ):
        addresses = [f"http://127.0.0.1:{port}" for port in ports]
        wait_for_http(f"{addresses[0]}/ready", first)
        wait_for_http(f"{addresses[1]}/ready", second)
        yield addresses


def test_entries_live_in_redis(urls: list[str], redis_url: str) -> None:
    response = httpx.get(f"{urls[0]}/api/v1/kunden/3")
    assert response.status_code == 200

    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match="leitstand:cache:kunden:entry:*"))
    assert keys


def test_write_invalidates_other_instance(urls: list[str]) -> None:
    first, second = urls
    detail, listing = "/api/v1/artikel/2", "/api/v1/artikel"
    params = {"limit": 5}
    before = httpx.get(f"{first}{detail}").json()
    assert httpx.get(f"{second}{detail}").json() == before
    assert httpx.get(f"{first}{listing}", params=params).status_code == 200

    changed = httpx.patch(f"{second}{detail}", json={"name": "Umbenannt"})
    assert changed.status_code == 200

    for url in urls:
        assert httpx.get(f"{url}{detail}").json()["name"] == "Umbenannt"
        items = httpx.get(f"{url}{listing}", params=params).json()["items"]
        assert [item["name"] for item in items if item["id"] == 2] == ["Umbenannt"]


def test_missing_row_created_later_is_found(urls: list[str]) -> None:
    first, second = urls
    missing = httpx.get(f"{first}/api/v1/kunden/999999")
    assert missing.status_code == 404
    assert httpx.get(f"{second}/api/v1/kunden/999999").status_code == 404

    created = httpx.post(
        f"{second}/api/v1/kunden",
        json={"name": "Neu", "email": "neu@example.org", "strasse": "W 1", "plz": "10115",
              "ort": "Berlin"},
    )  # fmt: skip
    assert created.status_code == 201
    kunde_id = created.json()["id"]

    for url in urls:
        assert httpx.get(f"{url}/api/v1/kunden/{kunde_id}").status_code == 200
