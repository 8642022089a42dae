"""Write sessions on SQLite run their statements without giving up the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, nullcontext

import pytest
from sqlalchemy import select, text, update

from app.db.engine import Database
from app.db.models import Artikel
from app.settings import Settings


class LoopTurns:
    """Counts the turns the event loop gives to other tasks."""

    def __init__(self) -> None:
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            self.count += 1
            await asyncio.sleep(0)

    async def __aenter__(self) -> LoopTurns:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings)
    yield db
    await db.dispose()


async def test_write_statements_do_not_yield_to_the_loop(database: Database) -> None:
    async with LoopTurns() as turns, database.write_session() as session:
        await session.connection()
        before = turns.count
        for artikel_id in (1, 2, 3):
            await session.execute(
                update(Artikel).where(Artikel.id == artikel_id).values(bestand=Artikel.bestand + 1)
            )
        rows = (await session.scalars(select(Artikel).order_by(Artikel.id).limit(5))).all()
        assert turns.count == before
        await session.commit()
    assert [row.id for row in rows] == [1, 2, 3, 4, 5]


async def test_reads_and_commits_use_connection_thread(database: Database) -> None:
    async with LoopTurns() as turns:
        async with database.read_session() as session:
            before = turns.count
            await session.scalar(select(Artikel.bestand).where(Artikel.id == 1))
            assert turns.count > before

        async with database.write_session() as session:
            await session.execute(text("UPDATE artikel SET bestand = bestand + 1 WHERE id = 1"))
            before = turns.count
            await session.commit()
            assert turns.count > before


@pytest.mark.parametrize("ending", ["commit", "rollback", "exception"])
async def test_connection_leaves_inline_mode_after_the_transaction(
    database: Database, ending: str
) -> None:
    # The pool contains one connection, so the read below reuses the writer's.
    expected: AbstractContextManager[object] = (
        pytest.raises(RuntimeError) if ending == "exception" else nullcontext()
    )
    with expected:
        async with database.write_session() as session:
            await session.execute(text("UPDATE artikel SET bestand = bestand + 1 WHERE id = 1"))
            if ending == "commit":
                await session.commit()
            elif ending == "rollback":
                await session.rollback()
            else:
                raise RuntimeError("the handler failed")

    async with LoopTurns() as turns, database.read_session() as session:
        before = turns.count
        await session.scalar(select(Artikel.bestand).where(Artikel.id == 1))
        assert turns.count > before


async def test_written_rows_are_visible_to_other_connections(
    database: Database, settings: Settings
) -> None:
    async with database.read_session() as session:
        start = await session.scalar(select(Artikel.bestand).where(Artikel.id == 2))
    assert start is not None

    async with database.write_session() as session:
        await session.execute(
            update(Artikel).where(Artikel.id == 2).values(bestand=Artikel.bestand + 7)
        )
        await session.commit()

    other = Database(settings)
    try:
        async with other.read_session() as session:
            assert await session.scalar(select(Artikel.bestand).where(Artikel.id == 2)) == start + 7
    finally:
        await other.dispose()
