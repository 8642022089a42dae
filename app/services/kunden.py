"""Customers: list, read, create, update, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import cached, caches
from app.db.models import Auftrag, Kunde
from app.schemas.common import Page
from app.schemas.kunden import KundeCreate, KundenQuery, KundeRead, KundeUpdate
from app.services.errors import ConflictError, NotFoundError
from app.services.queries import load_one, order_by, paginate, placeholder_number

SORT_COLUMNS = {
    "id": Kunde.id,
    "kundennummer": Kunde.kundennummer,
    "name": Kunde.name,
    "ort": Kunde.ort,
    "erstellt_am": Kunde.erstellt_am,
}


def kundennummer(kunde_id: int) -> str:
    return f"K{kunde_id:07d}"


@cached("kunden")
async def list_kunden(session: AsyncSession, query: KundenQuery) -> Page[KundeRead]:
    where: list[ColumnElement[bool]] = []
    if query.name is not None:
        where.append(Kunde.name.icontains(query.name, autoescape=True))
    if query.ort is not None:
        where.append(Kunde.ort == query.ort)
    if query.plz is not None:
        where.append(Kunde.plz.startswith(query.plz, autoescape=True))
    order = order_by(query.sort, SORT_COLUMNS, Kunde.id)
    return await paginate(session, Kunde, where, query, KundeRead, order)


@cached("kunden", not_found=(NotFoundError,))
async def get_kunde(session: AsyncSession, kunde_id: int) -> KundeRead:
    return KundeRead.model_validate(await load_one(session, Kunde, kunde_id))


async def create_kunde(session: AsyncSession, data: KundeCreate) -> KundeRead:
    # The customer number derives from the id, which exists only after the INSERT.
    kunde = Kunde(
        **data.model_dump(), kundennummer=placeholder_number(), erstellt_am=datetime.now(UTC)
    )
    session.add(kunde)
    await session.flush()
    kunde.kundennummer = kundennummer(kunde.id)
    await session.commit()
    caches.invalidate("kunden")
    return KundeRead.model_validate(kunde)


async def update_kunde(session: AsyncSession, kunde_id: int, data: KundeUpdate) -> KundeRead:
    kunde = await load_one(session, Kunde, kunde_id)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(kunde, field, value)
    await session.commit()
    caches.invalidate("kunden", "auftraege", "rechnungen")
    return KundeRead.model_validate(kunde)


async def delete_kunde(session: AsyncSession, kunde_id: int) -> None:
    """Delete a customer who has never ordered; one with orders stays for bookkeeping."""
    kunde = await load_one(session, Kunde, kunde_id)
    if await session.scalar(select(exists().where(Auftrag.kunde_id == kunde_id))):
        raise ConflictError(f"Kunde {kunde_id} has orders and cannot be deleted")
    await session.delete(kunde)
    await session.commit()
    caches.invalidate("kunden")
