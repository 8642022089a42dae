"""Two ``leitstand serve`` instances on one PostgreSQL database never oversell."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.settings import Settings
from tests.app.test_concurrent_orders import ORDERS, STOCK, place_orders
from tests.support.processes import free_port, running, wait_for_http

pytestmark = pytest.mark.slow


def serve_argv(port: int, database_url: str) -> list[str]:
    return [
        sys.executable, "-m", "leitstand.cli", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--database", database_url,
        "--no-cache", "--no-metrics", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def instances(
    pg_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """Two app instances, each its own supervisor and worker, on the session's database."""
    folder = tmp_path_factory.mktemp("two-instances")
    env = os.environ | {
        "LEITSTAND_SEED_KUNDEN": str(pg_settings.seed_kunden),
        "LEITSTAND_SEED_ARTIKEL": str(pg_settings.seed_artikel),
        "LEITSTAND_SEED_AUFTRAEGE": str(pg_settings.seed_auftraege),
        "LEITSTAND_SEED": str(pg_settings.seed),
    }
    ports = [free_port(), free_port()]
    with (
        running("serve-a", serve_argv(ports[0], pg_settings.database_url), folder, env=env) as a,
        running("serve-b", serve_argv(ports[1], pg_settings.database_url), folder, env=env) as b,
    ):
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        wait_for_http(f"{urls[0]}/ready", a)
        wait_for_http(f"{urls[1]}/ready", b)
        yield urls


async def test_two_instances_sell_stock_exactly_once(
    instances: list[str], pg_settings: Settings
) -> None:
    async with httpx.AsyncClient() as client:
        created = await client.post(
            f"{instances[0]}/api/v1/artikel",
            json={"name": "Knappware", "kategorie": "Test", "preis": 3, "bestand": STOCK},
        )
    assert created.status_code == 201
    artikel_id = created.json()["id"]

    statuses = await place_orders(instances, artikel_id)

    assert statuses == Counter({201: STOCK, 409: ORDERS - STOCK})
    async with httpx.AsyncClient() as client:
        for url in instances:
            artikel = (await client.get(f"{url}/api/v1/artikel/{artikel_id}")).json()
            assert artikel["bestand"] == 0

    engine = create_async_engine(pg_settings.database_url)
    try:
        async with engine.connect() as connection:
            sold = await connection.execute(
                text("SELECT COUNT(*), SUM(menge) FROM auftragspositionen WHERE artikel_id = :id"),
                {"id": artikel_id},
            )
            movements = await connection.execute(
                text("SELECT SUM(menge) FROM lagerbewegungen WHERE artikel_id = :id"),
                {"id": artikel_id},
            )
            assert tuple(sold.one()) == (STOCK, STOCK)
            assert tuple(movements.one()) == (0,)
    finally:
        await engine.dispose()
