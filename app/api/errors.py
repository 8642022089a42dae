"""Translate service errors into HTTP responses with a ``detail`` field."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError

from app.services.errors import (
    ConflictError,
    InvalidReferenceError,
    NotFoundError,
    OutOfStockError,
    ServiceError,
)

logger = logging.getLogger("leitstand.app")


async def service_error_response(request: Request, error: Exception) -> JSONResponse:
    """Return 404 for an unknown id in the URL, 422 for one in the body, 409 for a conflict."""
    match error:
        case NotFoundError():
            return JSONResponse({"detail": str(error)}, status_code=404)
        case InvalidReferenceError(location=location, message=message):
            # The shape of FastAPI's own validation errors, so clients parse one format.
            detail = [{"type": "not_found", "loc": list(location), "msg": message}]
            return JSONResponse({"detail": detail}, status_code=422)
        case OutOfStockError():
            body = {
                "detail": str(error),
                "artikel_id": error.artikel_id,
                "angefragt": error.requested,
                "bestand": error.available,
            }
            return JSONResponse(body, status_code=409)
        case ConflictError():
            return JSONResponse({"detail": str(error)}, status_code=409)
    raise error


async def integrity_error_response(request: Request, error: Exception) -> JSONResponse:
    """Return 409 when a concurrent change made a write break a constraint.

    Services check their preconditions first. This covers the window between
    that check and the write on PostgreSQL, e.g. an order for an article that
    another request is deleting.
    """
    logger.warning(
        "%s %s conflicted with a concurrent change: %s",
        request.method,
        request.url.path,
        getattr(error, "orig", error),
    )
    return JSONResponse(
        {"detail": "the change conflicts with a concurrent change; read the data and retry"},
        status_code=409,
    )


async def operational_error_response(request: Request, error: Exception) -> JSONResponse:
    """Return 503 when the database is unreachable or stayed locked past the busy timeout."""
    logger.warning(
        "%s %s failed: the database is unavailable: %s",
        request.method,
        request.url.path,
        getattr(error, "orig", error),
    )
    return JSONResponse(
        {"detail": "the database is unavailable or busy; retry later"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, service_error_response)
    app.add_exception_handler(IntegrityError, integrity_error_response)
    app.add_exception_handler(OperationalError, operational_error_response)
