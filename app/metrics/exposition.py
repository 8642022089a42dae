"""The ``/metrics`` endpoint and the metrics that describe the instance itself."""

from __future__ import annotations

import gzip
import platform
from collections.abc import Awaitable, Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import (
    CONTENT_TYPE_PLAIN_0_0_4,
    choose_encoder,
    generate_latest,
    gzip_accepted,
)
from prometheus_client.metrics_core import GaugeMetricFamily, InfoMetricFamily, Metric
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from app.metrics.files import MultiProcessText
from app.metrics.http import BUFFER
from app.metrics.multiprocess import multiprocess_directory, scrape_lock
from app.server.scaling import CURRENT_WORKERS
from app.settings import Settings
from app.shared_state import SharedState


class InstanceCollector:
    """``erp_build_info`` and ``erp_workers``, computed at scrape time."""

    def __init__(self, workers: Callable[[], float]) -> None:
        self._workers = workers
        self._build = {"version": _package_version(), "python_version": platform.python_version()}

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily("erp_build", "Version of the running ERP service.", self._build)
        yield GaugeMetricFamily(
            "erp_workers", "Worker processes serving this app instance.", value=self._workers()
        )


class WorkerCount:
    """``workers.current`` from the instance's shared state; 1 without a supervisor."""

    def __init__(self, state_path: Path | None) -> None:
        self._state_path = state_path
        self._state: SharedState | None = None

    def __call__(self) -> float:
        if self._state_path is None:
            return 1.0
        if self._state is None:
            self._state = SharedState(self._state_path)
        return self._state.get(CURRENT_WORKERS, 1.0)


def scrape_registry(settings: Settings) -> CollectorRegistry:
    """Build the registry of scrape-time collectors, plus this process's metrics in one process.

    In multiprocess mode the workers' files are read by ``MultiProcessText``
    instead, so the registry holds only collectors computed at scrape time.
    """
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_directory() is None:
        registry.register(REGISTRY)
    registry.register(InstanceCollector(WorkerCount(settings.state_path)))
    return registry


def metrics_endpoint(registry: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    """Return a Starlette endpoint that serves ``registry`` in the format the scraper accepts."""
    directory = multiprocess_directory()
    files = None if directory is None else MultiProcessText(directory)

    def encode(accept: str, accept_encoding: str) -> tuple[bytes, str, dict[str, str]]:
        if files is None or directory is None:
            encoder, content_type = choose_encoder(accept)
            output = encoder(registry)
        else:
            # Always the text format. OpenMetrics would add nothing here,
            # because the files hold no exemplars or created timestamps.
            content_type = CONTENT_TYPE_PLAIN_0_0_4
            with scrape_lock(directory):
                output = files.render()
            output += generate_latest(registry)
        headers = {}
        if gzip_accepted(accept_encoding):
            output = gzip.compress(output)
            headers["Content-Encoding"] = "gzip"
        return output, content_type, headers

    async def metrics(request: Request) -> Response:
        # This worker's own buffered samples first, on the event loop that owns them.
        BUFFER.flush()
        # Reading every worker's files takes milliseconds: off the event loop.
        output, content_type, headers = await run_in_threadpool(
            encode, request.headers.get("accept", ""), request.headers.get("accept-encoding", "")
        )
        return Response(output, headers=headers, media_type=content_type)

    return metrics


def _package_version() -> str:
    try:
        return version("leitstand")
    except PackageNotFoundError:
        return "unknown"
