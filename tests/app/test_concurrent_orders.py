"""Orders from two worker processes on one SQLite file never oversell."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.db.setup import prepare_database
from tests.app.helpers import small_settings, sqlite_url
from tests.support.processes import free_port, running, wait_for_http

STOCK = 50
ORDERS = 200
IN_FLIGHT = 40

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], Path]]:
    """Two uvicorn processes serving one seeded SQLite file."""
    folder = tmp_path_factory.mktemp("concurrent")
    database = folder / "erp.db"
    settings = small_settings(sqlite_url(database), max_body_bytes=1024)
    prepare_database(settings)
    env = os.environ | {
        "LEITSTAND_DATABASE_URL": settings.database_url,
        "LEITSTAND_MAX_BODY_BYTES": "1024",
        "LEITSTAND_METRICS_ENABLED": "false",
        "LEITSTAND_CACHE_ENABLED": "false",
    }
    ports = [free_port(), free_port()]
    argv = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app"]
    argv += ["--host", "127.0.0.1", "--log-level", "warning"]
    with (
        running("uvicorn-a", [*argv, "--port", str(ports[0])], folder, env=env) as first,
        running("uvicorn-b", [*argv, "--port", str(ports[1])], folder, env=env) as second,
    ):
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        wait_for_http(f"{urls[0]}/ready", first)
        wait_for_http(f"{urls[1]}/ready", second)
        yield urls, database


async def place_orders(urls: list[str], artikel_id: int) -> Counter[int]:
    limit = asyncio.Semaphore(IN_FLIGHT)
    body = {"kunde_id": 1, "positionen": [{"artikel_id": artikel_id, "menge": 1}]}

    async with httpx.AsyncClient(timeout=60.0) as client:

        async def order(index: int) -> int:
            async with limit:
                response = await client.post(f"{urls[index % 2]}/api/v1/auftraege", json=body)
                return response.status_code

        statuses = await asyncio.gather(*(order(index) for index in range(ORDERS)))
    return Counter(statuses)


async def test_two_processes_sell_stock_exactly_once(servers: tuple[list[str], Path]) -> None:
    urls, database = servers
    async with httpx.AsyncClient() as client:
        created = await client.post(
            f"{urls[0]}/api/v1/artikel",
            json={"name": "Knappware", "kategorie": "Test", "preis": 3, "bestand": STOCK},
        )
    artikel_id = created.json()["id"]

    statuses = await place_orders(urls, artikel_id)

    assert statuses == Counter({201: STOCK, 409: ORDERS - STOCK})
    async with httpx.AsyncClient() as client:
        for url in urls:
            artikel = (await client.get(f"{url}/api/v1/artikel/{artikel_id}")).json()
            assert artikel["bestand"] == 0
    with sqlite3.connect(database) as connection:
        sold = connection.execute(
            "SELECT COUNT(*), SUM(menge) FROM auftragspositionen WHERE artikel_id = ?",
            (artikel_id,),
        ).fetchone()
        movements = connection.execute(
            "SELECT SUM(menge) FROM lagerbewegungen WHERE artikel_id = ?", (artikel_id,)
        ).fetchone()
        invoices = connection.execute(
            "SELECT COUNT(*) FROM rechnungen r JOIN auftragspositionen p "
            "ON p.auftrag_id = r.auftrag_id WHERE p.artikel_id = ?",
            (artikel_id,),
        ).fetchone()
    assert sold == (STOCK, STOCK)
    assert movements == (0,)
    assert invoices == (STOCK,)


def test_chunked_body_over_limit_is_413_from_uvicorn(servers: tuple[list[str], Path]) -> None:
    urls, _ = servers
    host, port = urls[0].removeprefix("http://").split(":")
    chunk = b'{"name": "' + b"x" * 600
    request = (
        b"POST /api/v1/kunden HTTP/1.1\r\n"
        + f"Host: {host}\r\n".encode()
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        + b"Connection: close\r\n\r\n"
    )
    for _ in range(3):
        request += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    request += b"0\r\n\r\n"

    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        reply = b""
        while data := connection.recv(65536):
            reply += data

    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"larger than 1024 bytes" in reply
