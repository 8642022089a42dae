"""``leitstand serve`` as a user runs it: workers, signals, scaling and metrics."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.server.serving import LEITSTAND, TEST_APP, Serve, start_serve
from tests.support.processes import free_port, wait_until

pytestmark = pytest.mark.slow


def worker_pids(serve: Serve) -> set[int]:
    return {child.pid for child in psutil.Process(serve.process.pid).children()}


def run_folder(serve: Serve) -> Path:
    match = re.search(r"metric files of this instance are in (\S+)", serve.process.log(400))
    assert match is not None, serve.process.log()
    return Path(match.group(1))


def wait_for_workers(serve: Serve, count: int) -> set[int]:
    wait_until(lambda: len(worker_pids(serve)) == count, timeout=30, what=f"{count} workers")
    return worker_pids(serve)


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    tmp_path = tmp_path_factory.mktemp("serve")
    server = start_serve(
        tmp_path,
        "--workers",
        "2",
        "--max-workers",
        "3",
        "--debug-pid-header",
        "--app",
        TEST_APP,
    )
    try:
        yield server
    finally:
        server.process.stop()


def test_every_response_names_a_worker(serve: Serve) -> None:
    workers = wait_for_workers(serve, 2)
    response = serve.get("/health")
    assert response.status_code == 200
    assert int(response.headers["x-leitstand-worker-pid"]) in workers


def test_killed_worker_is_replaced_and_its_series_vanish(serve: Serve) -> None:
    workers = wait_for_workers(serve, 2)
    for _ in range(20):
        assert serve.get("/api/v1/artikel").status_code == 200
    wait_until(
        lambda: (
            sum(1 for (name, _), _ in serve.samples().items() if name == "leitstand_test_worker_up")
            == 2
        ),
        what="both workers' gauges",
    )
    before = serve.samples()
    requests_key = (
        "http_requests_total",
        frozenset({"handler": "/api/v1/artikel", "method": "GET", "status": "200"}.items()),
    )

    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    replaced = wait_until_replaced(serve, victim)

    after = serve.samples()
    worker_up_pids = {
        dict(labels)["pid"] for (name, labels) in after if name == "leitstand_test_worker_up"
    }
    assert worker_up_pids == {str(pid) for pid in replaced}
    assert after[requests_key] == before[requests_key]
    assert not list((run_folder(serve) / "metrics").glob(f"*_{victim}.db"))
    assert f"Worker [{victim}] was killed by SIGKILL; starting a replacement" in serve.process.log(
        400
    )


def wait_until_replaced(serve: Serve, victim: int) -> set[int]:
    def replaced() -> bool:
        pids = worker_pids(serve)
        return len(pids) == 2 and victim not in pids

    wait_until(replaced, timeout=30, what=f"a replacement for worker {victim}")
    # The replacement's gauge appears once its lifespan has run.
    wait_until(
        lambda: (
            {
                dict(labels)["pid"]
                for (name, labels) in serve.samples()
                if name == "leitstand_test_worker_up"
            }
            == {str(pid) for pid in worker_pids(serve)}
        ),
        what="the replacement's gauge",
    )
    return worker_pids(serve)


def test_ttin_and_ttou_change_the_count_within_bounds(serve: Serve) -> None:
    wait_for_workers(serve, 2)
    serve.process.signal(signal.SIGTTIN)
    wait_for_workers(serve, 3)
    serve.process.signal(signal.SIGTTIN)
    wait_until(
        lambda: (
            "SIGTTIN: keeping 3 workers, the bound set by LEITSTAND_WORKERS_MAX"
            in serve.process.log(400)
        ),
        what="the bound warning",
    )
    assert len(worker_pids(serve)) == 3

    serve.process.signal(signal.SIGTTOU)
    wait_for_workers(serve, 2)
    assert serve.samples()[("erp_workers", frozenset())] == 2


def test_worker_count_requested_through_shared_state(serve: Serve) -> None:
    wait_for_workers(serve, 2)
    response = httpx_put(serve, "/test/workers/1")
    assert response == 200
    wait_for_workers(serve, 1)
    wait_until(lambda: serve.samples()[("erp_workers", frozenset())] == 1, what="erp_workers 1")

    assert httpx_put(serve, "/test/workers/9") == 200
    wait_for_workers(serve, 3)
    assert "Requested 9 workers, outside the allowed 1 to 3; running 3" in serve.process.log(400)

    assert httpx_put(serve, "/test/workers/2") == 200
    wait_for_workers(serve, 2)


def httpx_put(serve: Serve, path: str) -> int:
    import httpx

    return httpx.put(serve.url + path, timeout=10).status_code


def test_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [LEITSTAND, "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in lines[0]
    assert "--auto-port" in lines[0]


def test_auto_port_then_sigint(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        holder.listen()
        port = holder.getsockname()[1]
        server = start_serve(tmp_path, "--auto-port", port=port, wait=False)
        try:
            wait_until(lambda: "instead" in server.process.log(), what="the port message")
            match = re.search(
                rf"Port {port} is in use; using port (\d+) instead", server.process.log()
            )
            assert match is not None, server.process.log()
            chosen = Serve(server.process, int(match.group(1)))
            wait_until(lambda: http_status(chosen, "/health") == 200, what="the chosen port")

            server.process.signal(signal.SIGINT)
            assert server.process.proc.wait(30) == 0
        finally:
            server.process.stop()
    assert "Received SIGINT; stopping the workers gracefully" in server.process.log_path.read_text()


def http_status(serve: Serve, path: str) -> int:
    try:
        return serve.get(path).status_code
    except Exception:
        return 0


def test_sigterm_lets_requests_in_flight_finish(tmp_path: Path) -> None:
    server = start_serve(tmp_path, "--workers", "1", "--app", TEST_APP)
    folder = run_folder(server)
    statuses: list[int] = []
    request = threading.Thread(
        target=lambda: statuses.append(server.get("/test/sleep?seconds=1.5").status_code)
    )
    try:
        request.start()
        wait_until(
            lambda: server.samples()[("http_requests_in_flight", frozenset())] >= 2,
            what="the slow request in flight",
        )
        server.process.signal(signal.SIGTERM)
        request.join(30)
        assert server.process.proc.wait(30) == 0
    finally:
        server.process.stop()

    assert statuses == [200]
    assert not folder.exists()
    log = server.process.log_path.read_text()
    assert "Received SIGTERM; stopping the workers gracefully" in log
    assert "Stopped supervisor process" in log


def test_failing_app_startup_stops_with_status_3(tmp_path: Path) -> None:
    server = start_serve(tmp_path, "--app", "tests.server.apps:create_failing_app", wait=False)
    try:
        assert server.process.proc.wait(60) == 3
    finally:
        server.process.stop()
    log = server.process.log_path.read_text()
    assert "failed to start (see the error above); stopping the server" in log
    assert log.count("Started worker") == 1


def test_hung_worker_is_killed_and_replaced(tmp_path: Path) -> None:
    server = start_serve(tmp_path, "--worker-timeout", "3", "--app", TEST_APP)
    try:
        (worker,) = wait_for_workers(server, 1)
        heartbeat = run_folder(server) / "heartbeats" / str(worker)
        wait_until(heartbeat.exists, what="the first heartbeat")

        os.kill(worker, signal.SIGSTOP)  # a worker whose event loop never runs again
        wait_until(lambda: worker not in worker_pids(server), timeout=30, what="the kill")
        (replacement,) = wait_for_workers(server, 1)
        wait_until(lambda: http_status(server, "/health") == 200, what="the replacement")
    finally:
        server.process.stop()
    log = server.process.log_path.read_text()
    assert f"Worker [{worker}] sent no heartbeat for" in log
    assert replacement != worker
