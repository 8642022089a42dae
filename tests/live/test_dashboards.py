"""Every query of every dashboard returns data from a stack that served traffic and drills.

The traffic below is what makes each panel's series exist: requests to every
ERP route and a 404, a latency drill, a burst that the app sheds, optimizer
decisions on scrape targets that have no control API, and a notification
through Alertmanager.
Each change to a knob is reverted by its change id, so every knob ends at
the value it had.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live.stack import LiveStack
from tests.support.processes import wait_until

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"

# Grafana's macros for the stack's 1 s scrape interval: $__interval is never below the
# datasource's timeInterval, and $__rate_interval = max($__interval + scrape interval,
# 4 x scrape interval).
SCRAPE_SECONDS = 1
MACROS = {
    "$__rate_interval": f"{4 * SCRAPE_SECONDS}s",
    "$__interval": f"{SCRAPE_SECONDS}s",
}

GET_ROUTES = (
    "/api/v1/kunden",
    "/api/v1/kunden/1",
    "/api/v1/artikel",
    "/api/v1/artikel/1",
    "/api/v1/artikel/1/prognose",
    "/api/v1/auftraege",
    "/api/v1/auftraege/1",
    "/api/v1/rechnungen",
    "/api/v1/rechnungen/1",
    "/api/v1/lager",
    "/api/v1/lager/bewegungen",
    "/api/v1/lager/1",
    "/no-such-route",
)


def targets_without_control_api(stack: LiveStack) -> list[tuple[str, str]]:
    """Return (job, instance) of two active scrape targets that have no control API.

    The optimizer acts only on targets Prometheus lists, and its actions on
    Prometheus and Alertmanager fail at once (404) without touching the app,
    whose rule the closed-loop test needs out of cooldown.
    """
    return [
        ("prometheus", f"127.0.0.1:{stack.ports['prometheus']}"),
        ("alertmanager", f"127.0.0.1:{stack.ports['alertmanager']}"),
    ]


@dataclass
class Window:
    """The time range the panel queries cover: from before the traffic until now."""

    start: float
    stack: LiveStack


class Traffic:
    """Requests to every GET route in a loop on a thread, until stopped or for at most 5 min."""

    def __init__(self, app: str) -> None:
        self.app = app
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 300
        with httpx.Client(base_url=self.app, timeout=10) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                for path in GET_ROUTES:
                    client.get(path)
                self.stop.wait(0.2)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(15)


def control_headers(stack: LiveStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.control_token}"}


def knob_values(stack: LiveStack) -> dict[str, float]:
    answer = httpx.get(stack.url("app") + "/control", headers=control_headers(stack), timeout=10)
    answer.raise_for_status()
    return {name: knob["value"] for name, knob in answer.json()["knobs"].items()}


def set_knob(stack: LiveStack, knob: str, value: float) -> str:
    """Change a knob for at most 5 min and return the change id."""
    answer = httpx.put(
        f"{stack.url('app')}/control/knobs/{knob}",
        headers=control_headers(stack),
        json={"value": value, "reason": "dashboard test", "ttl_seconds": 300},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    change_id: str = answer.json()["change_id"]
    return change_id


def revert(stack: LiveStack, change_id: str) -> None:
    answer = httpx.post(
        f"{stack.url('app')}/control/changes/{change_id}/revert",
        headers=control_headers(stack),
        json={"reason": "dashboard test done"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def latency_drill(stack: LiveStack) -> None:
    """Slow down forecasts that are not cached yet, then undo it."""
    change = set_knob(stack, "fault.latency_seconds", 0.05)
    try:
        for article in range(2, 7):
            httpx.get(f"{stack.url('app')}/api/v1/artikel/{article}/prognose", timeout=10)
    finally:
        revert(stack, change)


async def burst(app: str, requests: int) -> list[int]:
    # Pages not requested before: cached responses can finish before the next request
    # arrives, so that no two are ever in flight at once.
    first = secrets.randbelow(1_000)
    pages = [f"/api/v1/auftraege?limit=100&offset={first + i}" for i in range(requests)]
    async with httpx.AsyncClient(base_url=app, timeout=10) as client:
        answers = await asyncio.gather(*(client.get(page) for page in pages))
    return [answer.status_code for answer in answers]


def shed_burst(stack: LiveStack) -> None:
    """Allow one request in flight per worker and send concurrent ones until some are shed."""
    change = set_knob(stack, "shed.max_in_flight", 1)
    try:
        for _ in range(5):
            if 503 in asyncio.run(burst(stack.url("app"), 30)):
                return
        pytest.fail("no request was shed with shed.max_in_flight = 1 and 30 concurrent requests")
    finally:
        revert(stack, change)


def alert(name: str, instance: str, **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "status": "firing",
        "labels": {"alertname": name, "instance": instance, "service": "erp", **labels},
        "annotations": {"summary": "dashboard test"},
        "startsAt": now.isoformat(),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1/graph",
        "fingerprint": secrets.token_hex(8),
    }


def notify_optimizer(stack: LiveStack, job: str, instance: str) -> None:
    """Post an evicting-cache alert for ``instance`` and wait until the action on it fails."""
    since = datetime.now(UTC).isoformat()
    payload = {
        "version": "4",
        "groupKey": f'{{}}:{{instance="{instance}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "optimizer",
        "groupLabels": {"instance": instance},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": stack.url("alertmanager"),
        "alerts": [
            alert("LeitstandCacheEvicting", instance, job=job, cache="kunden", severity="warning")
        ],
    }
    answer = httpx.post(
        stack.url("optimizer") + "/webhook",
        headers={"Authorization": f"Bearer {stack.webhook_token}"},
        json=payload,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    def failed() -> bool:
        decisions = httpx.get(
            stack.url("optimizer") + "/decisions",
            params={"target": instance, "result": "failed", "since": since},
            timeout=10,
        ).json()["decisions"]
        return bool(decisions)

    wait_until(failed, timeout=30, what=f"the optimizer's failed action on {instance}")


def notify_through_alertmanager(stack: LiveStack, instance: str) -> None:
    """Send an alert through Alertmanager, which delivers it to the optimizer's webhook."""
    since = datetime.now(UTC).isoformat()
    probe = alert("LeitstandDashboardProbe", instance, severity="warning")
    probe["endsAt"] = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    for key in ("status", "fingerprint"):
        del probe[key]
    answer = httpx.post(stack.url("alertmanager") + "/api/v2/alerts", json=[probe], timeout=10)
    assert answer.status_code == 200, answer.text

    def delivered() -> bool:
        decisions = httpx.get(
            stack.url("optimizer") + "/decisions",
            params={"alertname": "LeitstandDashboardProbe", "since": since},
            timeout=10,
        ).json()["decisions"]
        return bool(decisions)

    wait_until(delivered, timeout=60, what="the probe alert at the optimizer's webhook")


@pytest.fixture(scope="module")
def window(live_stack: LiveStack) -> Iterator[Window]:
    stack = live_stack
    start = time.time() - SCRAPE_SECONDS
    knobs_before = knob_values(stack)

    with Traffic(stack.url("app")):
        latency_drill(stack)
        shed_burst(stack)
        # The histogram of a new action kind starts at its first observation, which rate()
        # cannot see, so the optimizer acts twice, with scrapes in between.
        targets = targets_without_control_api(stack)
        for job, instance in targets:
            notify_optimizer(stack, job, instance)
            time.sleep(3 * SCRAPE_SECONDS)
        notify_through_alertmanager(stack, targets[0][1])
        wait_until(
            lambda: bool(
                stack.query('ALERTS{alertname="LeitstandRequestsShed", alertstate="firing"}')
            ),
            timeout=60,
            what="LeitstandRequestsShed after the shed burst",
        )
    # Let Prometheus scrape and evaluate the rules after the last request.
    time.sleep(3 * SCRAPE_SECONDS)

    yield Window(start, stack)

    assert knob_values(stack) == knobs_before


def variable_values(stack: LiveStack, definition: str, start: float) -> list[str]:
    """Run a ``label_values(selector, label)`` variable query as Grafana does."""
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", definition)
    assert match, f"unsupported variable query {definition!r}"
    selector, label = match.groups()
    answer = httpx.get(
        f"{stack.url('prometheus')}/api/v1/label/{label}/values",
        params={"match[]": selector, "start": start, "end": time.time()},
        timeout=10,
    )
    answer.raise_for_status()
    values: list[str] = answer.json()["data"]
    return values


def substitute(text: str, variables: dict[str, str]) -> str:
    for name in sorted(variables, key=len, reverse=True):
        text = text.replace(f"${{{name}}}", variables[name]).replace(f"${name}", variables[name])
    for macro, value in MACROS.items():
        text = text.replace(macro, value)
    assert "$" not in text, f"unknown variable or macro left in {text!r}"
    return text


def resolve_variables(stack: LiveStack, dashboard: dict[str, Any], start: float) -> dict[str, str]:
    """Select every value of each query variable, in order, as a regex alternation."""
    variables: dict[str, str] = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        definition = substitute(variable["definition"], variables)
        values = variable_values(stack, definition, start)
        assert values, f"{dashboard['title']}: variable ${variable['name']} has no values"
        # Regex-escaped, then escaped again for the PromQL string literal, as Grafana does.
        escaped = (re.escape(value).replace("\\", "\\\\") for value in values)
        variables[variable["name"]] = "|".join(escaped)
    return variables


def has_data(stack: LiveStack, query: str, start: float) -> tuple[bool, str]:
    """Run a range query at a 1 s step and tell whether any sample is a number, or why not."""
    answer = httpx.get(
        stack.url("prometheus") + "/api/v1/query_range",
        params={"query": query, "start": start, "end": time.time(), "step": SCRAPE_SECONDS},
        timeout=30,
    )
    body = answer.json()
    if answer.status_code != 200:
        return False, f"{body.get('errorType')}: {body.get('error')}"
    samples = [float(value) for series in body["data"]["result"] for _, value in series["values"]]
    if not samples:
        return False, "no series"
    if all(math.isnan(sample) for sample in samples):
        return False, "only NaN"
    return True, ""


def dashboard_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield (where, expr) for every panel target and Prometheus annotation."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} query {target['refId']}", target["expr"]
    for annotation in dashboard["annotations"]["list"]:
        if "expr" in annotation:
            yield f"annotation {annotation['name']!r}", annotation["expr"]


@pytest.mark.parametrize("path", sorted(DASHBOARDS_DIR.glob("*.json")), ids=lambda path: path.stem)
def test_every_query_returns_data(window: Window, path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    variables = resolve_variables(window.stack, dashboard, window.start)

    empty = []
    for where, expr in dashboard_queries(dashboard):
        query = substitute(expr, variables)
        ok, reason = has_data(window.stack, query, window.start)
        if not ok:
            empty.append(f"{dashboard['title']}: {where}: {reason}\n    {query}")

    assert empty == [], "queries without data:\n" + "\n".join(empty)
