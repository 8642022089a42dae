"""Bad input: 422 with the field, 413 for large bodies, SQL metacharacters harmless."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from tests.app.helpers import SEED_KUNDEN, AppClient, small_settings, sqlite_url

LIST_PATHS = [
    "/api/v1/kunden",
    "/api/v1/artikel",
    "/api/v1/auftraege",
    "/api/v1/rechnungen",
    "/api/v1/lager",
    "/api/v1/lager/bewegungen",
]


BAD_SORTS = ["email", "id; DROP TABLE kunden", "name--", "-", "ID", "preis_cent"]
BAD_PAGING: list[tuple[dict[str, str | int], str]] = [
    ({"limit": 0}, "limit"),
    ({"limit": 201}, "limit"),
    ({"offset": -1}, "offset"),
    ({"limit": "viele"}, "limit"),
    ({"unbekannt": "1"}, "unbekannt"),
]


@pytest.mark.parametrize("path", LIST_PATHS)
async def test_sort_outside_allow_list_is_422(client: httpx.AsyncClient, path: str) -> None:
    for sort in BAD_SORTS:
        response = await client.get(path, params={"sort": sort})

        assert response.status_code == 422, sort
        error = response.json()["detail"][0]
        assert error["loc"] == ["query", "sort"], sort
        assert error["type"] == "literal_error", sort


@pytest.mark.parametrize("path", LIST_PATHS)
async def test_bad_paging_is_422(client: httpx.AsyncClient, path: str) -> None:
    for params, field in BAD_PAGING:
        response = await client.get(path, params=params)

        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"] == ["query", field], params


SQL_METACHARACTERS = ["' OR '1'='1", "%", "_", "x\\", "'; DELETE FROM kunden; --", '" OR ""="']


async def test_sql_metacharacters_in_filters_match_literally(client: httpx.AsyncClient) -> None:
    for name in SQL_METACHARACTERS:
        response = await client.get("/api/v1/kunden", params={"name": name})

        assert response.status_code == 200, name
        assert response.json()["total"] == 0, name
    listing = await client.get("/api/v1/kunden", params={"limit": 1})
    assert listing.json()["total"] == SEED_KUNDEN


async def test_sql_metacharacters_stored_verbatim(client: httpx.AsyncClient) -> None:
    name = 'O\'Brien & 100% "Söhne"; DROP TABLE kunden; --'
    body = {
        "name": name,
        "email": "obrien@example.org",
        "strasse": "Weg 1",
        "plz": "10115",
        "ort": "Berlin",
    }
    created = (await client.post("/api/v1/kunden", json=body)).json()

    response = await client.get("/api/v1/kunden", params={"name": '100% "S'})

    assert response.status_code == 200
    assert [k["id"] for k in response.json()["items"]] == [created["id"]]
    assert response.json()["items"][0]["name"] == name


async def test_bad_path_id_is_422(client: httpx.AsyncClient) -> None:
    paths = ["/api/v1/kunden/0", "/api/v1/artikel/-3", "/api/v1/auftraege/x"]
    paths.append(f"/api/v1/rechnungen/{2**63}")
    for path in paths:
        response = await client.get(path)

        assert response.status_code == 422, path
        assert response.json()["detail"][0]["loc"][0] == "path", path


async def test_invalid_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/kunden", content=b"{name: 1", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


NON_FINITE_BODIES = [
    ("/api/v1/artikel", '{"name": "A", "kategorie": "K", "preis": NaN, "bestand": 1}', "NaN"),
    (
        "/api/v1/artikel",
        '{"name": "A", "kategorie": "K", "preis": 1, "bestand": Infinity}',
        "Infinity",
    ),
    ("/api/v1/auftraege", '{"foo": -Infinity}', None),
    ("/api/v1/lager/bewegungen", '{"artikel_id": NaN, "menge": 1, "art": "zugang"}', "NaN"),
]


@pytest.mark.parametrize(("path", "body", "echoed"), NON_FINITE_BODIES)
async def test_non_finite_number_is_422(
    client: httpx.AsyncClient, path: str, body: str, echoed: str | None
) -> None:
    # Python's JSON parser accepts NaN and Infinity; the 422 must still encode as JSON.
    response = await client.post(path, content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422
    detail = response.json()["detail"]
    if echoed is not None:
        assert [error["input"] for error in detail] == [echoed]
    else:
        assert detail[0]["input"] == {"foo": "-Infinity"}


async def test_deeply_nested_body_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auftraege", content=b"[" * 100_000, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "There was an error parsing the body"


async def test_nested_body_within_parser_limit_is_422(client: httpx.AsyncClient) -> None:
    body = '{"a": ' + "[" * 900 + "]" * 900 + "}"

    response = await client.post(
        "/api/v1/auftraege", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert ["body", "a"] in [error["loc"] for error in response.json()["detail"]]


CONTROL_CHARACTER_FILTERS = [
    ("/api/v1/kunden", "name", "\x00zzz"),
    ("/api/v1/kunden", "ort", "Ber\x00"),
    ("/api/v1/kunden", "plz", "1\x1b"),
    ("/api/v1/artikel", "name", "\x00"),
    ("/api/v1/artikel", "kategorie", "a\nb"),
    ("/api/v1/lager", "kategorie", "\x7f"),
]


@pytest.mark.parametrize(("path", "field", "value"), CONTROL_CHARACTER_FILTERS)
async def test_control_character_in_filter_is_422(
    client: httpx.AsyncClient, path: str, field: str, value: str
) -> None:
    response = await client.get(path, params={field: value})

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["query", field]
    assert "control character" in error["msg"]


def customer(**fields: str) -> dict[str, str]:
    body = {"name": "N", "email": "n@example.org", "strasse": "Weg 1", "plz": "10115", "ort": "B"}
    return body | fields


async def test_control_character_in_body_is_422_and_not_stored(client: httpx.AsyncClient) -> None:
    bad_bodies: list[tuple[str, str, Mapping[str, object]]] = [
        ("POST", "/api/v1/kunden", customer(name="Evil\u0000Corp")),
        ("POST", "/api/v1/kunden", customer(strasse="Weg\r1")),
        ("PATCH", "/api/v1/kunden/1", {"ort": "\x00"}),
        ("POST", "/api/v1/artikel", {"name": "A\x00", "kategorie": "K", "preis": 1, "bestand": 1}),
        ("PATCH", "/api/v1/artikel/1", {"kategorie": "K\x85K"}),
        (
            "POST",
            "/api/v1/lager/bewegungen",
            {"artikel_id": 1, "menge": 1, "art": "zugang", "notiz": "a\x00"},
        ),
    ]
    for method, path, body in bad_bodies:
        response = await client.request(method, path, json=body)

        assert response.status_code == 422, body
        assert "control character" in response.json()["detail"][0]["msg"], body
    listing = await client.get("/api/v1/kunden", params={"limit": 1})
    assert listing.json()["total"] == SEED_KUNDEN


async def test_line_breaks_in_note_are_kept(client: httpx.AsyncClient) -> None:
    body = {"artikel_id": 1, "menge": 1, "art": "zugang", "notiz": "Lieferung 1\n\tgeprüft"}

    response = await client.post("/api/v1/lager/bewegungen", json=body)

    assert response.status_code == 201
    assert response.json()["notiz"] == "Lieferung 1\n\tgeprüft"


@pytest.fixture
async def small_body_client(database_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = small_settings(sqlite_url(database_path), max_body_bytes=1024)
    async with AppClient(create_app(settings)) as client:
        yield client


def large_customer() -> bytes:
    body = {
        "name": "x" * 2000,
        "email": "big@example.org",
        "strasse": "Weg 1",
        "plz": "10115",
        "ort": "Berlin",
    }
    return json.dumps(body).encode()


async def test_body_over_limit_is_413(small_body_client: httpx.AsyncClient) -> None:
    response = await small_body_client.post(
        "/api/v1/kunden", content=large_customer(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert "larger than 1024 bytes" in response.json()["detail"]
    assert "LEITSTAND_MAX_BODY_BYTES" in response.json()["detail"]


async def test_chunked_body_over_limit_is_413(small_body_client: httpx.AsyncClient) -> None:
    payload = large_customer()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 256):
            yield payload[start : start + 256]

    response = await small_body_client.post(
        "/api/v1/kunden", content=chunks(), headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "larger than 1024 bytes" in response.json()["detail"]
    listing = await small_body_client.get("/api/v1/kunden", params={"limit": 1})
    assert listing.json()["total"] == SEED_KUNDEN


async def test_body_under_limit_passes(small_body_client: httpx.AsyncClient) -> None:
    body = {"name": "Kurz", "email": "k@example.org", "strasse": "W 1", "plz": "10115", "ort": "B"}

    response = await small_body_client.post("/api/v1/kunden", json=body)

    assert response.status_code == 201
