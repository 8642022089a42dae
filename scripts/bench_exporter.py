#!/usr/bin/env python3
"""Benchmark the Leitstand exporter against the real node_exporter on this host.

One run starts both exporters on free loopback ports and then:

1. scrapes each once, back to back, and compares the series both report: memory totals must
   be equal, CPU seconds and network bytes within 2 %;
2. scrapes both many times, interleaved and alternating which goes first. Each scrape sends
   Prometheus's Accept and Accept-Encoding headers over a kept-alive connection. The report
   gives the median and spread of each and of the per-round ratio ours / node_exporter.
   Each exporter's own ``process_cpu_seconds_total`` gives its CPU time per scrape, which
   other load on the host changes less than the wall-clock time;
3. scrapes ours while 2,000 short-lived processes start and exit in a watched group, and
   reports the slowest scrape;
4. measures in this process the CPU time of each collector, the encoding and gzip.

With ``--pin`` (the default when the host has two or more cores) both exporters run on the
last core and the client on the first, so that the client does not compete with the
servers. Usage::

    .venv/bin/python scripts/bench_exporter.py --rounds 300
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

# Prometheus 2.42 sends these on every scrape.
SCRAPE_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}

CHURN_MARKER = "bench-churn-marker"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def started(name: str, argv: Sequence[str], url: str, log_dir: Path) -> Iterator[None]:
    """Run a server until the block ends; fail with its log if it does not come up."""
    log = (log_dir / f"{name}.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not respond at {url} within 30 s; see {log.name}")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def series(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _count(value: float | None) -> str:
    return "missing" if value is None else f"{value:.0f}"


def compare(ours: str, theirs: str) -> list[str]:
    """Return report lines on the common series and whether each target holds."""
    our_series, their_series = series(ours), series(theirs)
    common = our_series.keys() & their_series.keys()
    lines = [f"- common series: {len(common)}"]
    ok = True

    for total in ("node_memory_MemTotal_bytes", "node_memory_SwapTotal_bytes"):
        ours_total = our_series.get((total, frozenset()))
        theirs_total = their_series.get((total, frozenset()))
        equal = ours_total is not None and ours_total == theirs_total
        ok &= equal
        lines.append(
            f"- {total}: ours {_count(ours_total)}, node_exporter {_count(theirs_total)} "
            f"({'equal' if equal else 'DIFFERENT'})"
        )

    for label, prefix in (
        ("CPU seconds", "node_cpu_seconds_total"),
        ("network bytes", "node_network_"),
    ):
        worst = 0.0
        count = 0
        for key in common:
            if not key[0].startswith(prefix):
                continue
            if label == "network bytes" and "_bytes_" not in key[0]:
                continue
            reference = their_series[key]
            # A percentage of a counter that is still near zero is meaningless.
            if reference < 1.0:
                continue
            worst = max(worst, abs(our_series[key] - reference) / reference)
            count += 1
        ok &= worst <= 0.02
        lines.append(f"- {label}: {count} series, largest difference {worst:.4%} (target 2 %)")
    lines.append(f"- parity targets met: {'yes' if ok else 'NO'}")
    return lines


def scrape_seconds(client: httpx.Client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url, headers=SCRAPE_HEADERS)
    response.read()
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """Return the 10th, 50th and 90th percentiles."""
    cuts = statistics.quantiles(values, n=10, method="inclusive")
    return cuts[0], statistics.median(values), cuts[-1]


def process_cpu_seconds(client: httpx.Client, url: str) -> float:
    """Read the exporter's own CPU time from the ``process_cpu_seconds_total`` it reports."""
    text = client.get(url).text
    return series(text)[("process_cpu_seconds_total", frozenset())]


def timing(our_url: str, their_url: str, rounds: int) -> list[str]:
    ours: list[float] = []
    theirs: list[float] = []
    with httpx.Client(timeout=30) as our_client, httpx.Client(timeout=30) as their_client:
        for _ in range(5):  # warm-up: first scrapes fill caches on both sides
            scrape_seconds(our_client, our_url)
            scrape_seconds(their_client, their_url)
        our_cpu = process_cpu_seconds(our_client, our_url)
        their_cpu = process_cpu_seconds(their_client, their_url)
        for index in range(rounds):
            if index % 2 == 0:
                theirs.append(scrape_seconds(their_client, their_url))
                ours.append(scrape_seconds(our_client, our_url))
            else:
                ours.append(scrape_seconds(our_client, our_url))
                theirs.append(scrape_seconds(their_client, their_url))
        # The reading scrape itself counts too: rounds + 1 scrapes between the readings.
        our_cpu = (process_cpu_seconds(our_client, our_url) - our_cpu) / (rounds + 1)
        their_cpu = (process_cpu_seconds(their_client, their_url) - their_cpu) / (rounds + 1)
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    lines = [f"- rounds: {rounds}, interleaved, first target alternating"]
    for label, values, unit in (
        ("leitstand exporter", ours, "ms"),
        ("node_exporter", theirs, "ms"),
        ("ratio ours / node_exporter", ratios, ""),
    ):
        low, median, high = quantiles(values)
        scale = 1000.0 if unit else 1.0
        lines.append(
            f"- {label}: median {median * scale:.2f}{unit}, "
            f"p10 {low * scale:.2f}{unit}, p90 {high * scale:.2f}{unit}"
        )
    ratio_of_medians = statistics.median(ours) / statistics.median(theirs)
    lines.append(f"- ratio of medians: {ratio_of_medians:.2f} (target at most 1.0)")
    lines.append(
        f"- CPU per scrape: leitstand exporter {our_cpu * 1000:.2f} ms, "
        f"node_exporter {their_cpu * 1000:.2f} ms"
    )
    return lines


def churn(our_url: str, processes: int) -> list[str]:
    script = f"for i in $(seq {processes}); do /bin/true & done; wait"
    shell = subprocess.Popen(["/bin/bash", "-c", script, CHURN_MARKER])
    durations: list[float] = []
    collector: list[float] = []
    failures = 0
    with httpx.Client(timeout=30) as client:
        while shell.poll() is None:
            start = time.perf_counter()
            text = client.get(our_url, headers={"Accept-Encoding": "identity"}).text
            durations.append(time.perf_counter() - start)
            values = series(text)
            success = values.get(
                ("node_scrape_collector_success", frozenset({("collector", "processes")}))
            )
            failures += success != 1.0
            collector.append(
                values[
                    (
                        "node_scrape_collector_duration_seconds",
                        frozenset({("collector", "processes")}),
                    )
                ]
            )
    shell.wait()
    if not durations:
        return ["- churn: the shell finished before the first scrape"]
    return [
        f"- churn: {processes} short-lived processes, {len(durations)} scrapes meanwhile, "
        f"{failures} with the processes collector failing",
        f"- scrape time during churn: median {statistics.median(durations) * 1000:.1f} ms, "
        f"max {max(durations) * 1000:.1f} ms; processes collector max "
        f"{max(collector) * 1000:.1f} ms",
    ]


class _Families:
    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


def _drain(collector: Any) -> None:
    list(collector.collect())


def in_process_costs(repeats: int = 100) -> list[str]:
    """Measure the CPU time of each collector, the encoding and gzip in this process."""
    import gzip

    from exporters.exposition import encode_text
    from exporters.host import Host
    from exporters.registry import build_collectors, build_registry
    from exporters.server import Endpoints
    from exporters.settings import ExporterSettings

    collectors = build_collectors(ExporterSettings(), Host(), self_pid=os.getpid())
    registry = build_registry(collectors)
    endpoints = Endpoints(registry, [])
    endpoints.respond("/metrics", "gzip")  # the first scrape fills the process caches

    def cpu_ms(action: Callable[[], object]) -> float:
        start = time.process_time()
        for _ in range(repeats):
            action()
        return (time.process_time() - start) / repeats * 1000

    families = list(registry.collect())
    body = encode_text(families)
    costs = [("whole /metrics response", cpu_ms(lambda: endpoints.respond("/metrics", "gzip")))]
    for collector in collectors:
        costs.append((collector.name, cpu_ms(partial(_drain, collector))))
    costs.append(("text encoding", cpu_ms(lambda: encode_text(families))))
    static = CollectorRegistry(auto_describe=False)
    static.register(_Families(families))
    costs.append(
        (
            "prometheus_client's generate_latest, same families",
            cpu_ms(partial(generate_latest, static)),
        )
    )
    costs.append(("gzip", cpu_ms(lambda: gzip.compress(body, compresslevel=1))))
    processes = sum(1 for name in os.listdir("/proc") if name.isdigit())
    lines = [f"- CPU per call over {repeats} calls, {processes} processes on the host:"]
    lines += [f"  - {name}: {ms:.2f} ms" for name, ms in costs]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300, help="interleaved scrape rounds")
    parser.add_argument("--churn", type=int, default=2000, help="short-lived processes (0: skip)")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=(os.cpu_count() or 1) >= 2,
        help="run the exporters on the last core and the client on the first",
    )
    parser.add_argument(
        "--node-exporter", default="/usr/bin/prometheus-node-exporter", help="binary to compare"
    )
    args = parser.parse_args(argv)

    if not Path(args.node_exporter).exists():
        print(f"{args.node_exporter} not found; install prometheus-node-exporter", file=sys.stderr)
        return 2
    taskset = shutil.which("taskset")
    server_prefix: list[str] = []
    if args.pin and taskset is not None:
        last_core = (os.cpu_count() or 1) - 1
        server_prefix = [taskset, "-c", str(last_core)]
        os.sched_setaffinity(0, {0})

    their_port, our_port = free_port(), free_port()
    their_url = f"http://127.0.0.1:{their_port}/metrics"
    our_url = f"http://127.0.0.1:{our_port}/metrics"
    node_argv = [*server_prefix, args.node_exporter, f"--web.listen-address=127.0.0.1:{their_port}"]
    our_argv = [
        *server_prefix,
        sys.executable,
        "-m",
        "leitstand.cli",
        "exporter",
        "--port",
        str(our_port),
        "--process-group",
        r"leitstand=\bleitstand\s+serve\b",
        "--process-group",
        f"churn={CHURN_MARKER}",
    ]

    with tempfile.TemporaryDirectory(prefix="bench-exporter-") as folder:
        log_dir = Path(folder)
        with (
            started("node_exporter", node_argv, their_url, log_dir),
            started("leitstand-exporter", our_argv, our_url, log_dir),
        ):
            with httpx.Client(timeout=30) as client:
                theirs = client.get(their_url).text
                ours = client.get(our_url).text
            lines = [
                f"host: {os.cpu_count()} cores, {'pinned' if server_prefix else 'not pinned'}",
                "",
                "Parity (one scrape each, back to back):",
                *compare(ours, theirs),
                "",
                "Scrape time (gzip, kept-alive connection):",
                *timing(our_url, their_url, args.rounds),
            ]
            if args.churn:
                lines += ["", "Process churn:", *churn(our_url, args.churn)]
            lines += ["", "In process:", *in_process_costs()]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
