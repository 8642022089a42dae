"""Dependencies shared by the routers: database sessions per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database(request).read_session() as session:
        yield session


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database(request).write_session() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session)]
WriteSession = Annotated[AsyncSession, Depends(write_session)]
