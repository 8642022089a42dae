"""Several app instances starting at once on an empty PostgreSQL database seed it once."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import asyncpg
from sqlalchemy.engine import make_url

from app.db.setup import prepare_database
from app.settings import Settings
from tests.app.helpers import SEED_ARTIKEL, SEED_AUFTRAEGE, SEED_KUNDEN

INSTANCES = 3


async def create_database(settings: Settings, name: str) -> str:
    url = make_url(settings.database_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def count_rows(database_url: str) -> dict[str, int]:
    url = make_url(database_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        return {
            "kunden": await connection.fetchval("SELECT COUNT(*) FROM kunden"),
            "artikel": await connection.fetchval("SELECT COUNT(*) FROM artikel"),
            "auftraege": await connection.fetchval("SELECT COUNT(*) FROM auftraege"),
        }
    finally:
        await connection.close()


def test_concurrent_starts_seed_once(pg_settings: Settings) -> None:
    database_url = asyncio.run(create_database(pg_settings, "erp_concurrent_seed"))
    settings = pg_settings.model_copy(update={"database_url": database_url})

    with ThreadPoolExecutor(INSTANCES) as pool:
        for future in [pool.submit(prepare_database, settings) for _ in range(INSTANCES)]:
            future.result()

    assert asyncio.run(count_rows(database_url)) == {
        "kunden": SEED_KUNDEN,
        "artikel": SEED_ARTIKEL,
        "auftraege": SEED_AUFTRAEGE,
    }
