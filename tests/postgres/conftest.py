"""One throw-away PostgreSQL cluster per test run, seeded with the small test data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.db.setup import prepare_database
from app.settings import Settings
from tests.app.helpers import small_settings
from tests.postgres.cluster import postgres_cluster


@pytest.fixture(scope="session")
def pg_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of an app on a seeded database in a cluster that lives for the session."""
    with postgres_cluster(tmp_path_factory.mktemp("postgres")) as url:
        settings = small_settings(url)
        prepare_database(settings)
        yield settings
