"""Customers (Kunden)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field

from app.schemas.common import Line, ListQuery, ReadModel, UpdateModel, WriteModel

KundenSort = Literal[
    "id", "-id", "kundennummer", "-kundennummer", "name", "-name", "ort", "-ort",
    "erstellt_am", "-erstellt_am",
]  # fmt: skip


class KundeCreate(WriteModel):
    name: Line = Field(min_length=1, max_length=200)
    email: EmailStr
    strasse: Line = Field(min_length=1, max_length=200)
    plz: str = Field(pattern=r"^[0-9]{5}$")
    ort: Line = Field(min_length=1, max_length=100)


class KundeUpdate(UpdateModel):
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    strasse: Line | None = Field(default=None, min_length=1, max_length=200)
    plz: str | None = Field(default=None, pattern=r"^[0-9]{5}$")
    ort: Line | None = Field(default=None, min_length=1, max_length=100)


class KundeRef(ReadModel):
    id: int
    kundennummer: str
    name: str


class KundeRead(KundeRef):
    email: str
    strasse: str
    plz: str
    ort: str
    erstellt_am: datetime


class KundenQuery(ListQuery):
    name: Line | None = Field(default=None, max_length=200, description="part of the name")
    ort: Line | None = Field(default=None, max_length=100, description="the exact city")
    plz: Line | None = Field(default=None, max_length=10, description="start of the postcode")
    sort: KundenSort = "id"
