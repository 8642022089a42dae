"""An app with the control API, built in process, and a client that reaches it from loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Message

from app.control import install_control
from app.settings import Settings
from app.shared_state import SharedState

TOKEN = "s3cret-control-token"  # noqa: S105 (a token made up for these tests)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def build_app(settings: Settings) -> tuple[FastAPI, SharedState]:
    app = FastAPI()
    state = SharedState(settings.state_path) if settings.state_path else SharedState.temporary()
    install_control(app, settings, state=state)
    return app, state


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan (startup, then shutdown) around a block, as a server does."""
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    from_app: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def run() -> None:
        await app(scope, to_app.get, from_app.put)

    task = asyncio.create_task(run())
    await to_app.put({"type": "lifespan.startup"})
    started = await asyncio.wait_for(from_app.get(), timeout=10)
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(from_app.get(), timeout=10)
        await asyncio.wait_for(task, timeout=10)


def client_for(app: FastAPI, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(control_token=TOKEN, state_path=tmp_path / "state", fault_injection=True)


@pytest.fixture
def app_and_state(settings: Settings) -> tuple[FastAPI, SharedState]:
    return build_app(settings)


@pytest.fixture
async def client(app_and_state: tuple[FastAPI, SharedState]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app_and_state[0]) as http:
        yield http


def change_body(value: float, **extra: object) -> dict[str, object]:
    return {"value": value, "reason": "test", "requested_by": "pytest", **extra}
