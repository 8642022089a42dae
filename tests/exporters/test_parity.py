"""Parity with the real node_exporter on this host: names, types, labels and values."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from exporters.filters import NETDEV_EXCLUDE
from exporters.host import Host
from exporters.registry import build_collectors, build_registry
from exporters.server import Endpoints, ExporterServer
from exporters.settings import ExporterSettings
from tests.conftest import require_binary
from tests.support.processes import free_port, running

# Families node_exporter reports about itself or its own collectors.
OWN_PREFIXES = ("go_", "process_", "promhttp_", "node_exporter_", "node_scrape_collector_")

REQUIRED = {
    "node_cpu_seconds",
    "node_memory_MemTotal_bytes",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemFree_bytes",
    "node_memory_Buffers_bytes",
    "node_memory_Cached_bytes",
    "node_memory_SwapTotal_bytes",
    "node_memory_SwapFree_bytes",
    "node_load1",
    "node_load5",
    "node_load15",
    "node_network_receive_bytes",
    "node_network_transmit_bytes",
    "node_network_receive_packets",
    "node_network_receive_errs",
    "node_network_receive_drop",
    "node_disk_read_bytes",
    "node_disk_written_bytes",
    "node_disk_reads_completed",
    "node_disk_writes_completed",
    "node_disk_io_time_seconds",
    "node_filesystem_size_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_free_bytes",
    "node_boot_time_seconds",
    "node_time_seconds",
}

# Values that cannot change between two scrapes a few milliseconds apart.
EXACT = {
    "node_memory_MemTotal_bytes",
    "node_memory_SwapTotal_bytes",
    "node_boot_time_seconds",
    "node_filesystem_size_bytes",
    "node_filesystem_files",
    "node_filesystem_readonly",
    "node_uname_info",
}

# Absolute slack for values that move between the two scrapes, on top of 2 % relative.
SLACK = (
    ("node_cpu", 0.5),
    ("node_memory_", 64 * 2**20),
    ("node_network_", 64 * 2**10),
    ("node_disk_", 64 * 2**20),
    ("node_filesystem_files_free", 10_000),
    ("node_filesystem_", 256 * 2**20),
    ("node_load", 0.5),
    ("node_time_seconds", 10.0),
    ("node_procs_", 20.0),
    ("node_", 10_000.0),
)


def families(text: str) -> dict[str, tuple[str, list[Sample]]]:
    return {
        family.name: (family.type, family.samples)
        for family in text_string_to_metric_families(text)
        if not family.name.startswith(OWN_PREFIXES)
    }


def allowed_difference(name: str, reference: float) -> float:
    if name in EXACT:
        return 0.0
    slack = next(amount for prefix, amount in SLACK if name.startswith(prefix))
    return max(slack, 0.02 * abs(reference))


@pytest.fixture(scope="module")
def node_exporter_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_binary("prometheus-node-exporter")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}"]
    with running("node_exporter", argv, tmp_path_factory.mktemp("node"), ready_url=url):
        yield url


@pytest.fixture(scope="module")
def outputs(node_exporter_url: str) -> tuple[str, str]:
    collectors = build_collectors(ExporterSettings(), Host(), self_pid=os.getpid())
    endpoints = Endpoints(build_registry(collectors), [c.name for c in collectors])
    server = ExporterServer(endpoints, "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(timeout=30) as client:
            theirs = client.get(f"{node_exporter_url}/metrics").text
            ours = client.get(f"http://127.0.0.1:{server.port}/metrics").text
    finally:
        server.stop()
    return ours, theirs


def test_common_families_cover_node_exporter_core(outputs: tuple[str, str]) -> None:
    ours, theirs = (families(text) for text in outputs)

    missing = REQUIRED - (ours.keys() & theirs.keys())
    assert missing == set()


def test_types_and_label_names_match(outputs: tuple[str, str]) -> None:
    ours, theirs = (families(text) for text in outputs)

    for name in ours.keys() & theirs.keys():
        our_type, our_samples = ours[name]
        their_type, their_samples = theirs[name]
        assert our_type == their_type, name
        our_labels = {frozenset(s.labels) for s in our_samples}
        their_labels = {frozenset(s.labels) for s in their_samples}
        assert our_labels == their_labels, name


def test_series_match_apart_from_default_exclusions(outputs: tuple[str, str]) -> None:
    ours, theirs = (families(text) for text in outputs)
    excluded = re.compile(NETDEV_EXCLUDE)

    for name in ours.keys() & theirs.keys():
        our_series = {(s.name, frozenset(s.labels.items())) for s in ours[name][1]}
        their_series = {(s.name, frozenset(s.labels.items())) for s in theirs[name][1]}
        assert our_series <= their_series, name
        for _, labels in their_series - our_series:
            device = dict(labels).get("device", "")
            assert name.startswith("node_network_"), (name, dict(labels))
            assert excluded.search(device), (name, dict(labels))


def test_values_within_tolerance(outputs: tuple[str, str]) -> None:
    ours, theirs = (families(text) for text in outputs)
    compared = 0

    for name in ours.keys() & theirs.keys():
        reference = {(s.name, frozenset(s.labels.items())): s.value for s in theirs[name][1]}
        for sample in ours[name][1]:
            key = (sample.name, frozenset(sample.labels.items()))
            if key not in reference:
                continue
            difference = abs(sample.value - reference[key])
            assert difference <= allowed_difference(name, reference[key]), (
                f"{sample.name}{sample.labels}: ours {sample.value}, node_exporter {reference[key]}"
            )
            compared += 1
    assert compared >= 50


def test_promtool_findings_are_node_exporters_own(outputs: tuple[str, str]) -> None:
    promtool = require_binary("promtool")

    def findings(text: str) -> set[str]:
        result = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        return set((result.stdout + result.stderr).splitlines())

    ours, theirs = outputs
    assert findings(ours) - findings(theirs) == set()
