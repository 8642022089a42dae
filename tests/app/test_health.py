"""``/health`` and ``/ready``."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from tests.app.helpers import AppClient, small_settings, sqlite_url
from tests.support.processes import free_port


async def test_health_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_not_ready_without_database(caplog: pytest.LogCaptureFixture) -> None:
    # Nothing listens on a fresh free port. A SQLite file that cannot be opened
    # is avoided: after a failed connect, aiosqlite 0.22 resolves a stop request
    # from its thread, which raises when the test's event loop has closed first.
    settings = small_settings(f"postgresql+asyncpg://leitstand@127.0.0.1:{free_port()}/erp")

    with caplog.at_level(logging.WARNING, logger="leitstand.app"):
        async with AppClient(create_app(settings)) as client:
            ready = await client.get("/ready")
            health = await client.get("/health")

    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert "database unreachable" in ready.json()["detail"]
    assert "Readiness check failed" in caplog.text
    assert "is unreachable at start" in caplog.text
    assert health.status_code == 200


async def test_start_without_tables_fails(tmp_path: Path) -> None:
    app = create_app(small_settings(sqlite_url(tmp_path / "empty.db")))

    with pytest.raises(RuntimeError, match=r"no ERP tables.*python -m app\.db\.setup"):
        async with AppClient(app):
            pass


async def test_create_app_twice_in_one_process(database_path: Path) -> None:
    first = create_app(small_settings(sqlite_url(database_path)))
    second = create_app(small_settings(sqlite_url(database_path)))

    async with AppClient(first) as one, AppClient(second) as two:
        assert (await one.get("/api/v1/kunden/1")).json() == (
            await two.get("/api/v1/kunden/1")
        ).json()
    assert first.state.database is not second.state.database
