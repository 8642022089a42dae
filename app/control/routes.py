"""The HTTP endpoints of the control API under ``/control``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.control.access import ControlAccess
from app.control.changes import ChangeRecord, Entry
from app.control.controller import (
    ChangeNotFoundError,
    ChangeNotInForceError,
    Controller,
    KnobStatus,
    to_isoformat,
)
from app.control.knobs import KnobValueError, UnknownKnobError

MAX_TTL_SECONDS = 7 * 86_400
MAX_HISTORY = 1000

# Clears the named cache (every cache for None) in every worker and returns the names cleared.
# An unknown name raises a LookupError whose message names the known caches.
CacheClearer = Callable[[str | None], Sequence[str]]


# Both end up in log lines: control characters (a newline) could forge another line.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Reason = Annotated[str, Field(min_length=1, max_length=1000, pattern=_PRINTABLE)]
Requester = Annotated[str, Field(min_length=1, max_length=200, pattern=_PRINTABLE)]


class KnobChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: float = Field(strict=True, allow_inf_nan=False)
    reason: Reason
    requested_by: Requester | None = None
    ttl_seconds: float | None = Field(default=None, gt=0, le=MAX_TTL_SECONDS)


class RevertRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    requested_by: Requester | None = None


class CacheClearRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cache: str | None  # required, so that an empty body never clears every cache
    reason: Reason
    requested_by: Requester | None = None


def control_router(
    controller: Controller,
    access: ControlAccess,
    clear_caches: CacheClearer | None = None,
) -> APIRouter:
    """Build the ``/control`` router; every endpoint requires ``access``.

    The handlers are plain functions, so FastAPI runs them in its thread pool:
    a change takes a file lock and may wait for it.
    """
    router = APIRouter(prefix="/control", tags=["control"], dependencies=[Depends(access)])

    @router.get("")
    def list_knobs() -> dict[str, Any]:
        return {"knobs": {s.knob.name: _status_json(s) for s in controller.describe()}}

    @router.get("/changes")
    def list_changes(
        limit: Annotated[int, Query(ge=1, le=MAX_HISTORY)] = 100,
    ) -> dict[str, Any]:
        entries = controller.log.entries()[-limit:]
        return {"changes": [_entry_json(controller, entry) for entry in reversed(entries)]}

    @router.put("/knobs/{knob}")
    def change_knob(knob: str, body: KnobChange, request: Request) -> JSONResponse:
        try:
            record = controller.change(
                knob,
                body.value,
                reason=body.reason,
                requested_by=body.requested_by or _client(request),
                ttl_seconds=body.ttl_seconds,
            )
        except UnknownKnobError as exc:
            return _error(status.HTTP_404_NOT_FOUND, str(exc))
        except KnobValueError as exc:
            rejected = exc.knob
            return _error(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                str(exc),
                knob=rejected.name,
                min=rejected.format(rejected.minimum),
                max=rejected.format(rejected.maximum),
            )
        spec = controller.knobs[knob]
        return JSONResponse(
            {
                "change_id": record.change_id,
                "knob": knob,
                "value": spec.format(record.value),
                "previous": spec.format(record.previous),
                "expires_at": to_isoformat(record.expires_at),
            }
        )

    @router.post("/changes/{change_id}/revert")
    def revert_change(change_id: str, body: RevertRequest, request: Request) -> JSONResponse:
        try:
            record = controller.revert(
                change_id, reason=body.reason, requested_by=body.requested_by or _client(request)
            )
        except ChangeNotFoundError as exc:
            return _error(status.HTTP_404_NOT_FOUND, str(exc))
        except (ChangeNotInForceError, UnknownKnobError) as exc:
            # An unknown knob here: the change log outlived a knob (fault injection now off).
            return _error(status.HTTP_409_CONFLICT, str(exc), reverted=False)
        spec = controller.knobs[record.knob]
        return JSONResponse(
            {
                "reverted": True,
                "change_id": record.change_id,
                "knob": record.knob,
                "value": spec.format(record.restored),
            }
        )

    @router.post("/cache/clear")
    def clear_cache(body: CacheClearRequest, request: Request) -> JSONResponse:
        if clear_caches is None:
            return _error(status.HTTP_404_NOT_FOUND, "this app has no caches to clear")
        try:
            cleared = list(clear_caches(body.cache))
        except LookupError as exc:
            return _error(status.HTTP_404_NOT_FOUND, str(exc))
        requested_by = body.requested_by or _client(request)
        for name in cleared:
            controller.record_action(
                f"cache.{name}.clear",
                reason=body.reason,
                requested_by=requested_by,
                message=f"Cleared cache {name} in every worker",
            )
        return JSONResponse({"cleared": cleared})

    return router


def _status_json(status: KnobStatus) -> dict[str, Any]:
    knob = status.knob
    return {
        "value": knob.format(status.value),
        "min": knob.format(knob.minimum),
        "max": knob.format(knob.maximum),
        "default": knob.format(knob.default),
        "change_id": status.change_id,
        "expires_at": status.expires_at.isoformat() if status.expires_at else None,
    }


def _entry_json(controller: Controller, entry: Entry) -> dict[str, Any]:
    fields = asdict(entry)
    for name in ("at", "expires_at", "replaced_expires_at"):
        if name in fields:
            fields[name] = to_isoformat(fields[name])
    if isinstance(entry, ChangeRecord):
        fields["in_force"] = controller.in_force(entry.knob) == entry.change_id
    return fields


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _error(code: int, detail: str, **fields: Any) -> JSONResponse:
    return JSONResponse({**fields, "detail": detail}, status_code=code)
