"""Invoices: list, read, and mark paid. Orders create and cancel them."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import ORMOption

from app.cache import cached, caches
from app.db.models import Rechnung
from app.domain.states import RECHNUNG_TRANSITIONS, RechnungStatus
from app.schemas.common import Page
from app.schemas.rechnungen import RechnungenQuery, RechnungRead, RechnungUpdate
from app.services.errors import ConflictError, NotFoundError
from app.services.queries import convert, load_one, loader_options, order_by, paginate
from app.services.stock import set_status

SORT_COLUMNS = {
    "id": Rechnung.id,
    "rechnungsdatum": Rechnung.rechnungsdatum,
    "faellig_am": Rechnung.faellig_am,
    "betrag": Rechnung.betrag_cent,
}


def _eager() -> tuple[ORMOption, ...]:
    return (joinedload(Rechnung.kunde),)


@cached("rechnungen")
async def list_rechnungen(session: AsyncSession, query: RechnungenQuery) -> Page[RechnungRead]:
    where: list[ColumnElement[bool]] = []
    if query.kunde_id is not None:
        where.append(Rechnung.kunde_id == query.kunde_id)
    if query.auftrag_id is not None:
        where.append(Rechnung.auftrag_id == query.auftrag_id)
    if query.status is not None:
        where.append(Rechnung.status == query.status)
    if query.faellig_bis is not None:
        where.append(Rechnung.faellig_am <= query.faellig_bis)
    order = order_by(query.sort, SORT_COLUMNS, Rechnung.id)
    options = loader_options(session, *_eager())
    return await paginate(session, Rechnung, where, query, RechnungRead, order, options)


@cached("rechnungen", not_found=(NotFoundError,))
async def get_rechnung(session: AsyncSession, rechnung_id: int) -> RechnungRead:
    rechnung = await load_one(session, Rechnung, rechnung_id, *_eager())
    return (await convert(session, RechnungRead, [rechnung]))[0]


async def update_rechnung(
    session: AsyncSession, rechnung_id: int, data: RechnungUpdate
) -> RechnungRead:
    """Mark an open invoice paid."""
    rechnung = await load_one(session, Rechnung, rechnung_id, *_eager())
    current = RechnungStatus(rechnung.status)
    if data.status not in RECHNUNG_TRANSITIONS[current]:
        raise ConflictError(f"Rechnung {rechnung_id} is {current} and cannot become {data.status}")
    if not await set_status(session, Rechnung, rechnung_id, current, data.status):
        raise ConflictError(f"Rechnung {rechnung_id} changed status meanwhile; read it again")
    await session.commit()
    caches.invalidate("rechnungen", "auftraege")
    set_committed_value(rechnung, "status", data.status)
    return (await convert(session, RechnungRead, [rechnung]))[0]
