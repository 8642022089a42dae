"""Translate service errors into HTTP responses with a ``detail`` field."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
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


async def validation_error_response(request: Request, error: Exception) -> JSONResponse:
    """Return 422 with the list of failed fields, whatever the client sent.

    Python's JSON parser accepts ``NaN``, ``Infinity`` and ``-Infinity``, which
    a JSON response cannot carry: the ``input`` echoes them as the strings
    ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``. Should an input still not
    encode, the error goes out without its ``input``.
    """
    assert isinstance(error, RequestValidationError)
    try:
        # The response encodes its body here, so an input too deep to encode fails here too.
        return JSONResponse({"detail": _finite(jsonable_encoder(error.errors()))}, status_code=422)
    except (RecursionError, TypeError, ValueError):
        # Type, location and message are strings and ints, which always encode.
        keep = ("type", "loc", "msg")
        detail = [{key: item[key] for key in keep} for item in error.errors()]
        return JSONResponse({"detail": detail}, status_code=422)


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its JSON literal as a string."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


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
    app.add_exception_handler(RequestValidationError, validation_error_response)
    app.add_exception_handler(ServiceError, service_error_response)
    app.add_exception_handler(IntegrityError, integrity_error_response)
    app.add_exception_handler(OperationalError, operational_error_response)
