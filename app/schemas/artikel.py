"""Articles (Artikel) and their demand forecast (Prognose)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import Line, ListQuery, Money, ReadModel, UpdateModel, WriteModel

ArtikelSort = Literal[
    "id", "-id", "artikelnummer", "-artikelnummer", "name", "-name", "kategorie", "-kategorie",
    "preis", "-preis", "bestand", "-bestand",
]  # fmt: skip


class ArtikelCreate(WriteModel):
    name: Line = Field(min_length=1, max_length=200)
    kategorie: Line = Field(min_length=1, max_length=100)
    preis: Money
    bestand: int = Field(default=0, ge=0, le=10_000_000, description="opening stock")


class ArtikelUpdate(UpdateModel):
    """Changes to an article; its stock changes only through stock movements."""

    name: Line | None = Field(default=None, min_length=1, max_length=200)
    kategorie: Line | None = Field(default=None, min_length=1, max_length=100)
    preis: Money | None = None


class ArtikelRef(ReadModel):
    id: int
    artikelnummer: str
    name: str


class ArtikelRead(ArtikelRef):
    kategorie: str
    preis: Money
    bestand: int
    erstellt_am: datetime


class ArtikelQuery(ListQuery):
    name: Line | None = Field(default=None, max_length=200, description="part of the name")
    kategorie: Line | None = Field(default=None, max_length=100, description="the exact category")
    preis_min: Money | None = None
    preis_max: Money | None = None
    sort: ArtikelSort = "id"


class WochenMenge(ReadModel):
    woche: date = Field(description="the Monday that starts the ISO week")
    menge: float


class PrognoseRead(ReadModel):
    """Weekly demand of an article and its forecast by Holt's linear method."""

    artikel_id: int
    alpha: float = Field(description="smoothing of the level")
    beta: float = Field(description="smoothing of the trend")
    rmse: float = Field(description="root mean square of the one-week-ahead errors")
    historie: list[WochenMenge]
    prognose: list[WochenMenge]
