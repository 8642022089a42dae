"""HTTP test doubles on loopback: the app's control API (as documented) and JSON stubs.

The control double implements docs/control-api.md: bearer auth, knob bounds, change
ids, reverts that undo only a change still in force, and cache clears. It records
every request so tests can assert what the optimizer sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CACHES = ("kunden", "artikel", "auftraege", "rechnungen", "lager", "prognose")


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class Knob:
    value: float
    low: float
    high: float
    default: float
    change_id: str | None = None


@dataclass
class Change:
    knob: str
    value: float
    previous: float
    replaced: str | None
    in_force: bool = True


Handler = Callable[["Recorded"], tuple[int, Any]]


@dataclass
class _Server:
    handle: Callable[[Recorded], tuple[int, Any]]
    requests: list[Recorded] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    def start(self) -> str:
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    body=json.loads(raw) if raw else None,
                    headers={key.lower(): value for key, value in self.headers.items()},
                )
                server.requests.append(request)
                status, payload = server.handle(request)
                if isinstance(payload, bytes):
                    data, content_type = payload, "text/plain; version=0.0.4"
                else:
                    data, content_type = json.dumps(payload).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return f"127.0.0.1:{self.httpd.server_port}"

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(5)


class ControlDouble:
    """The control API of one app instance, recorded."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.knobs: dict[str, Knob] = {
            "degraded": Knob(0, 0, 1, 0),
            "workers": Knob(2, 1, 8, 2),
            "shed.max_in_flight": Knob(0, 0, 10_000, 0),
        }
        for cache in CACHES:
            self.knobs[f"cache.{cache}.capacity"] = Knob(1000, 16, 1_000_000, 1000)
            self.knobs[f"cache.{cache}.ttl_seconds"] = Knob(60, 1, 86_400, 60)
        self.changes: dict[str, Change] = {}
        self.cleared: list[str | None] = []
        # Cleared by a test to hold knob changes until it is set again.
        self.gate = threading.Event()
        self.gate.set()
        # A status every request gets instead of its normal response, e.g. 500.
        self.fail_with: int | None = None
        self._lock = threading.Lock()
        self._server = _Server(self._handle)
        self.address = ""

    @property
    def requests(self) -> list[Recorded]:
        return self._server.requests

    def changes_sent(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "PUT"]

    def start(self) -> ControlDouble:
        self.address = self._server.start()
        return self

    def stop(self) -> None:
        self.gate.set()
        self._server.stop()

    def _handle(self, request: Recorded) -> tuple[int, Any]:
        if request.method == "GET" and request.path == "/metrics":
            lines = [
                f'erp_control_value{{knob="{name}"}} {knob.value:g}'
                for name, knob in self.knobs.items()
            ]
            return 200, ("\n".join(lines) + "\n").encode()
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"detail": "missing or wrong bearer token"}
        if request.method == "PUT" and not self.gate.wait(30):
            return 503, {"detail": "test gate never opened"}
        if self.fail_with is not None:
            return self.fail_with, {"detail": "failure injected by the test"}
        with self._lock:
            return self._route(request)

    def _route(self, request: Recorded) -> tuple[int, Any]:
        path = request.path
        if request.method == "GET" and path == "/control":
            return 200, {"knobs": {name: self._describe(knob) for name, knob in self.knobs.items()}}
        if request.method == "PUT" and path.startswith("/control/knobs/"):
            return self._set(path.removeprefix("/control/knobs/"), request.body)
        if request.method == "POST" and path.startswith("/control/changes/"):
            return self._revert(path.removeprefix("/control/changes/").removesuffix("/revert"))
        if request.method == "POST" and path == "/control/cache/clear":
            cache = request.body.get("cache")
            if cache is not None and cache not in CACHES:
                return 404, {"detail": f"unknown cache {cache}"}
            self.cleared.append(cache)
            return 200, {"cleared": [cache] if cache is not None else list(CACHES)}
        return 404, {"detail": f"no route {request.method} {path}"}

    def _set(self, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        knob = self.knobs.get(name)
        if knob is None:
            return 404, {"detail": f"unknown knob {name}"}
        value = float(body["value"])
        if not knob.low <= value <= knob.high:
            detail = f"{name} must be within {knob.low:g} and {knob.high:g}"
            return 422, {"detail": detail, "knob": name, "min": knob.low, "max": knob.high}
        if not body.get("reason"):
            return 422, {"detail": "reason is required"}
        change_id = f"c-{len(self.changes) + 1:04d}"
        if knob.change_id is not None:
            self.changes[knob.change_id].in_force = False
        self.changes[change_id] = Change(name, value, knob.value, knob.change_id)
        previous, knob.value, knob.change_id = knob.value, value, change_id
        expires_at = None
        if body.get("ttl_seconds") is not None:
            expires_at = "2026-12-04T13:00:00+00:00"
        return 200, {
            "change_id": change_id,
            "knob": name,
            "value": value,
            "previous": previous,
            "expires_at": expires_at,
        }

    def _revert(self, change_id: str) -> tuple[int, Any]:
        change = self.changes.get(change_id)
        if change is None:
            return 404, {"detail": f"unknown change {change_id}"}
        if not change.in_force:
            return 409, {"reverted": False, "detail": "replaced by a newer change or reverted"}
        # Changes unwind like a stack: the change this one replaced is in force again.
        knob = self.knobs[change.knob]
        knob.value, knob.change_id, change.in_force = change.previous, change.replaced, False
        if change.replaced is not None:
            self.changes[change.replaced].in_force = True
        return 200, {
            "reverted": True,
            "change_id": change_id,
            "knob": change.knob,
            "value": knob.value,
        }

    @staticmethod
    def _describe(knob: Knob) -> dict[str, Any]:
        return {
            "value": knob.value,
            "min": knob.low,
            "max": knob.high,
            "default": knob.default,
            "change_id": knob.change_id,
            "expires_at": None,
        }


class JsonStub:
    """A loopback server that responds to each path with a JSON document a test sets."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {}
        self._server = _Server(self._handle)
        self.url = ""

    @property
    def requests(self) -> list[Recorded]:
        return self._server.requests

    def start(self) -> JsonStub:
        self.url = f"http://{self._server.start()}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def _handle(self, request: Recorded) -> tuple[int, Any]:
        return self.routes.get(request.path, (404, {"status": "error", "error": "no route"}))


def prometheus_vector(samples: list[dict[str, str]]) -> tuple[int, Any]:
    """Response of /api/v1/query with one sample per label set."""
    return 200, {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": labels, "value": [0, "1"]} for labels in samples],
        },
    }


def prometheus_targets(job: str, instances: list[str]) -> tuple[int, Any]:
    """Response of /api/v1/targets listing ``instances`` as active targets of ``job``."""
    active = [
        {"labels": {"job": job, "instance": instance}, "health": "up"} for instance in instances
    ]
    return 200, {"status": "success", "data": {"activeTargets": active, "droppedTargets": []}}
