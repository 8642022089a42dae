"""Orders: list, read, place, and change status (ship or cancel)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import ORMOption

from app.cache import cached, caches
from app.db.models import Artikel, Auftrag, Auftragsposition, Kunde, Lagerbewegung, Rechnung
from app.db.seed import rechnungsnummer
from app.domain.states import (
    AUFTRAG_TRANSITIONS,
    ZAHLUNGSZIEL_TAGE,
    AuftragStatus,
    Bewegungsart,
    RechnungStatus,
)
from app.schemas.auftraege import AuftraegeQuery, AuftragCreate, AuftragRead, AuftragUpdate
from app.schemas.common import Page
from app.services.errors import ConflictError, InvalidReferenceError, NotFoundError
from app.services.queries import convert, load_one, loader_options, order_by, paginate
from app.services.stock import return_stock, set_status, take_stock

SORT_COLUMNS = {
    "id": Auftrag.id,
    "bestelldatum": Auftrag.bestelldatum,
    "gesamtbetrag": Auftrag.gesamt_cent,
}


def _eager() -> tuple[ORMOption, ...]:
    return (
        joinedload(Auftrag.kunde),
        joinedload(Auftrag.rechnung),
        selectinload(Auftrag.positionen).joinedload(Auftragsposition.artikel),
    )


@cached("auftraege")
async def list_auftraege(session: AsyncSession, query: AuftraegeQuery) -> Page[AuftragRead]:
    where: list[ColumnElement[bool]] = []
    if query.kunde_id is not None:
        where.append(Auftrag.kunde_id == query.kunde_id)
    if query.status is not None:
        where.append(Auftrag.status == query.status)
    if query.von is not None:
        where.append(Auftrag.bestelldatum >= query.von)
    if query.bis is not None:
        where.append(Auftrag.bestelldatum < query.bis)
    order = order_by(query.sort, SORT_COLUMNS, Auftrag.id)
    options = loader_options(session, *_eager())
    return await paginate(session, Auftrag, where, query, AuftragRead, order, options)


@cached("auftraege", not_found=(NotFoundError,))
async def get_auftrag(session: AsyncSession, auftrag_id: int) -> AuftragRead:
    auftrag = await load_one(session, Auftrag, auftrag_id, *_eager())
    return (await convert(session, AuftragRead, [auftrag]))[0]


async def create_auftrag(session: AsyncSession, data: AuftragCreate) -> AuftragRead:
    """Place an order: reserve its stock and write it with its lines, movements and invoice.

    Everything happens in the session's one transaction, committed at the end:
    when any article lacks stock, ``OutOfStockError`` leaves the database as it was.
    """
    now = datetime.now(UTC)
    kunde = await session.get(Kunde, data.kunde_id)
    if kunde is None:
        raise InvalidReferenceError(("body", "kunde_id"), f"Kunde {data.kunde_id} not found")

    ids = [position.artikel_id for position in data.positionen]
    found = await session.scalars(select(Artikel).where(Artikel.id.in_(ids)))
    artikel = {row.id: row for row in found}
    for index, position in enumerate(data.positionen):
        if position.artikel_id not in artikel:
            raise InvalidReferenceError(
                ("body", "positionen", index, "artikel_id"),
                f"Artikel {position.artikel_id} not found",
            )

    # Reserve in ascending article id. Concurrent PostgreSQL transactions then
    # lock article rows in the same order, so they never wait in a cycle.
    for position in sorted(data.positionen, key=lambda line: line.artikel_id):
        await take_stock(session, position.artikel_id, position.menge)

    positionen = [
        Auftragsposition(
            artikel=artikel[position.artikel_id],
            menge=position.menge,
            einzelpreis_cent=artikel[position.artikel_id].preis_cent,
        )
        for position in data.positionen
    ]
    gesamt = sum(position.menge * position.einzelpreis_cent for position in positionen)
    auftrag = Auftrag(
        kunde=kunde,
        bestelldatum=now,
        status=AuftragStatus.OFFEN,
        gesamt_cent=gesamt,
        positionen=positionen,
    )
    session.add(auftrag)
    await session.flush()

    auftrag.rechnung = Rechnung(
        rechnungsnummer=rechnungsnummer(auftrag.id),
        auftrag_id=auftrag.id,
        kunde_id=kunde.id,
        rechnungsdatum=now,
        faellig_am=now.date() + timedelta(days=ZAHLUNGSZIEL_TAGE),
        betrag_cent=gesamt,
        status=RechnungStatus.OFFEN,
    )
    session.add_all(
        Lagerbewegung(
            artikel_id=position.artikel_id,
            menge=-position.menge,
            art=Bewegungsart.AUFTRAG,
            auftrag_id=auftrag.id,
            zeitpunkt=now,
        )
        for position in data.positionen
    )
    await session.commit()
    caches.invalidate("auftraege", "rechnungen", "artikel", "lager")
    return AuftragRead.model_validate(auftrag)


async def update_auftrag(
    session: AsyncSession, auftrag_id: int, data: AuftragUpdate
) -> AuftragRead:
    """Ship or cancel an open order; cancelling returns its stock and cancels its invoice."""
    auftrag = await load_one(session, Auftrag, auftrag_id, *_eager())
    current = AuftragStatus(auftrag.status)
    if data.status not in AUFTRAG_TRANSITIONS[current]:
        raise ConflictError(f"Auftrag {auftrag_id} is {current} and cannot become {data.status}")
    if not await set_status(session, Auftrag, auftrag_id, current, data.status):
        raise ConflictError(f"Auftrag {auftrag_id} changed status meanwhile; read it again")

    if data.status is AuftragStatus.STORNIERT:
        now = datetime.now(UTC)
        for position in sorted(auftrag.positionen, key=lambda line: line.artikel_id):
            await return_stock(session, position.artikel_id, position.menge)
            session.add(
                Lagerbewegung(
                    artikel_id=position.artikel_id,
                    menge=position.menge,
                    art=Bewegungsart.STORNO,
                    auftrag_id=auftrag_id,
                    zeitpunkt=now,
                )
            )
        if auftrag.rechnung is not None:
            auftrag.rechnung.status = RechnungStatus.STORNIERT

    await session.commit()
    caches.invalidate("auftraege", "rechnungen", "artikel", "lager", "prognose")
    set_committed_value(auftrag, "status", data.status)
    return (await convert(session, AuftragRead, [auftrag]))[0]
