"""``/api/v1/rechnungen``: invoices. Orders create and cancel them; here they are paid."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import ReadSession, WriteSession
from app.schemas.common import MAX_ID, Page
from app.schemas.rechnungen import RechnungenQuery, RechnungRead, RechnungUpdate
from app.services import rechnungen

router = APIRouter(prefix="/api/v1/rechnungen", tags=["rechnungen"])

RechnungId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("")
async def list_rechnungen(
    session: ReadSession, query: Annotated[RechnungenQuery, Query()]
) -> Page[RechnungRead]:
    return await rechnungen.list_rechnungen(session, query)


@router.get("/{rechnung_id}")
async def get_rechnung(session: ReadSession, rechnung_id: RechnungId) -> RechnungRead:
    return await rechnungen.get_rechnung(session, rechnung_id)


@router.patch("/{rechnung_id}")
async def update_rechnung(
    session: WriteSession, rechnung_id: RechnungId, data: RechnungUpdate
) -> RechnungRead:
    return await rechnungen.update_rechnung(session, rechnung_id, data)
