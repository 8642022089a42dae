"""The ``/metrics`` endpoint and the metrics that describe the instance itself."""

from __future__ import annotations

import gzip
import platform
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.metrics_core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

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
    """Build the registry a scrape reads: every worker's files, or this process's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_directory()
    if directory is None:
        registry.register(REGISTRY)
    else:
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    registry.register(InstanceCollector(WorkerCount(settings.state_path)))
    return registry


def metrics_endpoint(registry: CollectorRegistry) -> Callable[[Request], Response]:
    """Return a Starlette endpoint that serves ``registry`` in the format the scraper accepts."""
    directory = multiprocess_directory()

    # A plain function: Starlette runs it in its thread pool, so a scrape that
    # reads many files never stalls the requests on the event loop.
    def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        if directory is None:
            output = encoder(registry)
        else:
            with scrape_lock(directory):
                output = encoder(registry)
        headers = {}
        if gzip_accepted(request.headers.get("accept-encoding", "")):
            output = gzip.compress(output)
            headers["Content-Encoding"] = "gzip"
        return Response(output, headers=headers, media_type=content_type)

    return metrics


def _package_version() -> str:
    try:
        return version("leitstand")
    except PackageNotFoundError:
        return "unknown"
