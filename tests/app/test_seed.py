"""Seeding: the same seed gives the same rows, and the rows are consistent."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.db.models import Base
from app.db.seed import SeedSizes, generate
from app.db.setup import prepare_database
from tests.app.helpers import SEED_ARTIKEL, SEED_AUFTRAEGE, SEED_KUNDEN, small_settings, sqlite_url

END = datetime(2026, 3, 2, tzinfo=UTC)
SIZES = SeedSizes(kunden=30, artikel=12, auftraege=250)
TABLES = ("kunden", "artikel", "auftraege", "auftragspositionen", "rechnungen", "lagerbewegungen")


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()  # noqa: S608
            for table in TABLES
        }


def test_generate_same_seed_same_rows() -> None:
    first = [(batch.table, batch.rows) for batch in generate(SIZES, seed=3, end=END)]
    second = [(batch.table, batch.rows) for batch in generate(SIZES, seed=3, end=END)]

    assert first == second


def test_generate_other_seed_other_rows() -> None:
    first = [batch.rows for batch in generate(SIZES, seed=3, end=END)]
    second = [batch.rows for batch in generate(SIZES, seed=4, end=END)]

    assert first != second


def test_prepare_same_seed_same_database(tmp_path: Path) -> None:
    paths = [tmp_path / "a.db", tmp_path / "b.db"]
    for path in paths:
        prepare_database(small_settings(sqlite_url(path)), end=END)

    first, second = dump(paths[0]), dump(paths[1])
    assert first == second
    assert len(first["kunden"]) == SEED_KUNDEN
    assert len(first["artikel"]) == SEED_ARTIKEL
    assert len(first["auftraege"]) == SEED_AUFTRAEGE
    assert len(first["rechnungen"]) == SEED_AUFTRAEGE


def test_stock_equals_sum_of_movements(seeded_template: Path) -> None:
    with sqlite3.connect(seeded_template) as connection:
        mismatched = connection.execute(
            "SELECT a.id, a.bestand, COALESCE(SUM(b.menge), 0) FROM artikel a "
            "LEFT JOIN lagerbewegungen b ON b.artikel_id = a.id "
            "GROUP BY a.id HAVING a.bestand <> COALESCE(SUM(b.menge), 0)"
        ).fetchall()
        negative = connection.execute("SELECT COUNT(*) FROM artikel WHERE bestand < 0").fetchone()

    assert mismatched == []
    assert negative == (0,)


def test_order_totals_match_lines_and_invoices(seeded_template: Path) -> None:
    with sqlite3.connect(seeded_template) as connection:
        wrong_totals = connection.execute(
            "SELECT o.id FROM auftraege o JOIN auftragspositionen p ON p.auftrag_id = o.id "
            "GROUP BY o.id HAVING o.gesamt_cent <> SUM(p.menge * p.einzelpreis_cent)"
        ).fetchall()
        wrong_invoices = connection.execute(
            "SELECT o.id FROM auftraege o LEFT JOIN rechnungen r ON r.auftrag_id = o.id "
            "WHERE r.id IS NULL OR r.betrag_cent <> o.gesamt_cent OR r.kunde_id <> o.kunde_id"
        ).fetchall()
        cancelled_invoices = connection.execute(
            "SELECT COUNT(*) FROM auftraege o JOIN rechnungen r ON r.auftrag_id = o.id "
            "WHERE (o.status = 'storniert') <> (r.status = 'storniert')"
        ).fetchone()

    assert wrong_totals == []
    assert wrong_invoices == []
    assert cancelled_invoices == (0,)


def test_prepare_leaves_seeded_database_alone(
    database_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = dump(database_path)
    with caplog.at_level(logging.INFO, logger="leitstand.db"):
        prepare_database(small_settings(sqlite_url(database_path), seed=99))

    assert dump(database_path) == before
    assert "is already seeded" in caplog.text


def test_prepare_creates_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "erp.db"
    prepare_database(
        small_settings(sqlite_url(path), seed_kunden=2, seed_artikel=2, seed_auftraege=3)
    )

    assert len(dump(path)["auftraege"]) == 3


def test_orders_without_customers_rejected() -> None:
    with pytest.raises(ValueError, match="LEITSTAND_SEED_KUNDEN"):
        SeedSizes(kunden=0, artikel=5, auftraege=10)


def test_seeded_database_has_every_index(seeded_template: Path) -> None:
    expected = {index.name for table in Base.metadata.sorted_tables for index in table.indexes}
    with sqlite3.connect(seeded_template) as connection:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()

    assert {name for (name,) in rows} == expected
