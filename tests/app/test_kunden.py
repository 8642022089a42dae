"""``/api/v1/kunden``: list, read, create, update, delete."""

from __future__ import annotations

import httpx

from tests.app.helpers import SEED_KUNDEN

NEW_KUNDE = {
    "name": "Erika Mustermann",
    "email": "erika@example.org",
    "strasse": "Heidestraße 17",
    "plz": "51147",
    "ort": "Köln",
}


async def test_list_first_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/kunden", params={"limit": 5})

    assert response.status_code == 200
    page = response.json()
    assert page["total"] == SEED_KUNDEN
    assert page["limit"] == 5
    assert page["offset"] == 0
    assert [kunde["id"] for kunde in page["items"]] == [1, 2, 3, 4, 5]
    assert set(page["items"][0]) == {
        "id", "kundennummer", "name", "email", "strasse", "plz", "ort", "erstellt_am",
    }  # fmt: skip


async def test_list_pages_do_not_overlap(client: httpx.AsyncClient) -> None:
    seen: list[int] = []
    for offset in range(0, SEED_KUNDEN, 15):
        response = await client.get(
            "/api/v1/kunden", params={"limit": 15, "offset": offset, "sort": "ort"}
        )
        assert response.status_code == 200
        seen += [kunde["id"] for kunde in response.json()["items"]]

    assert sorted(seen) == list(range(1, SEED_KUNDEN + 1))


async def test_list_sorted_by_name_descending(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/kunden", params={"sort": "-name", "limit": 200})

    assert response.status_code == 200
    names = [kunde["name"] for kunde in response.json()["items"]]
    assert names == sorted(names, reverse=True)


async def test_filter_by_name_part(client: httpx.AsyncClient) -> None:
    first = (await client.get("/api/v1/kunden/1")).json()
    part = first["name"].split()[0][1:4]

    response = await client.get("/api/v1/kunden", params={"name": part.upper(), "limit": 200})

    assert response.status_code == 200
    items = response.json()["items"]
    assert 1 in [kunde["id"] for kunde in items]
    assert all(part.lower() in kunde["name"].lower() for kunde in items)


async def test_get_unknown_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/kunden/999999")

    assert response.status_code == 404
    assert response.json()["detail"] == "Kunde 999999 not found"


async def test_create_then_read(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/kunden", json=NEW_KUNDE)

    assert response.status_code == 201
    created = response.json()
    assert created["id"] == SEED_KUNDEN + 1
    assert created["kundennummer"] == f"K{SEED_KUNDEN + 1:07d}"
    assert created["ort"] == "Köln"
    assert created["erstellt_am"].endswith("Z")
    stored = await client.get(f"/api/v1/kunden/{created['id']}")
    assert stored.json() == created


async def test_create_invalid_fields_is_422(client: httpx.AsyncClient) -> None:
    body = NEW_KUNDE | {"email": "not-an-address", "plz": "5114"}

    response = await client.post("/api/v1/kunden", json=body)

    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert fields == {("body", "email"), ("body", "plz")}


async def test_update_changes_given_fields_only(client: httpx.AsyncClient) -> None:
    before = (await client.get("/api/v1/kunden/3")).json()

    response = await client.patch("/api/v1/kunden/3", json={"ort": "Leipzig"})

    assert response.status_code == 200
    assert response.json() == before | {"ort": "Leipzig"}


async def test_update_null_is_422(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/v1/kunden/3", json={"name": None})

    assert response.status_code == 422
    assert "name must not be null" in response.json()["detail"][0]["msg"]


async def test_delete_customer_without_orders(client: httpx.AsyncClient) -> None:
    created = (await client.post("/api/v1/kunden", json=NEW_KUNDE)).json()

    response = await client.delete(f"/api/v1/kunden/{created['id']}")

    assert response.status_code == 204
    assert (await client.get(f"/api/v1/kunden/{created['id']}")).status_code == 404


async def test_delete_customer_with_orders_is_409(client: httpx.AsyncClient) -> None:
    kunde_id = (await client.get("/api/v1/auftraege/1")).json()["kunde"]["id"]

    response = await client.delete(f"/api/v1/kunden/{kunde_id}")

    assert response.status_code == 409
    assert response.json()["detail"] == f"Kunde {kunde_id} has orders and cannot be deleted"
    assert (await client.get(f"/api/v1/kunden/{kunde_id}")).status_code == 200
