"""An app factory for ``leitstand serve --app``: the ERP app plus routes tests need.

Imported only by the server processes the tests start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, Request
from prometheus_client import Gauge

from app.main import create_app
from app.server.scaling import request_worker_count
from app.shared_state import SharedState

WORKER_UP = Gauge(
    "leitstand_test_worker_up",
    "1 in every worker process that has started.",
    multiprocess_mode="liveall",
)

router = APIRouter(prefix="/test")


@router.get("/sleep")
async def sleep(seconds: float) -> dict[str, float]:
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@router.post("/background", status_code=202)
async def background(background_tasks: BackgroundTasks) -> dict[str, str]:
    background_tasks.add_task(asyncio.sleep, 2.0)
    return {"queued": "sleep 2 s"}


@router.get("/raise")
async def raise_error() -> None:
    raise RuntimeError("raised on purpose by the test app")


@router.put("/workers/{count}")
async def set_workers(count: int, request: Request) -> dict[str, int]:
    state = SharedState(request.app.state.settings.state_path)
    try:
        request_worker_count(state, count)
    finally:
        state.close()
    return {"requested": count}


def create_test_app() -> FastAPI:
    app = create_app()
    app.include_router(router)
    serve_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        WORKER_UP.set(1)
        async with serve_lifespan(application) as state:
            yield state

    app.router.lifespan_context = lifespan
    return app


def create_failing_app() -> FastAPI:
    """An app whose lifespan startup fails in every worker."""
    app = create_app()

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[None]:
        raise RuntimeError("lifespan startup fails on purpose")
        yield

    app.router.lifespan_context = lifespan
    return app
