"""Stock changes as single conditional UPDATEs, safe with many concurrent writers.

``UPDATE artikel SET bestand = bestand - :n WHERE id = :id AND bestand >= :n``
checks and takes the stock in one statement: the database serialises writers
on the row (PostgreSQL) or the file (SQLite), and the row count tells whether
the stock sufficed. Stock therefore never goes negative, whatever the number
of processes taking orders.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Artikel
from app.services.errors import OutOfStockError


async def take_stock(session: AsyncSession, artikel_id: int, menge: int) -> None:
    """Remove ``menge`` units from stock, or raise ``OutOfStockError`` and change nothing."""
    result = await session.execute(
        update(Artikel)
        .where(Artikel.id == artikel_id, Artikel.bestand >= menge)
        .values(bestand=Artikel.bestand - menge)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        available = await session.scalar(select(Artikel.bestand).where(Artikel.id == artikel_id))
        raise OutOfStockError(artikel_id, menge, available or 0)


async def return_stock(session: AsyncSession, artikel_id: int, menge: int) -> None:
    """Add ``menge`` units to stock."""
    await session.execute(
        update(Artikel)
        .where(Artikel.id == artikel_id)
        .values(bestand=Artikel.bestand + menge)
        .execution_options(synchronize_session=False)
    )


async def set_status(
    session: AsyncSession, entity: type[Any], row_id: int, current: str, new: str
) -> bool:
    """Move a row from status ``current`` to ``new``; return False if it no longer was ``current``.

    A conditional UPDATE, so two concurrent transitions of one row cannot both win.
    """
    result = await session.execute(
        update(entity)
        .where(entity.id == row_id, entity.status == current)
        .values(status=new)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1
