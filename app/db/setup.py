"""Schema creation and first-start seeding, run once before the workers start."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import SQLITE_BEGIN_MODE, create_engine
from app.db.models import Artikel, Base
from app.db.seed import SeedSizes, generate
from app.settings import Settings

logger = logging.getLogger("leitstand.db")

# Any constant; it names the PostgreSQL advisory lock taken while seeding.
_SEED_LOCK_KEY = 0x4C454954


def prepare_database(settings: Settings, end: datetime | None = None) -> None:
    """Create the schema and, when the database has no articles yet, seed it.

    Seeded orders cover the two years before ``end`` (default: the start of
    the current UTC day). Safe to call from several processes at once: the
    first one seeds, the others wait for it and find the data in place.
    """
    if end is None:
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    _create_sqlite_folder(settings.database_url)
    asyncio.run(_prepare(settings, end))


def _create_sqlite_folder(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


async def _prepare(settings: Settings, end: datetime) -> None:
    engine = create_engine(settings)
    try:
        writer = engine.execution_options(**{SQLITE_BEGIN_MODE: "IMMEDIATE"})
        async with writer.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEED_LOCK_KEY}
                )
            await connection.run_sync(Base.metadata.create_all)
            if await connection.scalar(select(Artikel.id).limit(1)) is not None:
                logger.info("Database %s is already seeded", engine.url.render_as_string())
                return
            sizes = SeedSizes(settings.seed_kunden, settings.seed_artikel, settings.seed_auftraege)
            await _seed(connection, sizes, settings.seed, end)
    finally:
        await engine.dispose()


def _drop_indexes(connection: Connection) -> None:
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            index.drop(connection)


def _create_indexes(connection: Connection) -> None:
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            index.create(connection)


async def _seed(connection: AsyncConnection, sizes: SeedSizes, seed: int, end: datetime) -> None:
    started = time.perf_counter()
    logger.info(
        "Seeding %d customers, %d articles and %d orders (seed %d)",
        sizes.kunden,
        sizes.artikel,
        sizes.auftraege,
        seed,
    )

    # Building an index once over all rows is much cheaper than updating it
    # row by row during the bulk insert, so the empty indexes go first.
    await connection.run_sync(_drop_indexes)
    for batch in generate(sizes, seed, end):
        if batch.rows:
            await connection.execute(insert(Base.metadata.tables[batch.table]), batch.rows)

    if connection.dialect.name == "postgresql":
        # Seeded rows carry explicit ids, which do not advance the sequences.
        for table in Base.metadata.sorted_tables:
            next_id = select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery()
            sequence = func.pg_get_serial_sequence(table.name, "id")
            await connection.execute(select(func.setval(sequence, next_id, False)))

    await connection.run_sync(_create_indexes)
    await connection.execute(text("ANALYZE"))
    logger.info("Seeded the database in %.1f s", time.perf_counter() - started)


def main() -> None:
    """Create and seed the database named by the ``LEITSTAND_*`` environment variables."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    prepare_database(Settings())


if __name__ == "__main__":
    main()
