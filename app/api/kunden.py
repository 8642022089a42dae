"""``/api/v1/kunden``: customers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.api.deps import ReadSession, WriteSession
from app.schemas.common import MAX_ID, Page
from app.schemas.kunden import KundeCreate, KundenQuery, KundeRead, KundeUpdate
from app.services import kunden

router = APIRouter(prefix="/api/v1/kunden", tags=["kunden"])

KundeId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("")
async def list_kunden(
    session: ReadSession, query: Annotated[KundenQuery, Query()]
) -> Page[KundeRead]:
    return await kunden.list_kunden(session, query)


@router.get("/{kunde_id}")
async def get_kunde(session: ReadSession, kunde_id: KundeId) -> KundeRead:
    return await kunden.get_kunde(session, kunde_id)


@router.post("", status_code=201)
async def create_kunde(session: WriteSession, data: KundeCreate) -> KundeRead:
    return await kunden.create_kunde(session, data)


@router.patch("/{kunde_id}")
async def update_kunde(session: WriteSession, kunde_id: KundeId, data: KundeUpdate) -> KundeRead:
    return await kunden.update_kunde(session, kunde_id, data)


@router.delete("/{kunde_id}", status_code=204)
async def delete_kunde(session: WriteSession, kunde_id: KundeId) -> Response:
    await kunden.delete_kunde(session, kunde_id)
    return Response(status_code=204)
