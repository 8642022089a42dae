from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.cache import (
    DEFAULT_CONFIGS,
    CacheKnobError,
    CacheRegistry,
    UnknownCacheError,
    cached,
)
from app.settings import Settings
from app.shared_state import SharedState

NAMES = ["kunden", "artikel", "auftraege", "rechnungen", "lager", "prognose"]


@pytest.fixture
def registry(tmp_path: Path) -> CacheRegistry:
    caches = CacheRegistry()
    caches.configure(Settings(state_path=tmp_path / "state"))
    return caches


def test_names_are_the_app_caches(registry: CacheRegistry) -> None:
    assert registry.names() == NAMES
    assert list(DEFAULT_CONFIGS) == NAMES


def test_knob_values_live_in_shared_state(registry: CacheRegistry, tmp_path: Path) -> None:
    assert registry.set_capacity("artikel", 500) == DEFAULT_CONFIGS["artikel"].capacity
    assert registry.set_ttl("artikel", 15) == DEFAULT_CONFIGS["artikel"].ttl_seconds

    state = SharedState(tmp_path / "state")
    assert state.get("cache.artikel.capacity") == 500
    assert state.get("cache.artikel.ttl_seconds") == 15
    assert state.get("cache.artikel.generation") == 2


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        (15, "out of bounds: expected 16 to 1000000 entries"),
        (1_000_001, "out of bounds"),
        (64.5, "expected an integer"),
        (True, "expected an integer"),
    ],
    ids=["below", "above", "fraction", "bool"],
)
def test_capacity_out_of_bounds_is_rejected(
    registry: CacheRegistry, capacity: int, message: str
) -> None:
    with pytest.raises(CacheKnobError, match=message):
        registry.set_capacity("kunden", capacity)
    assert registry.describe()["kunden"]["capacity"] == DEFAULT_CONFIGS["kunden"].capacity


@pytest.mark.parametrize("seconds", [0, 0.5, 86_401, float("nan"), "60"])
def test_ttl_out_of_bounds_is_rejected(registry: CacheRegistry, seconds: float) -> None:
    with pytest.raises(CacheKnobError, match="TTL"):
        registry.set_ttl("kunden", seconds)


def test_bounds_are_inclusive(registry: CacheRegistry) -> None:
    registry.set_capacity("lager", 16)
    registry.set_capacity("lager", 1_000_000)
    registry.set_ttl("lager", 1)
    registry.set_ttl("lager", 86_400)
    assert registry.describe()["lager"]["ttl_seconds"] == 86_400


def test_unknown_cache_names_the_known_ones(registry: CacheRegistry) -> None:
    with pytest.raises(UnknownCacheError, match="unknown cache 'waren': expected one of kunden"):
        registry.clear("waren")
    with pytest.raises(UnknownCacheError):
        registry.set_ttl("waren", 10)


def test_clear_one_and_all(registry: CacheRegistry, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    @cached(registry.get("kunden"))
    def get_kunde(kunde_id: int) -> int:
        calls.append("kunden")
        return kunde_id

    @cached(registry.get("artikel"))
    def get_artikel(artikel_id: int) -> int:
        calls.append("artikel")
        return artikel_id

    get_kunde(1)
    get_artikel(1)
    with caplog.at_level(logging.INFO, logger="leitstand.cache"):
        assert registry.clear("kunden") == ["kunden"]
    assert "cleared caches kunden" in caplog.text
    get_kunde(1)
    get_artikel(1)
    assert calls == ["kunden", "artikel", "kunden"]

    assert registry.clear() == NAMES
    get_kunde(1)
    get_artikel(1)
    assert calls == ["kunden", "artikel", "kunden", "kunden", "artikel"]


def test_describe_reports_every_cache(registry: CacheRegistry) -> None:
    registry.set_ttl("prognose", 600)
    described = registry.describe()
    assert list(described) == NAMES
    assert described["prognose"] == {
        "enabled": True,
        "capacity": DEFAULT_CONFIGS["prognose"].capacity,
        "ttl_seconds": 600.0,
        "negative_ttl_seconds": DEFAULT_CONFIGS["prognose"].negative_ttl_seconds,
        "default_capacity": DEFAULT_CONFIGS["prognose"].capacity,
        "default_ttl_seconds": DEFAULT_CONFIGS["prognose"].ttl_seconds,
        "generation": 1,
        "entries": 0,
    }


def test_configure_switches_caching_off(registry: CacheRegistry, tmp_path: Path) -> None:
    calls: list[int] = []

    @cached(registry.get("lager"))
    def get_bestand(artikel_id: int) -> int:
        calls.append(artikel_id)
        return 3

    get_bestand(1)
    get_bestand(1)
    registry.configure(Settings(state_path=tmp_path / "state", cache_enabled=False))
    get_bestand(1)
    assert calls == [1, 1]
    assert registry.describe()["lager"]["enabled"] is False


def test_configure_rebinds_to_new_state(registry: CacheRegistry, tmp_path: Path) -> None:
    registry.set_capacity("kunden", 64)
    registry.configure(Settings(state_path=tmp_path / "other-state"))
    assert registry.describe()["kunden"]["capacity"] == DEFAULT_CONFIGS["kunden"].capacity
    assert SharedState(tmp_path / "other-state").get("cache.kunden.capacity") == (
        DEFAULT_CONFIGS["kunden"].capacity
    )
