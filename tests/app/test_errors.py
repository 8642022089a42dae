"""Service errors and constraint violations as HTTP responses."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError, OperationalError

from app.api.errors import install_error_handlers


async def test_constraint_violation_is_409(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/write")
    async def write() -> None:
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed: x.y"))

    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.WARNING, logger="leitstand.app"):
        async with httpx.AsyncClient(transport=transport, base_url="http://erp.test") as client:
            response = await client.post("/write")

    assert response.status_code == 409
    assert "concurrent change" in response.json()["detail"]
    assert "POST /write conflicted with a concurrent change" in caplog.text
    assert "UNIQUE constraint failed: x.y" in caplog.text


async def test_locked_database_is_503(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/read")
    async def read() -> None:
        raise OperationalError("SELECT ...", {}, Exception("database is locked"))

    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.WARNING, logger="leitstand.app"):
        async with httpx.AsyncClient(transport=transport, base_url="http://erp.test") as client:
            response = await client.get("/read")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "unavailable or busy" in response.json()["detail"]
    assert "GET /read failed: the database is unavailable: database is locked" in caplog.text


async def test_new_customers_get_numbers_from_ids(client: httpx.AsyncClient) -> None:
    body = {"name": "A", "email": "a@example.org", "strasse": "W 1", "plz": "10115", "ort": "B"}

    created = [(await client.post("/api/v1/kunden", json=body)).json() for _ in range(3)]

    assert [kunde["kundennummer"] for kunde in created] == [
        f"K{kunde['id']:07d}" for kunde in created
    ]
