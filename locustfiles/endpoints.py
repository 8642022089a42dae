"""The ERP endpoints that load tests call, and the requests that exercise them.

Every request is reported under its route template (``name=``), so Locust's
statistics and the benchmark's histograms keep one entry per route however many
ids the requests touch.

The id ranges follow the app's seed sizes and are read from the same
environment variables (``LEITSTAND_SEED_KUNDEN``, ``LEITSTAND_SEED_ARTIKEL``,
``LEITSTAND_SEED_AUFTRAEGE``), so a load test against a small test database
requests only rows that exist.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

JsonBody = dict[str, Any] | None


class HttpClient(Protocol):
    """The part of Locust's ``HttpSession`` and ``FastHttpSession`` that the endpoints use."""

    def request(self, method: str, url: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class SeedSizes:
    """Row counts of the seeded ERP database; ids run from 1 to the count."""

    kunden: int = 10_000
    artikel: int = 2_000
    auftraege: int = 100_000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SeedSizes:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            kunden=_positive_int(env, "LEITSTAND_SEED_KUNDEN", defaults.kunden),
            artikel=_positive_int(env, "LEITSTAND_SEED_ARTIKEL", defaults.artikel),
            auftraege=_positive_int(env, "LEITSTAND_SEED_AUFTRAEGE", defaults.auftraege),
        )


def _positive_int(env: os._Environ[str] | dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"{name}={raw!r} is not an integer; set it to the seeded row count"
        ) from None
    # A seed size of 0 leaves nothing to request; ids then stay at 1 and get 404.
    return max(value, 1)


RequestBuilder = Callable[[random.Random, SeedSizes], tuple[str, JsonBody]]


@dataclass(frozen=True)
class Endpoint:
    """One route of the ERP API and how to build a request to it."""

    key: str
    method: str
    route: str
    build: RequestBuilder

    def send(
        self,
        client: HttpClient,
        rng: random.Random,
        sizes: SeedSizes,
        context: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request through a Locust client, reported under the route template."""
        path, body = self.build(rng, sizes)
        kwargs: dict[str, Any] = {"name": self.route}
        if body is not None:
            kwargs["json"] = body
        if context is not None:
            kwargs["context"] = context
        return client.request(self.method, path, **kwargs)


# Popular rows: HOT_SHARE of the requests go to the first HOT_FRACTION of the ids
# (and of the list pages), the rest anywhere. Caches then see the repeated reads
# that real users cause, which uniformly random ids would never repeat.
HOT_SHARE = 0.8
HOT_FRACTION = 0.05


def _pick_id(rng: random.Random, rows: int) -> int:
    if rng.random() < HOT_SHARE:
        return rng.randint(1, max(int(rows * HOT_FRACTION), 1))
    return rng.randint(1, rows)


def _page(rng: random.Random, rows: int, limit: int = 50) -> str:
    pages = max(rows // limit, 1)
    if rng.random() < HOT_SHARE:
        page = rng.randrange(max(int(pages * HOT_FRACTION), 1))
    else:
        page = rng.randrange(pages)
    return f"limit={limit}&offset={page * limit}"


def _health(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
    return "/health", None


def _kunden_list(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
    return f"/api/v1/kunden?{_page(rng, sizes.kunden)}", None


def _kunde_detail(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
    return f"/api/v1/kunden/{_pick_id(rng, sizes.kunden)}", None


def _artikel_list(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
    return f"/api/v1/artikel?{_page(rng, sizes.artikel)}", None


def _artikel_detail(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
    return f"/api/v1/artikel/{_pick_id(rng, sizes.artikel)}", None


def _prognose(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
    return f"/api/v1/artikel/{_pick_id(rng, sizes.artikel)}/prognose", None


def _auftraege_list(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
    return f"/api/v1/auftraege?{_page(rng, sizes.auftraege)}", None


def _rechnung_detail(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
    return f"/api/v1/rechnungen/{_pick_id(rng, sizes.auftraege)}", None


def _place_order(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
    # Articles of an order are drawn uniformly, so orders do not empty the stock of
    # the popular articles within one run.
    artikel_ids = rng.sample(range(1, sizes.artikel + 1), k=min(rng.randint(1, 4), sizes.artikel))
    positionen = [{"artikel_id": i, "menge": rng.randint(1, 5)} for i in artikel_ids]
    return "/api/v1/auftraege", {"kunde_id": _pick_id(rng, sizes.kunden), "positionen": positionen}


ENDPOINTS: dict[str, Endpoint] = {
    endpoint.key: endpoint
    for endpoint in (
        Endpoint("health", "GET", "/health", _health),
        Endpoint("kunden-list", "GET", "/api/v1/kunden", _kunden_list),
        Endpoint("kunde-detail", "GET", "/api/v1/kunden/{kunde_id}", _kunde_detail),
        Endpoint("artikel-list", "GET", "/api/v1/artikel", _artikel_list),
        Endpoint("artikel-detail", "GET", "/api/v1/artikel/{artikel_id}", _artikel_detail),
        Endpoint("prognose", "GET", "/api/v1/artikel/{artikel_id}/prognose", _prognose),
        Endpoint("auftraege-list", "GET", "/api/v1/auftraege", _auftraege_list),
        Endpoint("rechnung-detail", "GET", "/api/v1/rechnungen/{rechnung_id}", _rechnung_detail),
        Endpoint("place-order", "POST", "/api/v1/auftraege", _place_order),
    )
}

# The ERP user mix as shares of requests: mostly browsing, some orders and invoices,
# and the occasional expensive forecast.
ERP_MIX: dict[str, int] = {
    "kunden-list": 10,
    "kunde-detail": 20,
    "artikel-list": 10,
    "artikel-detail": 25,
    "auftraege-list": 10,
    "place-order": 8,
    "rechnung-detail": 12,
    "prognose": 5,
}


def path_endpoint(path: str, method: str = "GET") -> Endpoint:
    """Build an endpoint for a fixed path that is not in the catalogue (a test server's route)."""
    if not path.startswith("/"):
        raise ValueError(f"endpoint path {path!r} must start with '/'")
    route = path.split("?", 1)[0]

    def build(rng: random.Random, sizes: SeedSizes) -> tuple[str, JsonBody]:
        return path, None

    return Endpoint(key=path, method=method, route=route, build=build)


def resolve(name: str) -> Endpoint:
    """Return the catalogue endpoint called ``name``, or a fixed-path endpoint for ``/...``."""
    if name.startswith("/"):
        return path_endpoint(name)
    try:
        return ENDPOINTS[name]
    except KeyError:
        known = ", ".join(ENDPOINTS)
        raise ValueError(
            f"unknown endpoint {name!r}; use one of {known}, or a path starting with '/'"
        ) from None
