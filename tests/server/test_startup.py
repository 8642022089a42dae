"""Start-up of ``leitstand serve``: errors found before seeding, and stops during it."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.server.serving import LEITSTAND, start_serve
from tests.support.processes import free_port, wait_until

# Large enough that seeding is still running when the test's signal arrives.
SLOW_SEED_ENVIRONMENT = {"LEITSTAND_SEED_KUNDEN": "20000", "LEITSTAND_SEED_AUFTRAEGE": "500000"}


def run_serve(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEITSTAND, "serve", "--port", str(free_port()), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stop_during_seeding_commits_nothing(tmp_path: Path, signum: signal.Signals) -> None:
    server = start_serve(tmp_path, environment=SLOW_SEED_ENVIRONMENT, wait=False)
    try:
        wait_until(lambda: "Seeding" in server.process.log(), timeout=60, what="the seeding")
        server.process.signal(signum)
        status = server.process.proc.wait(30)
    finally:
        server.process.stop()

    log = server.process.log_path.read_text()
    assert status == 0, log
    assert "Stopped preparing the database; its transaction was not committed" in log
    assert f"Received {signum.name} while starting; stopped before serving" in log
    assert "Started worker" not in log
    match = re.search(r"metric files of this instance are in (\S+)", log)
    assert match is not None, log
    assert not Path(match.group(1)).exists()
    with sqlite3.connect(tmp_path / "serve.db") as database:
        tables = database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        assert tables.fetchall() == []
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_invalid_database_url_exits_2(tmp_path: Path) -> None:
    result = run_serve(tmp_path, "--database", "notaurl")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--database / LEITSTAND_DATABASE_URL: invalid database URL 'notaurl'" in lines[0]


def test_unknown_app_exits_before_seeding(tmp_path: Path) -> None:
    database = tmp_path / "erp.db"
    result = run_serve(
        tmp_path, "--app", "nosuch:factory", "--database", f"sqlite+aiosqlite:///{database}"
    )
    assert result.returncode == 2
    assert 'Invalid --app nosuch:factory: Could not import module "nosuch"' in result.stderr
    assert "Seeding" not in result.stderr
    assert not database.exists()
