"""Stock levels (Lagerbestand) and stock movements (Lagerbewegungen)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import AliasChoices, AwareDatetime, Field, model_validator

from app.domain.states import Bewegungsart
from app.schemas.artikel import ArtikelRef
from app.schemas.common import Line, ListQuery, ReadModel, RowId, Text, WriteModel

LagerSort = Literal[
    "id", "-id", "artikelnummer", "-artikelnummer", "name", "-name", "bestand", "-bestand",
]  # fmt: skip
BewegungenSort = Literal["id", "-id", "zeitpunkt", "-zeitpunkt", "menge", "-menge"]

# Movements shown with a stock level.
LETZTE_BEWEGUNGEN = 20


class LagerbestandRead(ReadModel):
    artikel_id: int = Field(validation_alias=AliasChoices("artikel_id", "id"))
    artikelnummer: str
    name: str
    kategorie: str
    bestand: int


class LagerbewegungRead(ReadModel):
    id: int
    artikel: ArtikelRef
    menge: int = Field(description="positive: into stock, negative: out of stock")
    art: Bewegungsart
    auftrag_id: int | None
    zeitpunkt: datetime
    notiz: str | None


class LagerDetail(LagerbestandRead):
    bewegungen: list[LagerbewegungRead] = Field(description="the latest movements, newest first")


class LagerbewegungCreate(WriteModel):
    """Goods received (``zugang``, positive) or a stock-count correction (``korrektur``)."""

    artikel_id: RowId
    menge: int = Field(ge=-10_000_000, le=10_000_000)
    art: Literal[Bewegungsart.ZUGANG, Bewegungsart.KORREKTUR]
    notiz: Text | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _check_sign(self) -> Self:
        if self.menge == 0:
            raise ValueError("menge must not be 0")
        if self.art is Bewegungsart.ZUGANG and self.menge < 0:
            raise ValueError("a zugang adds stock: menge must be positive")
        return self


class LagerQuery(ListQuery):
    kategorie: Line | None = Field(default=None, max_length=100)
    bestand_max: int | None = Field(default=None, ge=0, description="stock at or below")
    sort: LagerSort = "id"


class BewegungenQuery(ListQuery):
    artikel_id: RowId | None = None
    auftrag_id: RowId | None = None
    art: Bewegungsart | None = None
    von: AwareDatetime | None = Field(default=None, description="at or after")
    bis: AwareDatetime | None = Field(default=None, description="before")
    sort: BewegungenSort = "-id"
