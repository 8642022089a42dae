"""The real ``leitstand optimizer`` process: tokens, webhook, audit, metrics, escalation."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.conftest import require_binary
from tests.optimizer.conftest import CONTROL_TOKEN, STORED_INSTANCE, load_payload
from tests.optimizer.doubles import (
    ControlDouble,
    JsonStub,
    prometheus_targets,
    prometheus_vector,
)
from tests.support.processes import free_port, running, wait_until

LEITSTAND = str(Path(sys.executable).with_name("leitstand"))

# Real time here: verification one second after the action, escalation at the first failure.
RULES = """
escalation: {max_failed_attempts: 1, window: 10m}
verify_after: 1s
rules:
  - name: degrade-on-high-latency
    alert: LeitstandHighLatency
    action: {kind: set, knob: degraded, value: 1}
    on_resolved: revert
"""

ALERTMANAGER_CONFIG = """
route:
  receiver: people
receivers:
  - name: people
"""


def clean_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEITSTAND_")}
    return {**environment, **extra}


def test_process_acts_and_escalates(tmp_path: Path, control: ControlDouble) -> None:
    promtool = require_binary("promtool")
    alertmanager_binary = require_binary("prometheus-alertmanager")
    prometheus = JsonStub().start()
    prometheus.routes["/api/v1/query"] = prometheus_vector([{"alertname": "LeitstandHighLatency"}])
    prometheus.routes["/api/v1/targets"] = prometheus_targets("erp", [control.address])
    (tmp_path / "rules.yml").write_text(RULES)
    (tmp_path / "alertmanager.yml").write_text(ALERTMANAGER_CONFIG)
    (tmp_path / "control.token").write_text(CONTROL_TOKEN + "\n")
    alertmanager_port, port = free_port(), free_port()
    alertmanager_url = f"http://127.0.0.1:{alertmanager_port}"
    url = f"http://127.0.0.1:{port}"
    alertmanager_argv = [
        alertmanager_binary,
        f"--config.file={tmp_path / 'alertmanager.yml'}",
        f"--storage.path={tmp_path / 'alertmanager'}",
        f"--web.listen-address=127.0.0.1:{alertmanager_port}",
        "--cluster.listen-address=",
    ]
    optimizer_argv = [
        LEITSTAND,
        "optimizer",
        f"--port={port}",
        f"--rules={tmp_path / 'rules.yml'}",
        f"--state={tmp_path / 'state' / 'audit.db'}",
        f"--prometheus-url={prometheus.url}",
        f"--alertmanager-url={alertmanager_url}",
    ]
    environment = clean_environment(LEITSTAND_CONTROL_TOKEN_FILE=str(tmp_path / "control.token"))
    try:
        with (
            running(
                "alertmanager", alertmanager_argv, tmp_path, ready_url=f"{alertmanager_url}/-/ready"
            ),
            running(
                "optimizer", optimizer_argv, tmp_path, ready_url=f"{url}/health", env=environment
            ) as optimizer,
        ):
            # No webhook token was given: the process wrote one beside the audit.
            token_file = tmp_path / "state" / "webhook.token"
            token = token_file.read_text().strip()
            log = optimizer.log(tail=200)
            assert f"wrote it to {token_file}" in log
            assert token not in log
            assert oct(token_file.stat().st_mode & 0o777) == "0o600"

            payload = load_payload("high_latency_firing", {STORED_INSTANCE: control.address})
            # The process runs on the real clock, so the alert must have started recently.
            payload["alerts"][0]["startsAt"] = datetime.now(UTC).isoformat()
            unauthorized = httpx.post(f"{url}/webhook", json=payload, timeout=5)
            answer = httpx.post(
                f"{url}/webhook",
                json=payload,
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            assert unauthorized.status_code == 401
            assert answer.status_code == 200
            assert answer.json()["decisions"][0]["result"] == "executed"

            wait_until(lambda: _escalated(alertmanager_url), timeout=15, what="the escalation")
            assert control.knobs["degraded"].value == 1
            executed = httpx.get(f"{url}/decisions", params={"result": "executed"}, timeout=5)
            [decision] = executed.json()["decisions"]
            assert decision["action_state"]["verification"] == "not_improved"

            metrics = httpx.get(f"{url}/metrics", timeout=5).text
            assert 'leitstand_optimizer_escalations_total{rule="degrade-on-high-latency"} 1.0' in (
                metrics
            )
            check = subprocess.run(
                [promtool, "check", "metrics"],
                input=metrics,
                capture_output=True,
                text=True,
                check=False,
            )
            assert check.returncode == 0, check.stderr
            assert check.stderr == ""

            # uvicorn shuts down cleanly on SIGTERM, then ends by that signal (-15).
            optimizer.stop()
            assert optimizer.proc.returncode in (0, -signal.SIGTERM)
            log = optimizer.log_path.read_text()
            assert "Application shutdown complete" in log
            assert '"POST /webhook HTTP/1.1" 200' in log
            assert '"GET /metrics HTTP/1.1"' not in log  # polling stays out of the access log
            assert "ERROR    leitstand.optimizer.actions: 1 failed attempts on" in log
    finally:
        prometheus.stop()


def _escalated(alertmanager_url: str) -> bool:
    alerts = httpx.get(f"{alertmanager_url}/api/v2/alerts", timeout=2).json()
    return any(
        alert["labels"].get("alertname") == "LeitstandOptimizerFailing"
        and alert["labels"].get("service") == "optimizer"
        for alert in alerts
    )


def test_invalid_rules_stop_the_start(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n  - name: x\n    alert: A\n    action: {kind: set, knob: nope}\n")

    result = subprocess.run(
        [LEITSTAND, "optimizer", f"--rules={rules}", f"--state={tmp_path / 'audit.db'}"],
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert f"{rules}:4: rules[0].action.knob: unknown knob 'nope'" in result.stderr
    assert f"{rules}:4: rules[0].action.value: missing required field 'value'" in result.stderr


def test_taken_port_stops_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [LEITSTAND, "optimizer", f"--port={port}", f"--state={tmp_path / 'state' / 'a.db'}"],
            capture_output=True,
            text=True,
            env=clean_environment(),
            timeout=60,
            check=False,
        )

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"cannot listen on 127.0.0.1 port {port}: Address already in use" in result.stderr
    assert "--port" in result.stderr
    assert not (tmp_path / "state").exists()
