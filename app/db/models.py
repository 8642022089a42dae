"""ERP tables, mapped with SQLAlchemy's declarative ORM.

Money is stored as integer cents (``*_cent``), so that sums are exact on every
database; each table exposes the amount in euros as a ``Decimal`` property.
Relationships load lazily by default; the services ask for eager loading per
query (see ``app.services.loading``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.db.types import UTCDateTime


class Base(DeclarativeBase):
    pass


def cents_to_euros(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class Kunde(Base):
    __tablename__ = "kunden"

    id: Mapped[int] = mapped_column(primary_key=True)
    kundennummer: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str] = mapped_column(String(254))
    strasse: Mapped[str] = mapped_column(String(200))
    plz: Mapped[str] = mapped_column(String(10))
    ort: Mapped[str] = mapped_column(String(100), index=True)
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime())


class Artikel(Base):
    __tablename__ = "artikel"
    __table_args__ = (
        CheckConstraint("bestand >= 0", name="artikel_bestand_not_negative"),
        CheckConstraint("preis_cent >= 0", name="artikel_preis_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    artikelnummer: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kategorie: Mapped[str] = mapped_column(String(100), index=True)
    preis_cent: Mapped[int] = mapped_column(Integer, index=True)
    bestand: Mapped[int] = mapped_column(Integer)
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def preis(self) -> Decimal:
        return cents_to_euros(self.preis_cent)


class Auftrag(Base):
    __tablename__ = "auftraege"

    id: Mapped[int] = mapped_column(primary_key=True)
    kunde_id: Mapped[int] = mapped_column(ForeignKey("kunden.id"), index=True)
    bestelldatum: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    gesamt_cent: Mapped[int] = mapped_column(BigInteger)

    kunde: Mapped[Kunde] = relationship()
    positionen: Mapped[list[Auftragsposition]] = relationship(
        back_populates="auftrag", order_by="Auftragsposition.id"
    )
    rechnung: Mapped[Rechnung | None] = relationship(back_populates="auftrag")

    @property
    def gesamtbetrag(self) -> Decimal:
        return cents_to_euros(self.gesamt_cent)


class Auftragsposition(Base):
    __tablename__ = "auftragspositionen"
    __table_args__ = (CheckConstraint("menge > 0", name="auftragsposition_menge_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    auftrag_id: Mapped[int] = mapped_column(ForeignKey("auftraege.id"), index=True)
    artikel_id: Mapped[int] = mapped_column(ForeignKey("artikel.id"), index=True)
    menge: Mapped[int] = mapped_column(Integer)
    einzelpreis_cent: Mapped[int] = mapped_column(Integer)

    auftrag: Mapped[Auftrag] = relationship(back_populates="positionen")
    artikel: Mapped[Artikel] = relationship()

    @property
    def einzelpreis(self) -> Decimal:
        return cents_to_euros(self.einzelpreis_cent)


class Rechnung(Base):
    __tablename__ = "rechnungen"

    id: Mapped[int] = mapped_column(primary_key=True)
    rechnungsnummer: Mapped[str] = mapped_column(String(20), unique=True)
    auftrag_id: Mapped[int] = mapped_column(ForeignKey("auftraege.id"), unique=True)
    kunde_id: Mapped[int] = mapped_column(ForeignKey("kunden.id"), index=True)
    rechnungsdatum: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    faellig_am: Mapped[date] = mapped_column(Date)
    betrag_cent: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)

    auftrag: Mapped[Auftrag] = relationship(back_populates="rechnung")
    kunde: Mapped[Kunde] = relationship()

    @property
    def betrag(self) -> Decimal:
        return cents_to_euros(self.betrag_cent)


class Lagerbewegung(Base):
    """A signed change of one article's stock; ``artikel.bestand`` is their sum."""

    __tablename__ = "lagerbewegungen"
    __table_args__ = (
        Index("ix_lagerbewegungen_artikel_zeitpunkt", "artikel_id", "zeitpunkt"),
        CheckConstraint("menge <> 0", name="lagerbewegung_menge_not_zero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    artikel_id: Mapped[int] = mapped_column(ForeignKey("artikel.id"))
    menge: Mapped[int] = mapped_column(Integer)
    art: Mapped[str] = mapped_column(String(16), index=True)
    auftrag_id: Mapped[int | None] = mapped_column(ForeignKey("auftraege.id"), index=True)
    zeitpunkt: Mapped[datetime] = mapped_column(UTCDateTime())
    notiz: Mapped[str | None] = mapped_column(String(200))

    artikel: Mapped[Artikel] = relationship()
