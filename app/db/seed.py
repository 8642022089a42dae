"""A deterministic generator of ERP data: the same seed and end time give the same rows.

Customers come from Faker's ``de_DE`` locale; articles, orders, invoices and
stock movements from one ``random.Random``. Orders spread over the two years
before ``end`` with demand that grows toward the end, and a few articles sell
far more than the rest (Zipf-like popularity), so the demand forecast has
trends to find. Every stock level equals the sum of its article's movements.

Rows come out in batches of plain dicts with explicit ids, ready for a bulk
``INSERT`` through SQLAlchemy Core.
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from faker import Faker

from app.db.models import Artikel, Auftrag, Auftragsposition, Kunde, Lagerbewegung, Rechnung
from app.domain.states import ZAHLUNGSZIEL_TAGE, AuftragStatus, Bewegungsart, RechnungStatus

Row = dict[str, Any]

HISTORY = timedelta(weeks=104)
ORDER_BATCH = 10_000

KATEGORIEN = {
    "Befestigung": ["Schraube", "Dübel", "Mutter", "Unterlegscheibe", "Nagel", "Gewindestange"],
    "Werkzeug": ["Hammer", "Schraubendreher", "Zange", "Wasserwaage", "Säge", "Meißel"],
    "Elektro": ["Kabel", "Steckdose", "Schalter", "Verteiler", "Leuchte", "Sicherung"],
    "Sanitär": ["Rohr", "Ventil", "Dichtung", "Siphon", "Armatur", "Schlauch"],
    "Farbe": ["Wandfarbe", "Lack", "Grundierung", "Pinsel", "Farbrolle", "Abdeckfolie"],
    "Garten": ["Spaten", "Gartenschere", "Rasensamen", "Gießkanne", "Pflanzerde", "Rechen"],
    "Büro": ["Ordner", "Kopierpapier", "Kugelschreiber", "Hefter", "Locher", "Notizblock"],
}
VARIANTEN = ["verzinkt", "Edelstahl", "Profi", "Eco", "XL", "kompakt", "weiß", "schwarz"]
MENGEN = [1, 1, 1, 1, 2, 2, 3, 5, 10]


@dataclass(frozen=True)
class SeedSizes:
    kunden: int
    artikel: int
    auftraege: int

    def __post_init__(self) -> None:
        if self.auftraege > 0 and (self.kunden < 1 or self.artikel < 1):
            raise ValueError(
                f"seeding {self.auftraege} orders needs at least one customer and one article "
                f"(got {self.kunden} customers, {self.artikel} articles); "
                "raise LEITSTAND_SEED_KUNDEN / LEITSTAND_SEED_ARTIKEL or set "
                "LEITSTAND_SEED_AUFTRAEGE=0"
            )


@dataclass(frozen=True)
class Batch:
    table: str
    rows: list[Row]


def generate(sizes: SeedSizes, seed: int, end: datetime) -> Iterator[Batch]:
    """Yield the rows of every table in an order that satisfies the foreign keys."""
    rng = random.Random(seed)
    faker = Faker("de_DE")
    faker.seed_instance(seed)
    start = end - HISTORY

    yield Batch(Kunde.__tablename__, list(_kunden(sizes.kunden, faker, rng, start)))
    artikel = list(_artikel(sizes.artikel, rng, start))
    yield Batch(Artikel.__tablename__, artikel)

    # Order lines and stock movements stream out in batches; the opening stock
    # movement of each article comes last, when its total sales are known.
    sold = [0] * (sizes.artikel + 1)
    preise = [0] + [row["preis_cent"] for row in artikel]
    yield from _auftraege(sizes, rng, start, end, preise, sold)
    yield Batch(Lagerbewegung.__tablename__, list(_zugaenge(artikel, sold, start)))


def _kunden(count: int, faker: Faker, rng: random.Random, start: datetime) -> Iterator[Row]:
    for kunde_id in range(1, count + 1):
        firma = rng.random() < 0.3
        name = faker.company() if firma else faker.name()
        yield {
            "id": kunde_id,
            "kundennummer": f"K{kunde_id:07d}",
            "name": name,
            "email": f"{_mailbox(name)}.{kunde_id}@{faker.free_email_domain()}",
            "strasse": faker.street_address(),
            "plz": faker.postcode(),
            "ort": faker.city(),
            "erstellt_am": start - timedelta(days=rng.uniform(1, 1500)),
        }


def _mailbox(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = "".join(c if c.isalnum() else " " for c in ascii_name.lower()).split()
    return ".".join(words[:3]) or "kunde"


def _artikel(count: int, rng: random.Random, start: datetime) -> Iterator[Row]:
    kategorien = sorted(KATEGORIEN)
    for artikel_id in range(1, count + 1):
        kategorie = rng.choice(kategorien)
        produkt = rng.choice(KATEGORIEN[kategorie])
        name = f"{produkt} {rng.choice(VARIANTEN)} {rng.randint(1, 99)}"
        preis = min(max(rng.lognormvariate(math.log(15.0), 1.0), 0.5), 5_000.0)
        yield {
            "id": artikel_id,
            "artikelnummer": f"A{artikel_id:06d}",
            "name": name,
            "kategorie": kategorie,
            "preis_cent": round(preis * 100),
            "bestand": rng.randint(0, 400),
            "erstellt_am": start - timedelta(days=rng.uniform(1, 365)),
        }


def _auftraege(
    sizes: SeedSizes,
    rng: random.Random,
    start: datetime,
    end: datetime,
    preise: list[int],
    sold: list[int],
) -> Iterator[Batch]:
    if sizes.auftraege == 0:
        return

    # Popularity: the article of rank r sells in proportion to 1 / r**0.9.
    ranking = list(range(1, sizes.artikel + 1))
    rng.shuffle(ranking)
    cum_weights = list(accumulate(1.0 / (rank**0.9) for rank in range(1, sizes.artikel + 1)))

    # Order times: density rising linearly over the history (sqrt of a uniform
    # variable), sorted so that order ids follow time.
    span = (end - start).total_seconds()
    zeiten = sorted(
        start + timedelta(seconds=span * math.sqrt(rng.random())) for _ in range(sizes.auftraege)
    )
    letzte_woche = end - timedelta(days=7)

    ids = _NextIds(position=0, bewegung=sizes.artikel)  # 1..artikel: opening stock
    for offset in range(0, sizes.auftraege, ORDER_BATCH):
        rows = _OrderRows()
        for index in range(offset, min(offset + ORDER_BATCH, sizes.auftraege)):
            zeit = zeiten[index]
            status = _status(rng, zeit, letzte_woche)
            anzahl = min(1 + int(rng.expovariate(0.6)), 6)
            drawn = rng.choices(range(1, sizes.artikel + 1), cum_weights=cum_weights, k=anzahl)
            artikel_ids = sorted({ranking[rank - 1] for rank in drawn})
            auftrag: Row = {
                "id": index + 1,
                "kunde_id": rng.randint(1, sizes.kunden),
                "bestelldatum": zeit,
                "status": status.value,
            }
            rows.add_order(rng, ids, auftrag, artikel_ids, preise, sold, end)
            rows.rechnungen.append(_rechnung(rng, auftrag, end))
        yield from rows.batches()


@dataclass
class _NextIds:
    """The last ids handed out for order lines and stock movements."""

    position: int
    bewegung: int


@dataclass
class _OrderRows:
    """The rows of one batch of orders."""

    auftraege: list[Row] = field(default_factory=list)
    positionen: list[Row] = field(default_factory=list)
    rechnungen: list[Row] = field(default_factory=list)
    bewegungen: list[Row] = field(default_factory=list)

    def add_order(
        self,
        rng: random.Random,
        ids: _NextIds,
        auftrag: Row,
        artikel_ids: list[int],
        preise: list[int],
        sold: list[int],
        end: datetime,
    ) -> None:
        """Add ``auftrag`` with one line and its stock movements per article, and its total."""
        auftrag_id: int = auftrag["id"]
        zeit: datetime = auftrag["bestelldatum"]
        gesamt = 0
        for artikel_id in artikel_ids:
            menge = rng.choice(MENGEN)
            gesamt += menge * preise[artikel_id]
            ids.position += 1
            self.positionen.append(
                {
                    "id": ids.position,
                    "auftrag_id": auftrag_id,
                    "artikel_id": artikel_id,
                    "menge": menge,
                    "einzelpreis_cent": preise[artikel_id],
                }
            )
            ids.bewegung += 1
            self.bewegungen.append(
                _bewegung(ids.bewegung, artikel_id, -menge, Bewegungsart.AUFTRAG, auftrag_id, zeit)
            )
            if auftrag["status"] == AuftragStatus.STORNIERT:
                # The cancellation puts the units back a little later.
                ids.bewegung += 1
                storno_zeit = min(zeit + timedelta(hours=rng.uniform(1, 48)), end)
                self.bewegungen.append(
                    _bewegung(
                        ids.bewegung,
                        artikel_id,
                        menge,
                        Bewegungsart.STORNO,
                        auftrag_id,
                        storno_zeit,
                    )
                )
            else:
                sold[artikel_id] += menge

        auftrag["gesamt_cent"] = gesamt
        self.auftraege.append(auftrag)

    def batches(self) -> Iterator[Batch]:
        yield Batch(Auftrag.__tablename__, self.auftraege)
        yield Batch(Auftragsposition.__tablename__, self.positionen)
        yield Batch(Rechnung.__tablename__, self.rechnungen)
        yield Batch(Lagerbewegung.__tablename__, self.bewegungen)


def _status(rng: random.Random, zeit: datetime, letzte_woche: datetime) -> AuftragStatus:
    if rng.random() < 0.02:
        return AuftragStatus.STORNIERT
    return AuftragStatus.OFFEN if zeit >= letzte_woche else AuftragStatus.VERSANDT


def _rechnung(rng: random.Random, auftrag: Row, end: datetime) -> Row:
    auftrag_id: int = auftrag["id"]
    zeit: datetime = auftrag["bestelldatum"]
    if auftrag["status"] == AuftragStatus.STORNIERT:
        status = RechnungStatus.STORNIERT
    elif end - zeit > timedelta(days=30) or rng.random() < 0.4:
        status = RechnungStatus.BEZAHLT
    else:
        status = RechnungStatus.OFFEN
    return {
        "id": auftrag_id,
        "rechnungsnummer": rechnungsnummer(auftrag_id),
        "auftrag_id": auftrag_id,
        "kunde_id": auftrag["kunde_id"],
        "rechnungsdatum": zeit,
        "faellig_am": zeit.date() + timedelta(days=ZAHLUNGSZIEL_TAGE),
        "betrag_cent": auftrag["gesamt_cent"],
        "status": status.value,
    }


def rechnungsnummer(auftrag_id: int) -> str:
    """Return the invoice number of an order; each order has exactly one invoice."""
    return f"RE{auftrag_id:08d}"


def _bewegung(
    bewegung_id: int,
    artikel_id: int,
    menge: int,
    art: Bewegungsart,
    auftrag_id: int | None,
    zeit: datetime,
) -> Row:
    return {
        "id": bewegung_id,
        "artikel_id": artikel_id,
        "menge": menge,
        "art": art.value,
        "auftrag_id": auftrag_id,
        "zeitpunkt": zeit,
        "notiz": None,
    }


def _zugaenge(artikel: list[Row], sold: list[int], start: datetime) -> Iterator[Row]:
    """Yield the opening stock of each article: today's stock plus all it sold since."""
    for row in artikel:
        menge = row["bestand"] + sold[row["id"]]
        if menge > 0:
            bewegung = _bewegung(row["id"], row["id"], menge, Bewegungsart.ZUGANG, None, start)
            bewegung["notiz"] = "Anfangsbestand"
            yield bewegung
