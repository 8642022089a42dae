"""Helpers every service shares: eager loading, sorting, paging, row conversion."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Session, raiseload
from sqlalchemy.orm.interfaces import ORMOption

from app.db.engine import EAGER_LOADING
from app.schemas.common import ListQuery, Page
from app.services.errors import NotFoundError

ModelT = TypeVar("ModelT", bound=BaseModel)
RowT = TypeVar("RowT")


def loader_options(session: AsyncSession, *eager: ORMOption) -> list[ORMOption]:
    """Return the options that load related rows for one query.

    With eager loading on (the default) the given options load everything in
    a fixed number of queries, and any other relationship raises instead of
    quietly issuing one query per row. With it off, relationships load lazily,
    one query per row and relationship: the N+1 pattern, kept for benchmarks.
    """
    if not session.info.get(EAGER_LOADING, True):
        return []
    return [*eager, raiseload("*")]


def order_by(
    sort: str, columns: Mapping[str, InstrumentedAttribute[Any]], tie_breaker: Any
) -> list[ColumnElement[Any]]:
    """Translate ``sort`` (``name`` or ``-name``, from an allow-list) into ORDER BY terms."""
    descending = sort.startswith("-")
    column = columns[sort.removeprefix("-")]
    primary = column.desc() if descending else column.asc()
    if column is tie_breaker:
        return [primary]
    return [primary, tie_breaker.desc() if descending else tie_breaker.asc()]


async def convert(session: AsyncSession, model: type[ModelT], rows: Sequence[Any]) -> list[ModelT]:
    """Build response models from ORM rows.

    The conversion runs in the session's sync context, where a lazy relationship
    may load (only when eager loading is off; otherwise it raises).
    """

    def build(_: Session) -> list[ModelT]:
        return [model.model_validate(row) for row in rows]

    return await session.run_sync(build)


async def paginate(
    session: AsyncSession,
    entity: type[Any],
    where: Sequence[ColumnElement[bool]],
    query: ListQuery,
    model: type[ModelT],
    order: Sequence[ColumnElement[Any]],
    options: Sequence[ORMOption] = (),
) -> Page[ModelT]:
    """Return one page of ``entity`` rows matching ``where``, and the number of all matches."""
    total = await session.scalar(select(func.count()).select_from(entity).where(*where)) or 0
    statement = (
        select(entity)
        .where(*where)
        .options(*options)
        .order_by(*order)
        .limit(query.limit)
        .offset(query.offset)
    )
    rows = (await session.scalars(statement)).unique().all()
    items = await convert(session, model, rows)
    return Page[model](items=items, total=total, limit=query.limit, offset=query.offset)  # type: ignore[valid-type]


async def load_one(
    session: AsyncSession, entity: type[RowT], row_id: int, *eager: ORMOption
) -> RowT:
    """Return the ``entity`` row with ``row_id``, or raise ``NotFoundError`` naming the class."""
    statement = (
        select(entity)
        .where(entity.id == row_id)  # type: ignore[attr-defined]
        .options(*loader_options(session, *eager))
    )
    row = (await session.scalars(statement)).unique().one_or_none()
    if row is None:
        raise NotFoundError(entity.__name__, row_id)
    return row


def placeholder_number() -> str:
    """Return a unique 16-character stand-in for a number derived from a row's id.

    The row is inserted with it and gets its real number once the INSERT has
    assigned the id, in the same transaction. A shared stand-in would make
    concurrent inserts wait on each other's unique index entries.
    """
    return f"neu-{uuid.uuid4().hex[:12]}"
