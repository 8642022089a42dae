"""Read an app's ``/metrics`` the way Prometheus does, and call apps without a server."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

from tests.server.serving import parse_samples

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return parse_samples(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for (sample, labels) in samples if sample == name}


def series(samples: Samples, name: str) -> set[frozenset[tuple[str, str]]]:
    return {labels for (sample, labels) in samples if sample == name}


def client_for(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def call(
    app: ASGIApp, method: str, path: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> int:
    """Send one request straight to the ASGI app; return the status it sent (500 if none)."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    # Starlette raises the handler's exception again after sending its 500 response.
    with contextlib.suppress(Exception):
        await app(scope, receive, send)
    starts = [message for message in sent if message["type"] == "http.response.start"]
    return int(starts[0]["status"]) if starts else 500
