"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import database

logger = logging.getLogger("leitstand.app")

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Return ``ok`` while the process serves requests; touches nothing else."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
async def ready(request: Request) -> dict[str, str] | JSONResponse:
    """Return ``ready`` when the database answers a query, else ``503``."""
    try:
        await database(request).ping()
    except (SQLAlchemyError, OSError) as error:
        logger.warning("Readiness check failed: the database did not answer: %s", error)
        return JSONResponse(
            {"status": "unavailable", "detail": f"database unreachable: {error}"},
            status_code=503,
        )
    return {"status": "ready"}
