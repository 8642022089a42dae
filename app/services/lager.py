"""Stock levels and stock movements: list, read, and book goods received or corrections."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.cache import cached, caches
from app.db.models import Artikel, Lagerbewegung
from app.schemas.common import Page
from app.schemas.lager import (
    LETZTE_BEWEGUNGEN,
    BewegungenQuery,
    LagerbestandRead,
    LagerbewegungCreate,
    LagerbewegungRead,
    LagerDetail,
    LagerQuery,
)
from app.services.errors import InvalidReferenceError, NotFoundError
from app.services.queries import convert, load_one, loader_options, order_by, paginate
from app.services.stock import return_stock, take_stock

LAGER_SORT_COLUMNS = {
    "id": Artikel.id,
    "artikelnummer": Artikel.artikelnummer,
    "name": Artikel.name,
    "bestand": Artikel.bestand,
}
BEWEGUNGEN_SORT_COLUMNS = {
    "id": Lagerbewegung.id,
    "zeitpunkt": Lagerbewegung.zeitpunkt,
    "menge": Lagerbewegung.menge,
}


@cached("lager")
async def list_lager(session: AsyncSession, query: LagerQuery) -> Page[LagerbestandRead]:
    where: list[ColumnElement[bool]] = []
    if query.kategorie is not None:
        where.append(Artikel.kategorie == query.kategorie)
    if query.bestand_max is not None:
        where.append(Artikel.bestand <= query.bestand_max)
    order = order_by(query.sort, LAGER_SORT_COLUMNS, Artikel.id)
    return await paginate(session, Artikel, where, query, LagerbestandRead, order)


@cached("lager", not_found=(NotFoundError,))
async def get_lager(session: AsyncSession, artikel_id: int) -> LagerDetail:
    """Return an article's stock level with its latest movements."""
    artikel = await load_one(session, Artikel, artikel_id)
    statement = (
        select(Lagerbewegung)
        .where(Lagerbewegung.artikel_id == artikel_id)
        .options(*loader_options(session, joinedload(Lagerbewegung.artikel)))
        .order_by(Lagerbewegung.id.desc())
        .limit(LETZTE_BEWEGUNGEN)
    )
    bewegungen = await convert(session, LagerbewegungRead, (await session.scalars(statement)).all())
    bestand = LagerbestandRead.model_validate(artikel)
    return LagerDetail(**bestand.model_dump(), bewegungen=bewegungen)


@cached("lager")
async def list_bewegungen(session: AsyncSession, query: BewegungenQuery) -> Page[LagerbewegungRead]:
    where: list[ColumnElement[bool]] = []
    if query.artikel_id is not None:
        where.append(Lagerbewegung.artikel_id == query.artikel_id)
    if query.auftrag_id is not None:
        where.append(Lagerbewegung.auftrag_id == query.auftrag_id)
    if query.art is not None:
        where.append(Lagerbewegung.art == query.art)
    if query.von is not None:
        where.append(Lagerbewegung.zeitpunkt >= query.von)
    if query.bis is not None:
        where.append(Lagerbewegung.zeitpunkt < query.bis)
    order = order_by(query.sort, BEWEGUNGEN_SORT_COLUMNS, Lagerbewegung.id)
    options = loader_options(session, joinedload(Lagerbewegung.artikel))
    return await paginate(session, Lagerbewegung, where, query, LagerbewegungRead, order, options)


async def create_bewegung(session: AsyncSession, data: LagerbewegungCreate) -> LagerbewegungRead:
    """Book goods received or a correction; a correction never takes stock below 0."""
    artikel = await session.get(Artikel, data.artikel_id)
    if artikel is None:
        raise InvalidReferenceError(("body", "artikel_id"), f"Artikel {data.artikel_id} not found")
    if data.menge < 0:
        await take_stock(session, data.artikel_id, -data.menge)
    else:
        await return_stock(session, data.artikel_id, data.menge)
    bewegung = Lagerbewegung(
        artikel=artikel,
        menge=data.menge,
        art=data.art,
        zeitpunkt=datetime.now(UTC),
        notiz=data.notiz,
    )
    session.add(bewegung)
    await session.commit()
    caches.invalidate("lager", "artikel")
    return LagerbewegungRead.model_validate(bewegung)
