"""States of orders and invoices, kinds of stock movement, and allowed transitions."""

from __future__ import annotations

from enum import StrEnum


class AuftragStatus(StrEnum):
    OFFEN = "offen"
    VERSANDT = "versandt"
    STORNIERT = "storniert"


class RechnungStatus(StrEnum):
    OFFEN = "offen"
    BEZAHLT = "bezahlt"
    STORNIERT = "storniert"


class Bewegungsart(StrEnum):
    """Why a stock level changed: goods received, an order, its cancellation, a stock count."""

    ZUGANG = "zugang"
    AUFTRAG = "auftrag"
    STORNO = "storno"
    KORREKTUR = "korrektur"


# An open order ships or is cancelled; shipped and cancelled orders are final.
AUFTRAG_TRANSITIONS: dict[AuftragStatus, frozenset[AuftragStatus]] = {
    AuftragStatus.OFFEN: frozenset({AuftragStatus.VERSANDT, AuftragStatus.STORNIERT}),
    AuftragStatus.VERSANDT: frozenset(),
    AuftragStatus.STORNIERT: frozenset(),
}

# An open invoice is paid; cancelling happens only with its order.
RECHNUNG_TRANSITIONS: dict[RechnungStatus, frozenset[RechnungStatus]] = {
    RechnungStatus.OFFEN: frozenset({RechnungStatus.BEZAHLT}),
    RechnungStatus.BEZAHLT: frozenset(),
    RechnungStatus.STORNIERT: frozenset(),
}

# Days between an invoice and its due date.
ZAHLUNGSZIEL_TAGE = 14
