"""``/api/v1/artikel``: articles and their demand forecast."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.api.deps import ReadSession, WriteSession
from app.control.degraded import degradable
from app.schemas.artikel import (
    ArtikelCreate,
    ArtikelQuery,
    ArtikelRead,
    ArtikelUpdate,
    PrognoseRead,
)
from app.schemas.common import MAX_ID, Page
from app.services import artikel, prognose

router = APIRouter(prefix="/api/v1/artikel", tags=["artikel"])

ArtikelId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("")
async def list_artikel(
    session: ReadSession, query: Annotated[ArtikelQuery, Query()]
) -> Page[ArtikelRead]:
    return await artikel.list_artikel(session, query)


@router.get("/{artikel_id}")
async def get_artikel(session: ReadSession, artikel_id: ArtikelId) -> ArtikelRead:
    return await artikel.get_artikel(session, artikel_id)


@router.post("", status_code=201)
async def create_artikel(session: WriteSession, data: ArtikelCreate) -> ArtikelRead:
    return await artikel.create_artikel(session, data)


@router.patch("/{artikel_id}")
async def update_artikel(
    session: WriteSession, artikel_id: ArtikelId, data: ArtikelUpdate
) -> ArtikelRead:
    return await artikel.update_artikel(session, artikel_id, data)


@router.delete("/{artikel_id}", status_code=204)
async def delete_artikel(session: WriteSession, artikel_id: ArtikelId) -> Response:
    await artikel.delete_artikel(session, artikel_id)
    return Response(status_code=204)


@router.get("/{artikel_id}/prognose")
async def get_prognose(
    request: Request,
    session: ReadSession,
    artikel_id: ArtikelId,
    wochen: Annotated[int, Query(ge=1, le=52, description="weeks to forecast")] = 8,
) -> PrognoseRead:
    with degradable(request, "prognose"):
        return await prognose.get_prognose(session, artikel_id, wochen)
