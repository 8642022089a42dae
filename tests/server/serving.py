"""Start real ``leitstand serve`` processes for tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import ServerProcess, free_port, wait_for_http

REPOSITORY = Path(__file__).resolve().parents[2]
LEITSTAND = str(Path(sys.executable).with_name("leitstand"))
TEST_APP = "tests.server.apps:create_test_app"

# Small seed sizes: seeding takes a fraction of a second.
SEED_ENVIRONMENT = {
    "LEITSTAND_SEED_KUNDEN": "20",
    "LEITSTAND_SEED_ARTIKEL": "10",
    "LEITSTAND_SEED_AUFTRAEGE": "30",
}


class Serve:
    """A running ``leitstand serve`` and its base URL."""

    def __init__(self, process: ServerProcess, port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10.0, **kwargs)  # type: ignore[arg-type]

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Scrape ``/metrics`` and return every sample by name and label set."""
        response = self.get("/metrics")
        response.raise_for_status()
        return parse_samples(response.text)


def parse_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def start_serve(
    tmp_path: Path,
    *flags: str,
    name: str = "serve",
    port: int | None = None,
    environment: dict[str, str] | None = None,
    wait: bool = True,
) -> Serve:
    """Start ``leitstand serve`` with a fresh SQLite database in ``tmp_path``."""
    port = free_port() if port is None else port
    database = f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"
    argv = [LEITSTAND, "serve", "--port", str(port), "--database", database, *flags]
    env = {
        **os.environ,
        **SEED_ENVIRONMENT,
        "PYTHONPATH": str(REPOSITORY),
        **(environment or {}),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = ServerProcess(name, argv, tmp_path / f"{name}.log", env=env, cwd=str(tmp_path))
    serve = Serve(process, port)
    if wait:
        try:
            wait_for_http(serve.url + "/metrics", process, timeout=60)
        except BaseException:
            process.stop()
            raise
    return serve
