"""The ERP request builders: valid bodies, ids that exist, a skew towards popular rows."""

from __future__ import annotations

import random
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from app.schemas.auftraege import AuftragCreate
from app.schemas.common import ListQuery
from locustfiles.endpoints import ENDPOINTS, ERP_MIX, SeedSizes, resolve

SIZES = SeedSizes(kunden=400, artikel=60, auftraege=1000)


@pytest.mark.parametrize("key", sorted(ENDPOINTS))
def test_requests_stay_within_seeded_rows(key: str) -> None:
    endpoint = ENDPOINTS[key]
    rng = random.Random(1)
    limits = {"kunden": SIZES.kunden, "artikel": SIZES.artikel, "rechnungen": SIZES.auftraege}

    for _ in range(500):
        path, body = endpoint.build(rng, SIZES)
        parts = urlsplit(path)
        match = re.fullmatch(r"/api/v1/(\w+)/(\d+)(/prognose)?", parts.path)
        if match:
            assert 1 <= int(match.group(2)) <= limits[match.group(1)]
        if parts.query:
            params = {name: values[0] for name, values in parse_qs(parts.query).items()}
            query = ListQuery.model_validate(params)
            assert query.offset < max(SIZES.kunden, SIZES.artikel, SIZES.auftraege)
        if body is not None:
            order = AuftragCreate.model_validate(body)
            assert 1 <= order.kunde_id <= SIZES.kunden
            assert all(1 <= p.artikel_id <= SIZES.artikel for p in order.positionen)


def test_popular_ids_get_most_requests() -> None:
    rng = random.Random(2)
    hot_limit = int(SIZES.kunden * 0.05)

    ids = [
        int(ENDPOINTS["kunde-detail"].build(rng, SIZES)[0].rsplit("/", 1)[1]) for _ in range(4000)
    ]

    hot = sum(1 for i in ids if i <= hot_limit) / len(ids)
    assert 0.78 < hot < 0.86
    assert max(ids) > hot_limit


def test_mix_uses_catalogue_keys() -> None:
    assert set(ERP_MIX) <= set(ENDPOINTS)


def test_resolve_path_and_unknown_name() -> None:
    endpoint = resolve("/delay/500")

    assert endpoint.route == "/delay/500"
    assert endpoint.method == "GET"
    with pytest.raises(ValueError, match="unknown endpoint 'kunde'"):
        resolve("kunde")
