"""`leitstand up`: every part starts, alerts reach people, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pytest

from tests.live.stack import LiveStack, start_stack
from tests.support.processes import free_port, wait_until


def test_every_target_up(live_stack: LiveStack) -> None:
    answer = httpx.get(live_stack.url("prometheus") + "/api/v1/targets", timeout=5).json()
    jobs = {target["labels"]["job"]: target["health"] for target in answer["data"]["activeTargets"]}
    assert jobs == {
        "erp": "up",
        "node": "up",
        "optimizer": "up",
        "prometheus": "up",
        "alertmanager": "up",
    }


def test_every_url_answers(live_stack: LiveStack) -> None:
    for part, path in [
        ("app", "/api/v1/kunden"),
        ("exporter", "/metrics"),
        ("optimizer", "/decisions"),
        ("alertmanager", "/-/ready"),
        ("locust", "/"),
    ]:
        answer = httpx.get(live_stack.url(part) + path, timeout=10)
        assert answer.status_code == 200, f"{part}{path}: {answer.status_code}"


def test_alert_mail_reaches_catcher(live_stack: LiveStack) -> None:
    now = datetime.now(UTC)
    alert = {
        "labels": {
            "alertname": "LeitstandOptimizerFailing",
            "service": "optimizer",
            "severity": "warning",
            "instance": "mail-test",
        },
        "annotations": {"summary": "mail routing test"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=5)).isoformat(),
    }
    answer = httpx.post(live_stack.url("alertmanager") + "/api/v2/alerts", json=[alert])
    assert answer.status_code == 200

    mail_dir = live_stack.run_dir / "mail"

    def mail_arrived() -> bool:
        return any(
            "mail-test" in path.read_text(errors="replace") for path in mail_dir.glob("*.eml")
        )

    wait_until(mail_arrived, timeout=30, what=f"a mail about mail-test in {mail_dir}")


def test_ctrl_c_leaves_no_process(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "stack", "--no-locust")
    parts = stack.descendants()
    assert len(parts) >= 6

    status = stack.stop()

    assert status == 0, stack.log()
    alive = [process for process in parts if _alive(process)]
    assert alive == [], stack.log()
    assert "stopped 6 parts" in stack.log()


def test_failed_part_stops_the_others(tmp_path: Path) -> None:
    # Nothing listens on this port, so the app cannot open its database.
    database = f"postgresql+asyncpg://leitstand@127.0.0.1:{free_port()}/erp"
    stack = start_stack(tmp_path / "stack", "--no-locust", "--database", database, wait=False)
    wait_until(lambda: stack.proc.poll() is not None, timeout=120, what="up to give up")

    assert stack.proc.returncode == 1
    log = stack.log(200)
    assert "start-up failed: app exited" in log
    assert "last lines of app" in log
    leftovers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(stack.home) in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []


def test_taken_port_named_with_its_holder(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "leitstand",
                "up",
                "--home",
                str(tmp_path),
                "--prometheus-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port} (prometheus) is taken by" in result.stderr
    assert f"(pid {os.getpid()})" in result.stderr
    assert "--prometheus-port" in result.stderr


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--scrape-interval", "0s"], "it must be above 0"),
        (["--threshold-cpu", "150"], "invalid thresholds"),
        (["--alert-for", "5x"], "invalid duration '5x'"),
        (["--retention", "bogus"], "invalid duration 'bogus'"),
        (["--database", "notaurl"], "invalid --database 'notaurl'"),
        (["--workers", "0"], "invalid worker count '0'"),
        (["--prometheus-port", "8003", "--app-port", "8003"], "would share a port: 8003"),
        (["--host", "10.255.255.1"], "no interface of this machine has that address"),
    ],
    ids=["interval", "threshold", "for", "retention", "database", "workers", "ports", "host"],
)
def test_invalid_flags_rejected_before_start(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "leitstand", "up", "--home", str(tmp_path / "home"), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "run").exists()
