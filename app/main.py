"""The ERP application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.body_limit import BodyLimitMiddleware
from app.api.errors import install_error_handlers
from app.api.routers import ROUTERS
from app.cache import ResponseCache, caches
from app.control import install_control
from app.db.engine import Database
from app.metrics import install_metrics
from app.settings import Settings

logger = logging.getLogger("leitstand.app")


@asynccontextmanager
async def lifespan(application: FastAPI) -> AsyncIterator[None]:
    """Open the database of this worker process, and close it at shutdown.

    The engine is created here, in the worker, never before a fork. Functions
    in ``application.state.engine_hooks`` (e.g. metrics listeners) get it first.
    """
    settings: Settings = application.state.settings
    database = Database(settings)
    hooks: list[Callable[[AsyncEngine], None]] = application.state.engine_hooks
    for hook in hooks:
        hook(database.engine)
    application.state.database = database
    await _check_schema(database)
    logger.info("Database %s opened", database.engine.url.render_as_string())
    try:
        yield
    finally:
        await database.dispose()


async def _check_schema(database: Database) -> None:
    """Fail the start when the database has no ERP tables; let an unreachable one pass.

    A database that is down may come up later, and ``/ready`` reports it
    meanwhile. A reachable database without tables stays broken until seeded.
    """
    url = database.engine.url.render_as_string()
    try:
        has_schema = await database.has_schema()
    except (SQLAlchemyError, OSError) as error:
        logger.warning(
            "Database %s is unreachable at start: %s; /ready returns 503 until it is", url, error
        )
        return
    if not has_schema:
        await database.dispose()
        raise RuntimeError(
            f"database {url} has no ERP tables; create and seed it with "
            "'python -m app.db.setup' (same LEITSTAND_* settings) or start with 'leitstand serve'"
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ERP app; safe to call several times in one process."""
    settings = settings or Settings()
    application = FastAPI(title="Leitstand ERP", version="0.1.0", lifespan=lifespan)
    application.state.settings = settings
    caches.configure(settings)
    # Added first, so it runs innermost: inside metrics, shedding and faults.
    application.add_middleware(ResponseCache)
    application.state.engine_hooks = []
    install_metrics(application, settings)

    for router in ROUTERS:
        application.include_router(router)
    install_error_handlers(application)
    application.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    install_control(application, settings, caches=caches)
    return application
