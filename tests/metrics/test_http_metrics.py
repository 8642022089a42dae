"""HTTP metrics of one app in this process, read from its ``/metrics``.

The metric objects live once per process, so every check compares a scrape
before and after the requests it makes.
"""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.main import create_app
from app.metrics import install_metrics
from app.settings import Settings
from tests.metrics.scrape import Samples, call, client_for, label_values, scrape, series, value

KUNDE = "/api/v1/kunden/{kunde_id}"


VALID_TOKEN = "open-sesame"  # noqa: S105 (a test value)


def require_token(token: str | None = None) -> None:
    if token != VALID_TOKEN:
        raise HTTPException(status_code=401, detail="missing or wrong token")


class Shedding:
    """Send 503 for requests with an ``x-shed`` header, before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(name == b"x-shed" for name, _ in scope["headers"]):
            await PlainTextResponse("overloaded", status_code=503)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_app(instrumented: bool = True) -> FastAPI:
    """An app with every route style: included router, plain route, mounted apps."""
    app = FastAPI()
    kunden = APIRouter(prefix="/kunden")

    @kunden.get("/{kunde_id}")
    async def kunde(kunde_id: int) -> dict[str, int]:
        return {"id": kunde_id}

    @kunden.get("/{kunde_id}/geheim", dependencies=[Depends(require_token)])
    async def geheim(kunde_id: int) -> dict[str, int]:
        return {"id": kunde_id}

    app.include_router(kunden, prefix="/api/v1")

    @app.get("/raise")
    async def raise_error() -> None:
        raise RuntimeError("raised on purpose")

    app.add_route("/plain", lambda request: PlainTextResponse("plain"))
    sub = FastAPI()

    @sub.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item": item_id}

    app.mount("/sub", sub)
    settings = Settings(metrics_enabled=instrumented)
    install_metrics(app, settings)
    app.add_middleware(Shedding)
    return app


@pytest.fixture
def app() -> FastAPI:
    return build_app()


async def test_path_parameters_share_one_template(app: FastAPI) -> None:
    async with client_for(app) as client:
        before = await scrape(client)
        assert (await client.get("/api/v1/kunden/17")).status_code == 200
        assert (await client.get("/api/v1/kunden/4711")).status_code == 200
        after = await scrape(client)

    labels = {"handler": KUNDE, "method": "GET", "status": "200"}
    assert (
        value(after, "http_requests_total", **labels)
        - value(before, "http_requests_total", **labels)
        == 2
    )
    handlers = label_values(after, "http_requests_total", "handler")
    assert not any("17" in handler or "4711" in handler for handler in handlers)


async def test_scanner_paths_add_one_unmatched_value(app: FastAPI) -> None:
    async with client_for(app) as client:
        before = await scrape(client)
    probes = ["/.env", "/wp-admin/x{i}.php", "/.git/config?{i}", "/api/v1/kunden/../../etc"]
    methods = ["GET", "POST", "PROPFIND", "FOO{i}"]
    for i in range(10_000):
        path = probes[i % len(probes)].format(i=i)
        method = methods[(i // 4) % len(methods)].format(i=i)
        await call(app, method, path)
    async with client_for(app) as client:
        after = await scrape(client)

    for family in ("http_requests_total", "http_request_duration_seconds_count"):
        new = label_values(after, family, "handler") - label_values(before, family, "handler")
        assert new <= {"none"}, new
        # Other tests in this process may have counted other standard methods before.
        methods = label_values(after, family, "method") - label_values(before, family, "method")
        assert methods <= {"GET", "POST", "other"}, methods
    assert len(series(after, "http_requests_total") - series(before, "http_requests_total")) <= 6


async def test_cors_preflight_is_labelled_by_template_or_none() -> None:
    app = build_app()
    app.add_middleware(CORSMiddleware, allow_origins=["https://erp.example"], allow_methods=["*"])
    headers = {"Origin": "https://erp.example", "Access-Control-Request-Method": "GET"}
    async with client_for(app) as client:
        before = await scrape(client)
        response = await client.options("/api/v1/kunden/17", headers=headers)
        assert response.status_code == 200
        after = await scrape(client)

    def options_requests(samples: Samples) -> dict[str, float]:
        return {
            dict(labels)["handler"]: sample_value
            for (name, labels), sample_value in samples.items()
            if name == "http_requests_total" and dict(labels)["method"] == "OPTIONS"
        }

    counted = options_requests(after)
    for handler, count in options_requests(before).items():
        counted[handler] -= count
    assert {handler for handler, count in counted.items() if count} <= {KUNDE, "none"}
    assert sum(counted.values()) == 1


async def test_exception_is_counted_as_500_once(app: FastAPI) -> None:
    async with client_for(app) as client:
        before = await scrape(client)
        assert (await client.get("/raise")).status_code == 500
        after = await scrape(client)
    requests = {"handler": "/raise", "method": "GET", "status": "500"}
    durations = {"handler": "/raise", "method": "GET"}
    count = "http_request_duration_seconds_count"
    assert (
        value(after, "http_requests_total", **requests)
        - value(before, "http_requests_total", **requests)
        == 1
    )
    assert value(after, count, **durations) - value(before, count, **durations) == 1


async def test_status_is_what_the_client_got(app: FastAPI) -> None:
    async with client_for(app) as client:
        before = await scrape(client)
        assert (await client.get("/api/v1/kunden/1/geheim")).status_code == 401
        assert (await client.get("/api/v1/kunden/1", headers={"x-shed": "1"})).status_code == 503
        after = await scrape(client)

    def delta(handler: str, status: str) -> float:
        labels = {"handler": handler, "method": "GET", "status": status}
        return value(after, "http_requests_total", **labels) - value(
            before, "http_requests_total", **labels
        )

    assert delta(KUNDE + "/geheim", "401") == 1
    assert delta(KUNDE + "/geheim", "200") == 0
    # The shedding middleware responds before routing, and the path still names the route.
    assert delta(KUNDE, "503") == 1
    assert delta(KUNDE, "200") == 0


async def test_in_flight_counts_running_requests(app: FastAPI) -> None:
    async with client_for(app) as client:
        samples = await scrape(client)
    # The scrape itself is the one request in flight.
    assert value(samples, "http_requests_in_flight") == 1


async def test_create_app_twice_in_one_process() -> None:
    first = create_app(Settings())
    second = create_app(Settings())
    for app in (first, second):
        async with client_for(app) as client:
            response = await client.get("/metrics")
            assert response.status_code == 200
            assert response.text.count("# TYPE http_requests_total counter") == 1


ROUTE_STYLES = [
    ("GET", "/api/v1/kunden/1"),
    ("DELETE", "/api/v1/kunden/1"),
    ("GET", "/api/v1/kunden/x"),
    ("GET", "/plain"),
    ("POST", "/plain"),
    ("GET", "/sub/items/3"),
    ("PUT", "/sub/items/3"),
    ("GET", "/sub/missing"),
    ("GET", "/missing"),
    ("GET", "/api/v1/kunden/1/"),
]


@pytest.mark.parametrize(("method", "path"), ROUTE_STYLES)
async def test_instrumentation_never_changes_a_response(method: str, path: str) -> None:
    responses = []
    for instrumented in (False, True):
        async with client_for(build_app(instrumented)) as client:
            response = await client.request(method, path)
            headers = {k: v for k, v in response.headers.items() if k != "date"}
            responses.append((response.status_code, headers, response.content))
    assert responses[0] == responses[1]


async def test_methods_and_statuses_of_route_styles(app: FastAPI) -> None:
    async with client_for(app) as client:
        before = await scrape(client)
        statuses = [(await client.request(m, p)).status_code for m, p in ROUTE_STYLES]
        after = await scrape(client)
    assert statuses == [200, 405, 422, 200, 405, 200, 405, 404, 404, 307]

    def delta(handler: str, method: str, status: int) -> float:
        labels = {"handler": handler, "method": method, "status": str(status)}
        return value(after, "http_requests_total", **labels) - value(
            before, "http_requests_total", **labels
        )

    assert delta(KUNDE, "DELETE", 405) == 1
    assert delta(KUNDE, "GET", 422) == 1
    assert delta("/plain", "POST", 405) == 1
    assert delta("/sub/items/{item_id}", "PUT", 405) == 1
    assert delta("none", "GET", 404) == 2
    assert delta("none", "GET", 307) == 1


async def test_no_metrics_setting_turns_instrumentation_off() -> None:
    app = build_app(instrumented=False)
    async with client_for(app) as client:
        before = await scrape(client)
        assert (await client.get("/api/v1/kunden/5")).status_code == 200
        after = await scrape(client)
    labels = {"handler": KUNDE, "method": "GET", "status": "200"}
    assert value(after, "http_requests_total", **labels) == value(
        before, "http_requests_total", **labels
    )


class AnswerBeforeRouting:
    """Respond to requests with an ``x-cached`` header itself, as a response cache does on a hit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(name == b"x-cached" for name, _ in scope["headers"]):
            await PlainTextResponse("from the cache")(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def test_response_before_routing_keeps_its_template() -> None:
    app = build_app()
    app.add_middleware(AnswerBeforeRouting)
    async with client_for(app) as client:
        before = await scrape(client)
        cached = {"x-cached": "1"}
        assert (await client.get("/api/v1/kunden/8", headers=cached)).status_code == 200
        assert (await client.get("/no/such/route", headers=cached)).status_code == 200
        after = await scrape(client)

    def delta(handler: str) -> float:
        labels = {"handler": handler, "method": "GET", "status": "200"}
        return value(after, "http_requests_total", **labels) - value(
            before, "http_requests_total", **labels
        )

    assert delta(KUNDE) == 1
    assert delta("none") == 1
