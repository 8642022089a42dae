"""``/api/v1/auftraege``: orders. Orders are never deleted; cancelling is a status change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import ReadSession, WriteSession
from app.schemas.auftraege import AuftraegeQuery, AuftragCreate, AuftragRead, AuftragUpdate
from app.schemas.common import MAX_ID, Page
from app.services import auftraege

router = APIRouter(prefix="/api/v1/auftraege", tags=["auftraege"])

AuftragId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("")
async def list_auftraege(
    session: ReadSession, query: Annotated[AuftraegeQuery, Query()]
) -> Page[AuftragRead]:
    return await auftraege.list_auftraege(session, query)


@router.get("/{auftrag_id}")
async def get_auftrag(session: ReadSession, auftrag_id: AuftragId) -> AuftragRead:
    return await auftraege.get_auftrag(session, auftrag_id)


@router.post("", status_code=201)
async def create_auftrag(session: WriteSession, data: AuftragCreate) -> AuftragRead:
    return await auftraege.create_auftrag(session, data)


@router.patch("/{auftrag_id}")
async def update_auftrag(
    session: WriteSession, auftrag_id: AuftragId, data: AuftragUpdate
) -> AuftragRead:
    return await auftraege.update_auftrag(session, auftrag_id, data)
