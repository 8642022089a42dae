"""HTTP endpoints: the Alertmanager webhook, the decision audit, metrics and health."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pydantic_core
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from optimizer.decisions import Decision, Result
from optimizer.payload import Notification
from optimizer.store import DecisionQuery
from optimizer.tokens import bearer_matches

if TYPE_CHECKING:
    from optimizer.service import Context

logger = logging.getLogger("leitstand.optimizer")
router = APIRouter()

# Seconds Alertmanager is asked to wait before it retries a 503.
RETRY_AFTER_SECONDS = 5


@router.post("/webhook")
async def receive_notification(request: Request) -> Response:
    context: Context = request.app.state.context
    received_at = context.clock.now()

    # Authenticate first, before the body is read; the token is compared in constant time.
    if not bearer_matches(request.headers.get("authorization"), context.webhook_token):
        reason = (
            "missing Authorization header"
            if "authorization" not in request.headers
            else "wrong bearer token"
        )
        await _reject(context, received_at, 401, reason, request)
        return JSONResponse(
            {"detail": f"{reason}; send Authorization: Bearer <LEITSTAND_WEBHOOK_TOKEN>"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    # Shed load with 503, which Alertmanager retries; any 4xx would drop the notification.
    pending = context.optimizer.runner.pending
    if pending >= context.settings.optimizer_max_pending:
        logger.warning(
            "overloaded: %d actions pending (limit %d); responding 503 so Alertmanager retries",
            pending,
            context.settings.optimizer_max_pending,
        )
        context.metrics.webhooks.labels(code="503").inc()
        return JSONResponse(
            {"detail": f"overloaded: {pending} actions pending; retry later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    # Validate: JSON, an object, webhook version 4, then the full schema.
    body = await request.body()
    try:
        notification = _parse(body)
    except ValueError as error:
        await _reject(context, received_at, 400, str(error), request)
        return JSONResponse({"detail": str(error)}, status_code=400)

    # Decide per alert and record the decisions; actions start in the background.
    try:
        decisions = await context.optimizer.handle(notification, received_at)
    except Exception:
        logger.exception(
            "cannot record the decisions of group %s; responding 503 so Alertmanager retries",
            notification.group_key,
        )
        context.metrics.webhooks.labels(code="503").inc()
        return JSONResponse(
            {"detail": "the decisions could not be recorded; retry later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    context.metrics.webhooks.labels(code="200").inc()
    # pydantic-core's encoder: several times faster than json.dumps for 100 decisions.
    body = pydantic_core.to_json({"decisions": [_summary(decision) for decision in decisions]})
    return Response(body, media_type="application/json")


@router.get("/decisions")
async def list_decisions(
    request: Request,
    rule: str | None = None,
    result: Result | None = None,
    target: str | None = None,
    alertname: str | None = None,
    since: datetime | None = Query(default=None, description="RFC 3339 time, inclusive"),
    before: int | None = Query(default=None, ge=1, description="the next page's cursor"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """List decisions, newest first, with the state of the action each one started."""
    context: Context = request.app.state.context
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    query = DecisionQuery(
        rule=rule,
        result=result,
        target=target,
        alertname=alertname,
        since=None if since is None else since.astimezone(UTC),
        before_id=before,
        limit=limit + 1,
    )
    rows = await context.optimizer.store.decisions(query)
    page = rows[:limit]
    items = []
    for decision, action in page:
        item = decision.to_json()
        item["action_state"] = None if action is None else action.to_json()
        items.append(item)
    next_url = None
    if len(rows) > limit and page:
        next_url = str(request.url.include_query_params(before=page[-1][0].id))
    return {"decisions": items, "next": next_url}


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    context: Context = request.app.state.context
    return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    context: Context = request.app.state.context
    return {
        "status": "ok",
        "dry_run": context.optimizer.dry_run,
        "rules": len(context.optimizer.rules.rules),
        "pending": context.optimizer.runner.pending,
    }


def _parse(body: bytes) -> Notification:
    """Parse a webhook body; raise ``ValueError`` with the reason the 400 response gives."""
    try:
        return Notification.model_validate_json(body)
    except ValidationError as error:
        details = error.errors()
    first = details[0]
    if first["type"] == "json_invalid":
        raise ValueError(f"malformed JSON: {first['ctx'].get('error', first['msg'])}") from None
    if first["type"] == "model_type":
        raise ValueError("expected a JSON object, the Alertmanager notification") from None
    version_errors = [detail for detail in details if detail["loc"] == ("version",)]
    if version_errors:
        version = None if version_errors[0]["type"] == "missing" else version_errors[0]["input"]
        raise ValueError(
            f"unsupported webhook version {version!r}; this receiver accepts Alertmanager's "
            'version "4"'
        ) from None
    problems = "; ".join(
        f"{'.'.join(str(step) for step in detail['loc'])}: {detail['msg']}"
        for detail in details[:5]
    )
    raise ValueError(f"invalid notification: {problems}") from None


async def _reject(
    context: Context, received_at: datetime, status: int, reason: str, request: Request
) -> None:
    client = request.client.host if request.client is not None else "unknown"
    context.metrics.webhooks.labels(code=str(status)).inc()
    context.metrics.decisions.labels(rule="none", action="none", result="rejected").inc()
    logger.warning("webhook from %s rejected with %d: %s", client, status, reason)
    rejection = Decision(
        result="rejected",
        reason=f"HTTP {status} to {client}: {reason}",
        received_at=received_at,
        recorded_at=context.clock.now(),
    )
    try:
        await context.optimizer.store.append([rejection])
    except Exception:
        # The rejection is still responded to and counted.
        logger.exception("cannot record the rejection of a webhook from %s", client)


def _summary(decision: Decision) -> dict[str, Any]:
    return {
        "id": decision.id,
        "alertname": decision.alertname,
        "fingerprint": decision.fingerprint,
        "status": decision.alert_status,
        "rule": decision.rule or None,
        "target": decision.target or None,
        "result": decision.result,
        "reason": decision.reason,
    }
