"""Alerts the optimizer raises about itself, posted to Alertmanager's API (``/api/v2/alerts``).

They carry ``service="optimizer"``, which Alertmanager routes to people only,
and the optimizer's own rules never act on them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx


class AlertmanagerError(Exception):
    """Posting to Alertmanager failed; the message names the URL and the cause."""


class AlertmanagerClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str, generator_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._generator_url = generator_url

    async def post_alert(
        self,
        labels: dict[str, str],
        annotations: dict[str, str],
        starts_at: datetime,
        lasts: timedelta,
    ) -> None:
        """Post one alert that resolves by itself after ``lasts`` unless posted again."""
        url = f"{self.base_url}/api/v2/alerts"
        alert = {
            "labels": labels,
            "annotations": annotations,
            "startsAt": starts_at.isoformat(),
            "endsAt": (starts_at + lasts).isoformat(),
            "generatorURL": self._generator_url,
        }
        try:
            response = await self._http.post(url, json=[alert])
        except httpx.HTTPError as error:
            raise AlertmanagerError(f"POST {url} failed: {type(error).__name__}: {error}") from None
        if response.status_code >= 300:
            raise AlertmanagerError(
                f"POST {url} failed with HTTP {response.status_code}: {response.text[:300]}"
            )
