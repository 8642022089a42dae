from __future__ import annotations

import dataclasses
import enum
from typing import Any

import pytest
from pydantic import BaseModel

from app.cache import freeze, key_function


class Filter(BaseModel):
    status: str
    tags: list[str]


@dataclasses.dataclass
class Page:
    number: int
    size: int


class Status(enum.StrEnum):
    OFFEN = "offen"


def list_auftraege(session: object, filters: dict[str, Any], page: int = 1) -> None:
    return None


def test_equal_dicts_in_any_order_freeze_alike() -> None:
    first = {"status": "offen", "page": 2, "nested": {"a": [1, 2], "b": {3, 4}}}
    second = {"nested": {"b": {4, 3}, "a": [1, 2]}, "page": 2, "status": "offen"}
    assert freeze(first) == freeze(second)
    assert hash(freeze(first)) == hash(freeze(second))
    assert freeze({"page": 2}) != freeze({"page": 3})


def test_unhashable_values_freeze_by_value() -> None:
    assert freeze(Filter(status="offen", tags=["a"])) == freeze(Filter(status="offen", tags=["a"]))
    assert freeze(Filter(status="offen", tags=["a"])) != freeze(Filter(status="offen", tags=[]))
    assert freeze(Page(1, 50)) == freeze(Page(1, 50))
    assert freeze([1, [2, 3]]) == freeze((1, (2, 3)))
    assert freeze({1, "a"}) == freeze({"a", 1})


def test_types_are_part_of_the_key() -> None:
    assert freeze(True) != freeze(1)
    assert freeze(1.0) != freeze(1)
    assert freeze(Status.OFFEN) != freeze("offen")


def test_repr_of_key_is_stable() -> None:
    # A shared backend keys entries by repr(key), which must not depend on
    # insertion order (or on hash randomization, as a set's repr would).
    build = key_function(list_auftraege, ignore=("session",))
    first = build((object(), {"z": {"y", "x"}, "a": 1}), {"page": 2})
    second = build((object(), {"a": 1, "z": {"x", "y"}}), {"page": 2})
    assert repr(first) == repr(second)


def test_identity_hashed_argument_names_the_fix() -> None:
    build = key_function(list_auftraege, ignore=())
    with pytest.raises(TypeError, match=r"hashed by identity.*ignore="):
        build((object(), {}), {})


def test_ignored_parameter_by_position_and_keyword() -> None:
    build = key_function(list_auftraege, ignore=("session",))
    by_position = build((object(), {"status": "offen"}), {})
    assert by_position == build((object(), {"status": "offen"}), {})
    by_keyword = build((), {"session": object(), "filters": {"status": "offen"}})
    assert by_keyword == build((), {"filters": {"status": "offen"}, "session": object()})
    assert build((None, {}, 1), {}) != build((None, {}, 2), {})


def test_key_names_the_function() -> None:
    build = key_function(list_auftraege, ignore=("session",))
    assert build((None, {}), {})[0] == f"{__name__}.list_auftraege"


def test_unknown_ignored_name_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"invalid ignore=\['sesion'\]: not parameters of"):
        key_function(list_auftraege, ignore=("sesion",))
