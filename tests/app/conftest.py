"""A small seeded SQLite database per test, and an HTTP client on the app."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.db.setup import prepare_database
from app.main import create_app
from app.settings import Settings
from tests.app.helpers import AppClient, QueryLog, small_settings, sqlite_url


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seed one database per test run; tests work on copies of it."""
    path = tmp_path_factory.mktemp("template") / "erp.db"
    prepare_database(small_settings(sqlite_url(path)))
    return path


@pytest.fixture
def database_path(seeded_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "erp.db"
    shutil.copyfile(seeded_template, path)
    return path


@pytest.fixture
def settings(database_path: Path) -> Settings:
    return small_settings(sqlite_url(database_path))


@pytest.fixture
def query_log() -> QueryLog:
    return QueryLog()


@pytest.fixture
async def client(settings: Settings, query_log: QueryLog) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.state.engine_hooks.append(query_log.attach)
    async with AppClient(app) as http:
        yield http
