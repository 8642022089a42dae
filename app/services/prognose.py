"""The demand forecast of one article from its weekly order history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import cached
from app.control.faults import fault_point
from app.db.models import Artikel, Auftrag, Auftragsposition
from app.domain import forecast
from app.domain.states import AuftragStatus
from app.schemas.artikel import PrognoseRead, WochenMenge
from app.services.errors import NotFoundError
from app.services.queries import load_one

# Complete weeks of history the forecast is fitted on.
HISTORY_WEEKS = 104


@cached("prognose", not_found=(NotFoundError,))
async def get_prognose(
    session: AsyncSession, artikel_id: int, wochen: int, now: datetime | None = None
) -> PrognoseRead:
    """Forecast the units of ``artikel_id`` ordered in each of the next ``wochen`` weeks.

    The history is the quantity ordered in each of the ``HISTORY_WEEKS``
    complete ISO weeks before the week of ``now``, without cancelled orders.
    The forecast starts with the week of ``now``.
    """
    await load_one(session, Artikel, artikel_id)

    current_week = _monday((now or datetime.now(UTC)).date())
    first_week = current_week - timedelta(weeks=HISTORY_WEEKS)
    start = datetime.combine(first_week, time(), UTC)
    end = datetime.combine(current_week, time(), UTC)
    rows = await session.execute(
        select(Auftrag.bestelldatum, Auftragsposition.menge)
        .join(Auftrag, Auftrag.id == Auftragsposition.auftrag_id)
        .where(
            Auftragsposition.artikel_id == artikel_id,
            Auftrag.status != AuftragStatus.STORNIERT,
            Auftrag.bestelldatum >= start,
            Auftrag.bestelldatum < end,
        )
    )
    weekly = [0] * HISTORY_WEEKS
    for bestelldatum, menge in rows:
        weekly[(bestelldatum - start).days // 7] += menge

    # Drill latency (the control API's fault.latency_seconds): a cached forecast skips it.
    await fault_point()

    fitted = forecast.fit(weekly)
    return PrognoseRead(
        artikel_id=artikel_id,
        alpha=fitted.alpha,
        beta=fitted.beta,
        rmse=round(fitted.rmse, 4),
        historie=[
            WochenMenge(woche=first_week + timedelta(weeks=index), menge=menge)
            for index, menge in enumerate(weekly)
        ],
        prognose=[
            WochenMenge(woche=current_week + timedelta(weeks=index), menge=round(menge, 2))
            for index, menge in enumerate(fitted.forecast(wochen))
        ],
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
