"""Flags of ``leitstand serve``: the variables they set and the worker count they allow."""

from __future__ import annotations

import os

import pytest

from app.server.options import check_database_url, parse_options, resolve_workers


def test_flags_become_leitstand_variables() -> None:
    options = parse_options(
        [
            "--database",
            "sqlite+aiosqlite:///erp.db",
            "--no-cache",
            "--lazy-loading",
            "--no-metrics",
            "--debug-pid-header",
            "--max-workers",
            "6",
        ]
    )
    assert options.environment == {
        "LEITSTAND_DATABASE_URL": "sqlite+aiosqlite:///erp.db",
        "LEITSTAND_WORKERS_MAX": "6",
        "LEITSTAND_CACHE_ENABLED": "false",
        "LEITSTAND_EAGER_LOADING": "false",
        "LEITSTAND_METRICS_ENABLED": "false",
        "LEITSTAND_DEBUG_PID_HEADER": "true",
    }


def test_flags_not_given_leave_the_environment_alone() -> None:
    options = parse_options([])
    assert options.environment == {}
    assert (options.host, options.port, options.workers) == ("127.0.0.1", 8003, None)
    assert options.access_log
    assert options.loop == "auto"


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_invalid_worker_count_exits_with_status_2(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_options(["--workers", value])
    assert exit_info.value.code == 2
    assert f"argument --workers: invalid value {value!r}" in capsys.readouterr().err


def test_resolve_workers_from_flag_and_setting() -> None:
    assert resolve_workers("3", configured=1, minimum=1, maximum=8) == 3
    assert resolve_workers(None, configured=2, minimum=1, maximum=8) == 2


def test_resolve_workers_auto_uses_usable_cpus() -> None:
    usable = len(os.sched_getaffinity(0))
    assert resolve_workers("auto", configured=1, minimum=1, maximum=64) == min(usable, 64)
    assert resolve_workers("auto", configured=1, minimum=1, maximum=1) == 1


def test_resolve_workers_outside_bounds_names_the_fix() -> None:
    with pytest.raises(ValueError, match=r"--workers=9 is outside the allowed range 1 to 8"):
        resolve_workers("9", configured=1, minimum=1, maximum=8)
    with pytest.raises(ValueError, match=r"LEITSTAND_WORKERS=1 is outside the allowed range 2"):
        resolve_workers(None, configured=1, minimum=2, maximum=8)
    with pytest.raises(ValueError, match="lower --min-workers or raise --max-workers"):
        resolve_workers("2", configured=1, minimum=5, maximum=3)


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite:///erp.db", "postgresql+asyncpg://erp:secret@localhost:5432/erp"]
)
def test_async_database_urls_pass(url: str) -> None:
    check_database_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("notaurl", "invalid database URL 'notaurl'"),
        ("sqlite:///erp.db", "driver 'sqlite' is not async"),
        ("postgresql://erp@localhost/erp", "driver 'postgresql' is not async"),
    ],
    ids=["not-a-url", "sync-sqlite", "sync-postgresql"],
)
def test_invalid_database_url_names_the_flag(url: str, message: str) -> None:
    with pytest.raises(ValueError, match="--database / LEITSTAND_DATABASE_URL") as error:
        check_database_url(url)
    assert message in str(error.value)
    assert "sqlite+aiosqlite" in str(error.value)
