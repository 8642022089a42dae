"""Articles: list, read, create, update, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import cached, caches
from app.db.models import Artikel, Auftragsposition, Lagerbewegung
from app.domain.states import Bewegungsart
from app.schemas.artikel import ArtikelCreate, ArtikelQuery, ArtikelRead, ArtikelUpdate
from app.schemas.common import Page, euros_to_cents
from app.services.errors import ConflictError, NotFoundError
from app.services.queries import load_one, order_by, paginate, placeholder_number

SORT_COLUMNS = {
    "id": Artikel.id,
    "artikelnummer": Artikel.artikelnummer,
    "name": Artikel.name,
    "kategorie": Artikel.kategorie,
    "preis": Artikel.preis_cent,
    "bestand": Artikel.bestand,
}


def artikelnummer(artikel_id: int) -> str:
    return f"A{artikel_id:06d}"


@cached("artikel")
async def list_artikel(session: AsyncSession, query: ArtikelQuery) -> Page[ArtikelRead]:
    where: list[ColumnElement[bool]] = []
    if query.name is not None:
        where.append(Artikel.name.icontains(query.name, autoescape=True))
    if query.kategorie is not None:
        where.append(Artikel.kategorie == query.kategorie)
    if query.preis_min is not None:
        where.append(Artikel.preis_cent >= euros_to_cents(query.preis_min))
    if query.preis_max is not None:
        where.append(Artikel.preis_cent <= euros_to_cents(query.preis_max))
    order = order_by(query.sort, SORT_COLUMNS, Artikel.id)
    return await paginate(session, Artikel, where, query, ArtikelRead, order)


@cached("artikel", not_found=(NotFoundError,))
async def get_artikel(session: AsyncSession, artikel_id: int) -> ArtikelRead:
    return ArtikelRead.model_validate(await load_one(session, Artikel, artikel_id))


async def create_artikel(session: AsyncSession, data: ArtikelCreate) -> ArtikelRead:
    """Create an article; its opening stock is booked as a ``zugang`` movement."""
    now = datetime.now(UTC)
    artikel = Artikel(
        artikelnummer=placeholder_number(),
        name=data.name,
        kategorie=data.kategorie,
        preis_cent=euros_to_cents(data.preis),
        bestand=data.bestand,
        erstellt_am=now,
    )
    session.add(artikel)
    await session.flush()
    artikel.artikelnummer = artikelnummer(artikel.id)
    if data.bestand > 0:
        session.add(
            Lagerbewegung(
                artikel_id=artikel.id,
                menge=data.bestand,
                art=Bewegungsart.ZUGANG,
                zeitpunkt=now,
                notiz="Anfangsbestand",
            )
        )
    await session.commit()
    caches.invalidate("artikel", "lager", "prognose")
    return ArtikelRead.model_validate(artikel)


async def update_artikel(
    session: AsyncSession, artikel_id: int, data: ArtikelUpdate
) -> ArtikelRead:
    artikel = await load_one(session, Artikel, artikel_id)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "preis" in changes:
        artikel.preis_cent = euros_to_cents(changes.pop("preis"))
    for field, value in changes.items():
        setattr(artikel, field, value)
    await session.commit()
    caches.invalidate("artikel", "lager", "auftraege")
    return ArtikelRead.model_validate(artikel)


async def delete_artikel(session: AsyncSession, artikel_id: int) -> None:
    """Delete an article that no order names, with its stock movements."""
    artikel = await load_one(session, Artikel, artikel_id)
    if await session.scalar(select(exists().where(Auftragsposition.artikel_id == artikel_id))):
        raise ConflictError(f"Artikel {artikel_id} appears in orders and cannot be deleted")
    await session.execute(delete(Lagerbewegung).where(Lagerbewegung.artikel_id == artikel_id))
    await session.delete(artikel)
    await session.commit()
    caches.invalidate("artikel", "lager", "prognose")
