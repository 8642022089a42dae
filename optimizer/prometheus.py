"""The Prometheus HTTP API calls the optimizer makes: targets of a job, and instant queries."""

from __future__ import annotations

from typing import Any

import httpx

from optimizer.clock import Clock


class PrometheusError(Exception):
    """A Prometheus API call failed; the message names the URL and the cause."""


class PrometheusClient:
    """Finds the instances of a job and evaluates verification queries."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, clock: Clock, targets_ttl_seconds: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._clock = clock
        self._targets_ttl_seconds = targets_ttl_seconds
        self._targets: dict[str, tuple[float, list[str]]] = {}

    async def instances(self, job: str) -> list[str]:
        """Return the ``instance`` of every active target of ``job``, cached for a short while."""
        cached = self._targets.get(job)
        if cached is not None and self._clock.monotonic() - cached[0] < self._targets_ttl_seconds:
            return cached[1]
        data = await self._get("/api/v1/targets", {"state": "active"})
        instances = sorted(
            {
                str(target["labels"]["instance"])
                for target in data.get("activeTargets", [])
                if target.get("labels", {}).get("job") == job
                and target.get("labels", {}).get("instance")
            }
        )
        self._targets[job] = (self._clock.monotonic(), instances)
        return instances

    async def query(self, expression: str) -> list[dict[str, Any]]:
        """Evaluate an instant query and return its samples (empty when nothing matches)."""
        data = await self._get("/api/v1/query", {"query": expression})
        result = data.get("result", [])
        if data.get("resultType") in ("scalar", "string"):
            return [{"metric": {}, "value": result}]
        samples: list[dict[str, Any]] = result
        return samples

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = await self._http.get(url, params=params)
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise PrometheusError(f"GET {url} failed: {type(error).__name__}: {error}") from None
        if response.status_code != 200 or body.get("status") != "success":
            detail = body.get("error", response.text[:300])
            raise PrometheusError(f"GET {url} failed with HTTP {response.status_code}: {detail}")
        data: dict[str, Any] = body["data"]
        return data
