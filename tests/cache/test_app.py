"""The caches in the running app: ``leitstand serve`` with four forked workers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import ServerProcess, free_port, wait_for_http

WORKERS = 4
PID_HEADER = "X-Leitstand-Worker-Pid"
SEED_KUNDEN = 20
LEITSTAND = str(Path(sys.executable).with_name("leitstand"))
REPOSITORY = Path(__file__).resolve().parents[2]


class App:
    def __init__(self, url: str) -> None:
        self.url = url
        # No keep-alive: every request opens a connection, which any worker may accept.
        self.http = httpx.Client(
            base_url=url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
        )

    def get_from_every_worker(self, path: str) -> list[httpx.Response]:
        """GET ``path`` on new connections until every worker has responded at least once."""
        responses: list[httpx.Response] = []
        pids: set[str] = set()
        with ThreadPoolExecutor(8) as pool:
            for _ in range(50):
                batch = list(pool.map(lambda _: self.http.get(path), range(8)))
                responses += batch
                pids |= {response.headers[PID_HEADER] for response in batch}
                if len(pids) == WORKERS:
                    return responses
        raise AssertionError(f"only workers {sorted(pids)} answered {len(responses)} requests")

    def selects(self) -> float:
        """Return the SELECT statements the workers have run so far."""
        return self.sample("erp_db_query_duration_seconds_count", operation="select")

    def sample(self, name: str, **labels: str) -> float:
        text = self.http.get("/metrics").text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    total += sample.value
        return total


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    argv = [
        LEITSTAND,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--debug-pid-header",
        "--no-access-log",
        "--database",
        f"sqlite+aiosqlite:///{folder / 'erp.db'}",
    ]
    environment = {
        **os.environ,
        "LEITSTAND_SEED_KUNDEN": str(SEED_KUNDEN),
        "LEITSTAND_SEED_ARTIKEL": "10",
        "LEITSTAND_SEED_AUFTRAEGE": "30",
        # Longer than the test, so an expiry never adds a query on a slow machine.
        "LEITSTAND_CACHE_NEGATIVE_TTL_SECONDS": "300",
        "PYTHONPATH": str(REPOSITORY),
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = ServerProcess("serve", argv, folder / "serve.log", env=environment, cwd=str(folder))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(url + "/ready", server, timeout=60)
        app = App(url)
        yield app
        app.http.close()
    finally:
        server.stop()


def test_read_after_write_on_every_worker(app: App) -> None:
    path = "/api/v1/artikel/1"
    selects_before = app.selects()
    before = app.get_from_every_worker(path)
    assert {response.status_code for response in before} == {200}
    old_price = before[0].json()["preis"]
    assert {response.json()["preis"] for response in before} == {old_price}
    again = app.get_from_every_worker(path)
    assert {response.json()["preis"] for response in again} == {old_price}
    # Each worker read the row once and served every other request from its cache.
    assert app.selects() - selects_before == WORKERS
    assert app.sample("erp_cache_hits_total", cache="artikel") >= len(again)

    new_price = round(float(old_price) + 1.5, 2)
    changed = app.http.patch(path, json={"preis": new_price})
    assert changed.status_code == 200
    assert float(changed.json()["preis"]) == new_price

    after = app.get_from_every_worker(path)
    assert {response.status_code for response in after} == {200}
    assert {float(response.json()["preis"]) for response in after} == {new_price}


def test_missing_customer_costs_few_queries(app: App) -> None:
    missing = SEED_KUNDEN + 1
    path = f"/api/v1/kunden/{missing}"
    selects_before = app.selects()

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: app.http.get(path), range(100)))
    assert {response.status_code for response in statuses} == {404}
    # One query per worker at most: every later GET hits the "not found" entry.
    assert 1 <= app.selects() - selects_before <= WORKERS

    created = app.http.post(
        "/api/v1/kunden",
        json={
            "name": "Neukunde GmbH",
            "email": "einkauf@neukunde.example",
            "strasse": "Hafenstraße 1",
            "plz": "20457",
            "ort": "Hamburg",
        },
    )
    assert created.status_code == 201
    assert created.json()["id"] == missing

    found = app.get_from_every_worker(path)
    assert {response.status_code for response in found} == {200}
    assert {response.json()["name"] for response in found} == {"Neukunde GmbH"}
