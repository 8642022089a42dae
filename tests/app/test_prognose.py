"""``/api/v1/artikel/{id}/prognose`` on an order history written for the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest

from app.db.engine import Database
from app.db.models import Auftrag, Auftragsposition
from app.db.setup import prepare_database
from app.domain import forecast
from app.main import create_app
from app.services.prognose import HISTORY_WEEKS
from app.settings import Settings
from tests.app.helpers import AppClient, small_settings, sqlite_url

# Units of article 1 ordered in the five complete weeks before this one.
LAST_WEEKS = [10, 12, 13, 15, 14]


def this_monday() -> date:
    today = datetime.now(UTC).date()
    return today - timedelta(days=today.weekday())


def wednesday_noon(weeks_back: int) -> datetime:
    day = this_monday() - timedelta(weeks=weeks_back) + timedelta(days=2)
    return datetime.combine(day, time(12), UTC)


async def write_history(settings: Settings) -> None:
    orders: list[tuple[datetime, int, str]] = [
        (wednesday_noon(len(LAST_WEEKS) - index), menge, "versandt")
        for index, menge in enumerate(LAST_WEEKS)
    ]
    orders += [
        (wednesday_noon(2), 500, "storniert"),  # cancelled: left out
        (wednesday_noon(HISTORY_WEEKS + 3), 700, "versandt"),  # before the window
        (datetime.combine(this_monday(), time(0, 0, 1), UTC), 900, "offen"),  # this week
    ]
    database = Database(settings)
    async with database.write_session() as session:
        for bestelldatum, menge, status in orders:
            position = Auftragsposition(artikel_id=1, menge=menge, einzelpreis_cent=100)
            session.add(
                Auftrag(
                    kunde_id=1,
                    bestelldatum=bestelldatum,
                    status=status,
                    gesamt_cent=menge * 100,
                    positionen=[position],
                )
            )
        # Another article's orders never count for article 1.
        session.add(
            Auftrag(
                kunde_id=1,
                bestelldatum=wednesday_noon(1),
                status="versandt",
                gesamt_cent=100,
                positionen=[Auftragsposition(artikel_id=2, menge=1, einzelpreis_cent=100)],
            )
        )
        await session.commit()
    await database.dispose()


@pytest.fixture
def empty_settings(tmp_path: Path) -> Settings:
    """Settings of a database with customers and articles but no orders yet."""
    settings = small_settings(
        sqlite_url(tmp_path / "erp.db"), seed_kunden=2, seed_artikel=2, seed_auftraege=0
    )
    prepare_database(settings)
    return settings


@pytest.fixture
async def history_client(empty_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings = empty_settings
    await write_history(settings)
    async with AppClient(create_app(settings)) as client:
        yield client


async def test_history_has_complete_weeks_only(history_client: httpx.AsyncClient) -> None:
    response = await history_client.get("/api/v1/artikel/1/prognose", params={"wochen": 3})

    assert response.status_code == 200
    historie = response.json()["historie"]
    assert len(historie) == HISTORY_WEEKS
    assert [week["menge"] for week in historie[-len(LAST_WEEKS) :]] == LAST_WEEKS
    assert all(week["menge"] == 0 for week in historie[: -len(LAST_WEEKS)])
    last_week = this_monday() - timedelta(weeks=1)
    assert historie[-1]["woche"] == last_week.isoformat()
    assert historie[0]["woche"] == (this_monday() - timedelta(weeks=HISTORY_WEEKS)).isoformat()


async def test_forecast_follows_holt_fit(history_client: httpx.AsyncClient) -> None:
    response = await history_client.get("/api/v1/artikel/1/prognose", params={"wochen": 3})

    body = response.json()
    series = [week["menge"] for week in body["historie"]]
    expected = forecast.fit(series)
    assert (body["alpha"], body["beta"]) == (expected.alpha, expected.beta)
    assert [week["menge"] for week in body["prognose"]] == pytest.approx(
        expected.forecast(3), abs=0.005
    )
    assert [week["woche"] for week in body["prognose"]] == [
        (this_monday() + timedelta(weeks=step)).isoformat() for step in range(3)
    ]
    assert body["prognose"][0]["menge"] > 0


async def test_unordered_article_forecasts_zero(history_client: httpx.AsyncClient) -> None:
    created = await history_client.post(
        "/api/v1/artikel", json={"name": "Neu", "kategorie": "Test", "preis": 1}
    )

    response = await history_client.get(f"/api/v1/artikel/{created.json()['id']}/prognose")

    assert response.status_code == 200
    assert [week["menge"] for week in response.json()["prognose"]] == [0.0] * 8


@pytest.mark.parametrize("wochen", [0, 53, "acht"])
async def test_horizon_outside_range_is_422(
    history_client: httpx.AsyncClient, wochen: int | str
) -> None:
    response = await history_client.get("/api/v1/artikel/1/prognose", params={"wochen": wochen})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "wochen"]


async def test_unknown_article_is_404(history_client: httpx.AsyncClient) -> None:
    response = await history_client.get("/api/v1/artikel/99/prognose")

    assert response.status_code == 404
