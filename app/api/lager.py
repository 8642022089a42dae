"""``/api/v1/lager``: stock levels per article and stock movements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import ReadSession, WriteSession
from app.schemas.common import MAX_ID, Page
from app.schemas.lager import (
    BewegungenQuery,
    LagerbestandRead,
    LagerbewegungCreate,
    LagerbewegungRead,
    LagerDetail,
    LagerQuery,
)
from app.services import lager

router = APIRouter(prefix="/api/v1/lager", tags=["lager"])

ArtikelId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("")
async def list_lager(
    session: ReadSession, query: Annotated[LagerQuery, Query()]
) -> Page[LagerbestandRead]:
    return await lager.list_lager(session, query)


# Declared before "/{artikel_id}", which would otherwise take "bewegungen" as an id.
@router.get("/bewegungen")
async def list_bewegungen(
    session: ReadSession, query: Annotated[BewegungenQuery, Query()]
) -> Page[LagerbewegungRead]:
    return await lager.list_bewegungen(session, query)


@router.post("/bewegungen", status_code=201)
async def create_bewegung(session: WriteSession, data: LagerbewegungCreate) -> LagerbewegungRead:
    return await lager.create_bewegung(session, data)


@router.get("/{artikel_id}")
async def get_lager(session: ReadSession, artikel_id: ArtikelId) -> LagerDetail:
    return await lager.get_lager(session, artikel_id)
