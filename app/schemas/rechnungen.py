"""Invoices (Rechnungen); each order has one, written with the order."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from app.domain.states import RechnungStatus
from app.schemas.common import ListQuery, Money, ReadModel, RowId, WriteModel
from app.schemas.kunden import KundeRef

RechnungenSort = Literal[
    "id", "-id", "rechnungsdatum", "-rechnungsdatum", "faellig_am", "-faellig_am",
    "betrag", "-betrag",
]  # fmt: skip


class RechnungUpdate(WriteModel):
    """The only change an invoice takes: an open invoice is paid."""

    status: Literal[RechnungStatus.BEZAHLT]


class RechnungRef(ReadModel):
    id: int
    rechnungsnummer: str
    status: RechnungStatus


class RechnungRead(RechnungRef):
    auftrag_id: int
    kunde: KundeRef
    rechnungsdatum: datetime
    faellig_am: date
    betrag: Money


class RechnungenQuery(ListQuery):
    kunde_id: RowId | None = None
    auftrag_id: RowId | None = None
    status: RechnungStatus | None = None
    faellig_bis: date | None = Field(default=None, description="due on or before this day")
    sort: RechnungenSort = "id"
