"""Helpers of the app tests: small settings, a query log and an app client."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings

SEED_KUNDEN = 40
SEED_ARTIKEL = 25
SEED_AUFTRAEGE = 300


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def small_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "seed_kunden": SEED_KUNDEN,
        "seed_artikel": SEED_ARTIKEL,
        "seed_auftraege": SEED_AUFTRAEGE,
        "seed": 7,
        "metrics_enabled": False,
        "cache_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class QueryLog:
    """SQL statements an engine ran, collected through an engine hook."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def attach(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        self.statements.append(statement)

    def selects(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith("SELECT")]

    def clear(self) -> None:
        self.statements.clear()


class AppClient:
    """An ``httpx.AsyncClient`` on an app whose lifespan runs around it."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __aenter__(self) -> httpx.AsyncClient:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        transport = httpx.ASGITransport(app=self.app)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://erp.test")
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()
        await self._lifespan.__aexit__(None, None, None)
