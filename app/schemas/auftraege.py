"""Orders (Auftraege) with their lines (Positionen)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator

from app.domain.states import AuftragStatus
from app.schemas.artikel import ArtikelRef
from app.schemas.common import ListQuery, Money, ReadModel, RowId, WriteModel
from app.schemas.kunden import KundeRef
from app.schemas.rechnungen import RechnungRef

AuftraegeSort = Literal[
    "id", "-id", "bestelldatum", "-bestelldatum", "gesamtbetrag", "-gesamtbetrag",
]  # fmt: skip

MAX_POSITIONEN = 100


class PositionCreate(WriteModel):
    artikel_id: RowId
    menge: int = Field(ge=1, le=10_000)


class AuftragCreate(WriteModel):
    kunde_id: RowId
    positionen: list[PositionCreate] = Field(min_length=1, max_length=MAX_POSITIONEN)

    @field_validator("positionen")
    @classmethod
    def _one_line_per_article(cls, positionen: list[PositionCreate]) -> list[PositionCreate]:
        seen: set[int] = set()
        for position in positionen:
            if position.artikel_id in seen:
                raise ValueError(
                    f"artikel_id {position.artikel_id} appears twice; "
                    "put its whole quantity on one line"
                )
            seen.add(position.artikel_id)
        return positionen


class AuftragUpdate(WriteModel):
    """A status change: an open order ships or is cancelled (its stock returns)."""

    status: Literal[AuftragStatus.VERSANDT, AuftragStatus.STORNIERT]


class PositionRead(ReadModel):
    id: int
    artikel: ArtikelRef
    menge: int
    einzelpreis: Money


class AuftragRead(ReadModel):
    id: int
    kunde: KundeRef
    bestelldatum: datetime
    status: AuftragStatus
    gesamtbetrag: Money
    positionen: list[PositionRead]
    rechnung: RechnungRef | None


class AuftraegeQuery(ListQuery):
    kunde_id: RowId | None = None
    status: AuftragStatus | None = None
    von: AwareDatetime | None = Field(default=None, description="ordered at or after")
    bis: AwareDatetime | None = Field(default=None, description="ordered before")
    sort: AuftraegeSort = "id"
