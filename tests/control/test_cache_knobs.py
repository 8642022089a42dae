from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.cache import MISSING, CacheRegistry
from app.control import install_control
from app.settings import Settings
from tests.control.conftest import AUTH, change_body, client_for


@pytest.fixture
def caches(settings: Settings) -> CacheRegistry:
    registry = CacheRegistry()
    registry.configure(settings)
    return registry


@pytest.fixture
async def http(settings: Settings, caches: CacheRegistry) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_control(app, settings, caches=caches)
    async with client_for(app) as client:
        yield client


def fill(caches: CacheRegistry, name: str) -> None:
    caches.get(name).call(("key",), lambda: "value", (), {})


async def test_cache_knobs_listed_with_defaults(http: httpx.AsyncClient) -> None:
    knobs = (await http.get("/control", headers=AUTH)).json()["knobs"]
    assert knobs["cache.prognose.capacity"]["value"] == 2048
    assert knobs["cache.prognose.capacity"]["default"] == 2048
    assert knobs["cache.prognose.capacity"]["min"] == 16
    assert knobs["cache.lager.ttl_seconds"]["value"] == 10
    assert knobs["cache.lager.ttl_seconds"]["max"] == 86400


async def test_capacity_change_reaches_every_worker(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    response = await http.put(
        "/control/knobs/cache.artikel.capacity", json=change_body(512), headers=AUTH
    )
    assert response.status_code == 200
    assert response.json()["previous"] == 4096

    # A second registry on the same state file stands for another worker process.
    other_worker = CacheRegistry()
    other_worker.configure(settings)
    assert other_worker.describe()["artikel"]["capacity"] == 512

    revert = await http.post(
        f"/control/changes/{response.json()['change_id']}/revert",
        json={"reason": "test"},
        headers=AUTH,
    )
    assert revert.status_code == 200
    assert other_worker.describe()["artikel"]["capacity"] == 4096


async def test_cache_bounds_are_enforced(http: httpx.AsyncClient) -> None:
    response = await http.put(
        "/control/knobs/cache.artikel.ttl_seconds", json=change_body(0.5), headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["min"] == 1


async def test_clear_one_cache_keeps_others(http: httpx.AsyncClient, caches: CacheRegistry) -> None:
    fill(caches, "artikel")
    fill(caches, "kunden")
    response = await http.post(
        "/control/cache/clear", json={"cache": "artikel", "reason": "test"}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.json() == {"cleared": ["artikel"]}
    assert caches.get("artikel").lookup(("key",)) is MISSING
    assert caches.get("kunden").lookup(("key",)) == "value"


async def test_clear_all_caches(http: httpx.AsyncClient, caches: CacheRegistry) -> None:
    for name in caches.names():
        fill(caches, name)
    response = await http.post(
        "/control/cache/clear", json={"cache": None, "reason": "test"}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.json()["cleared"] == caches.names()
    assert all(caches.get(name).lookup(("key",)) is MISSING for name in caches.names())


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"cache": "nope", "reason": "test"}, 404),
        ({"reason": "test"}, 422),
        ({"cache": "artikel"}, 422),
    ],
    ids=["unknown-cache", "cache-missing", "reason-missing"],
)
async def test_clear_rejects_bad_requests(
    http: httpx.AsyncClient, body: dict[str, object], code: int
) -> None:
    response = await http.post("/control/cache/clear", json=body, headers=AUTH)
    assert response.status_code == code


async def test_clear_counted_in_metrics(settings: Settings, caches: CacheRegistry) -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    app = FastAPI()
    install_control(app, settings, caches=caches, registry=registry)
    async with client_for(app) as client:
        await client.post(
            "/control/cache/clear", json={"cache": None, "reason": "test"}, headers=AUTH
        )
    for name in caches.names():
        labels = {"knob": f"cache.{name}.clear"}
        assert registry.get_sample_value("erp_control_changes_total", labels) == 1
    capacity = {"knob": "cache.prognose.capacity"}
    assert registry.get_sample_value("erp_control_value", capacity) == 2048
