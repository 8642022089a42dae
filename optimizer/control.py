"""Client of the app's control API (``http://{instance}/control``).

Connection errors, timeouts and 5xx responses are retried a bounded number of
times with a doubling backoff. A 4xx response is final, because repeating the same
request cannot change it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

logger = logging.getLogger("leitstand.optimizer.control")


class ControlError(Exception):
    """A control API request failed; the message names the target, the request and the cause."""


@dataclass(frozen=True, slots=True)
class KnobChange:
    """The app's response to a knob change."""

    change_id: str
    knob: str
    value: float
    previous: float | None
    expires_at: datetime | None


class ControlClient:
    """Sends knob changes, reverts and cache clears to app instances."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        *,
        timeout_seconds: float = 5.0,
        retries: int = 2,
        backoff_seconds: float = 0.2,
        requested_by: str = "optimizer",
    ) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout_seconds = timeout_seconds
        self._retries = retries
        self._backoff_seconds = backoff_seconds
        self._requested_by = requested_by

    async def knobs(self, instance: str) -> dict[str, Any]:
        """Return every knob of ``instance`` as the API lists them (value, bounds, change id)."""
        body = await self._request("GET", instance, "/control")
        knobs: dict[str, Any] = body.get("knobs", {})
        return knobs

    async def knob_value(self, instance: str, knob: str) -> float:
        knobs = await self.knobs(instance)
        if knob not in knobs:
            raise ControlError(f"{instance} has no knob {knob!r}; it lists {sorted(knobs)}")
        return float(knobs[knob]["value"])

    async def set_knob(
        self, instance: str, knob: str, value: float, reason: str, ttl_seconds: float | None
    ) -> KnobChange:
        payload: dict[str, Any] = {
            # Whole numbers go out as JSON integers, as whole-number knobs expect.
            "value": int(value) if float(value).is_integer() else value,
            "reason": reason,
            "requested_by": self._requested_by,
        }
        if ttl_seconds is not None:
            payload["ttl_seconds"] = ttl_seconds
        body = await self._request("PUT", instance, f"/control/knobs/{knob}", payload)
        expires_at = body.get("expires_at")
        return KnobChange(
            change_id=str(body["change_id"]),
            knob=str(body.get("knob", knob)),
            value=float(body.get("value", value)),
            previous=None if body.get("previous") is None else float(body["previous"]),
            expires_at=None if expires_at is None else datetime.fromisoformat(expires_at),
        )

    async def revert(self, instance: str, change_id: str, reason: str) -> bool:
        """Revert one change; return false when the app no longer has it in force (409)."""
        try:
            await self._request(
                "POST", instance, f"/control/changes/{change_id}/revert", {"reason": reason}
            )
        except _FinalAnswerError as error:
            if error.status_code == 409:
                return False
            raise
        return True

    async def clear_cache(self, instance: str, cache: str | None, reason: str) -> None:
        await self._request(
            "POST", instance, "/control/cache/clear", {"cache": cache, "reason": reason}
        )

    async def _request(
        self, method: str, instance: str, path: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        url = f"http://{instance}{path}"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    method, url, json=payload, headers=self._headers, timeout=self._timeout_seconds
                )
            except httpx.HTTPError as error:
                cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            else:
                if response.status_code < 400:
                    body: dict[str, Any] = response.json() if response.content else {}
                    return body
                cause = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code < 500:
                    raise _FinalAnswerError(f"{method} {url} failed with {cause}", response)

            if attempt > self._retries:
                raise ControlError(f"{method} {url} failed after {attempt} attempts: {cause}")
            delay = self._backoff_seconds * 2 ** (attempt - 1)
            logger.warning("%s %s failed (%s); retrying in %.1f s", method, url, cause, delay)
            await asyncio.sleep(delay)


class _FinalAnswerError(ControlError):
    """A 4xx response, which no retry can change."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message)
        self.status_code = response.status_code
