"""Targets and verification through a real Prometheus that scrapes the control API double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_binary
from tests.optimizer.conftest import CONTROL_TOKEN, StartOptimizer, load_payload
from tests.optimizer.doubles import ControlDouble
from tests.support.processes import free_port, running, wait_until

RULES = """
verify_after: 1m
rules:
  - name: add-worker
    alert: LeitstandSaturation
    action: {kind: add, knob: workers, amount: 1, max: 8}
    verify:
      # Holds while the app runs fewer than 3 workers: false after the change.
      query: 'erp_control_value{knob="workers",instance="{{ $labels.instance }}"} < 3'
  - name: shed-on-latency
    alert: LeitstandHighLatency
    action: {kind: set, knob: shed.max_in_flight, value: 32}
    verify:
      # The scrape target stays up, so this never clears.
      query: 'up{instance="{{ $labels.instance }}"} == 1'
"""


@pytest.fixture(scope="module")
def scraped_control() -> Iterator[ControlDouble]:
    double = ControlDouble(CONTROL_TOKEN).start()
    yield double
    double.stop()


@pytest.fixture(scope="module")
def prometheus_url(
    scraped_control: ControlDouble, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    binary = require_binary("prometheus")
    folder = tmp_path_factory.mktemp("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 200ms, scrape_timeout: 150ms}\n"
        "scrape_configs:\n"
        "  - job_name: erp\n"
        f"    static_configs: [{{targets: ['{scraped_control.address}']}}]\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with running("prometheus", argv, Path(folder), ready_url=f"{url}/-/ready"):
        wait_until(
            lambda: _scraped(url, scraped_control.address), timeout=20, what="the first scrape"
        )
        yield url


def _scraped(url: str, instance: str) -> bool:
    query = f'erp_control_value{{knob="workers",instance="{instance}"}}'
    response = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=2)
    return bool(response.json()["data"]["result"])


async def test_job_targets_and_verification_use_prometheus(
    start_optimizer: StartOptimizer, scraped_control: ControlDouble, prometheus_url: str
) -> None:
    async with start_optimizer(rules=RULES, prometheus_url=prometheus_url) as optimizer:
        # The alert names only its job; Prometheus's target list supplies the instance.
        answer = await optimizer.post(load_payload("saturation_job_only"))
        [decision] = answer.json()["decisions"]
        assert decision["result"] == "executed"
        assert decision["target"] == scraped_control.address
        await optimizer.settle()
        assert scraped_control.knobs["workers"].value == 3

        # Wait until Prometheus has scraped the new value, then let the verification run.
        wait_until(
            lambda: not _below_three(prometheus_url, scraped_control.address),
            timeout=10,
            what="a scrape of the new worker count",
        )
        await optimizer.wait_for(lambda: optimizer.clock.sleepers == 1, "the verification wait")
        optimizer.clock.advance(60)
        await optimizer.wait_for(
            lambda: optimizer.context.optimizer.runner.pending == 0, "the verification"
        )
        [executed] = await optimizer.decisions(result="executed")
        assert executed["action_state"]["verification"] == "improved"


async def test_verification_sees_persisting_condition(
    start_optimizer: StartOptimizer, scraped_control: ControlDouble, prometheus_url: str
) -> None:
    payload = load_payload("high_latency_firing", {"127.0.0.1:8003": scraped_control.address})

    async with start_optimizer(rules=RULES, prometheus_url=prometheus_url) as optimizer:
        assert (await optimizer.post(payload)).json()["decisions"][0]["result"] == "executed"
        await optimizer.settle()
        await optimizer.wait_for(lambda: optimizer.clock.sleepers == 1, "the verification wait")
        optimizer.clock.advance(60)
        await optimizer.wait_for(
            lambda: optimizer.context.optimizer.runner.pending == 0, "the verification"
        )

        [executed] = await optimizer.decisions(result="executed")
        assert executed["action_state"]["verification"] == "not_improved"
        assert (
            optimizer.sample("leitstand_optimizer_verifications_total", result="not_improved") == 1
        )


def _below_three(url: str, instance: str) -> bool:
    query = f'erp_control_value{{knob="workers",instance="{instance}"}} < 3'
    response = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=2)
    return bool(response.json()["data"]["result"])
