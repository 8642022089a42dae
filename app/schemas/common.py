"""Types shared by every resource: money, list queries and pages."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

# Row ids are 32-bit integers on PostgreSQL; larger values can name no row.
MAX_ID = 2_147_483_647
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]

# Euros with cent precision, below 10 million, so that the cents fit a 32-bit
# column; JSON carries them as numbers (19.99), not strings.
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=9, decimal_places=2),
    PlainSerializer(float, return_type=float, when_used="json"),
]


# Control characters: C0, DEL and C1. SQLite ends a LIKE pattern at a NUL, so a
# filter holding one would match every row. Stored names reach exports and logs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A note may span lines and hold tabs; no other control character.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _reject(pattern: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            raise ValueError(
                f"the control character U+{ord(found.group()):04X} at position {found.start()} "
                "is not allowed here; remove it"
            )
        return value

    return AfterValidator(check)


# One line of text: a name, a category, a street, a filter on one of them.
Line = Annotated[str, _reject(_CONTROL)]
# Free text such as a note; line breaks and tabs are allowed.
Text = Annotated[str, _reject(_CONTROL_IN_TEXT)]


def euros_to_cents(amount: Decimal) -> int:
    return int(amount.scaleb(2))


class ReadModel(BaseModel):
    """A response model, filled from an ORM row's attributes."""

    model_config = ConfigDict(from_attributes=True)


class WriteModel(BaseModel):
    """A request body; unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UpdateModel(WriteModel):
    """A partial update: fields left out stay as they are; ``null`` is not a value."""

    @model_validator(mode="after")
    def _reject_nulls(self) -> Self:
        for field in sorted(self.model_fields_set):
            if getattr(self, field) is None:
                raise ValueError(f"{field} must not be null; leave it out to keep it")
        return self


class ListQuery(BaseModel):
    """Query parameters of every list: paging; subclasses add filters and ``sort``.

    ``sort`` names one field from the resource's allow-list; a leading ``-``
    sorts descending. Ties are broken by ``id``, so pages never overlap.
    """

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=10_000_000)


ItemT = TypeVar("ItemT", bound=BaseModel)


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int
    limit: int
    offset: int
