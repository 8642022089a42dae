"""``leitstand bench profile``: the same workload against the app with each optimisation
off, on alone, and all on together.

The baseline has no cache, one worker, the plain asyncio loop and lazy loading.
Each step turns one optimisation on (the cache, more workers, uvloop, eager
loading), and the last turns all of them on. For each configuration the
profile starts the app itself (``leitstand serve``) and runs the workload. It
records average response time, throughput, CPU and memory of the app's
processes (psutil), the response time of ``/health`` under load, and database
queries per request (the app's ``/metrics``). The result is a before/after
table in Markdown and JSON, with plots.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from leitstand.bench import appinfo
from leitstand.bench.progress import ProgressBar
from leitstand.bench.report import build_report
from leitstand.bench.run import add_arguments, add_gate_arguments, spec_from_args
from leitstand.bench.runner import run_generator

logger = logging.getLogger("leitstand.bench")


@dataclass(frozen=True)
class Configuration:
    """One way to start the app: which optimisations are on."""

    name: str
    workers: int = 1
    loop: str = "asyncio"
    cache: bool = False
    eager_loading: bool = False

    def serve_flags(self) -> list[str]:
        flags = ["--workers", str(self.workers), "--loop", self.loop]
        if not self.cache:
            flags.append("--no-cache")
        if not self.eager_loading:
            flags.append("--lazy-loading")
        return flags


def configurations(workers: int) -> list[Configuration]:
    """Return the baseline, each optimisation alone, and all of them together."""
    return [
        Configuration("baseline"),
        Configuration("cache", cache=True),
        Configuration(f"{workers} workers", workers=workers),
        Configuration("uvloop", loop="uvloop"),
        Configuration("eager loading", eager_loading=True),
        Configuration("all", workers=workers, loop="uvloop", cache=True, eager_loading=True),
    ]


# row key -> (label, unit, True when a higher value is better)
ROWS: dict[str, tuple[str, str, bool]] = {
    "mean_response_ms": ("average response time", "ms", False),
    "throughput_rps": ("throughput", "req/s", True),
    "cpu_percent": ("CPU under load", "% of a core", False),
    "memory_mib": ("memory (RSS, all processes)", "MiB", False),
    "health_ms": ("/health response time", "ms", False),
    "db_queries_per_request": ("database queries per request", "", False),
}


@dataclass
class ProcessSampler:
    """CPU time and resident memory of a process and its descendants, sampled on demand."""

    pid: int
    cpu_start: float | None = None
    time_start: float | None = None
    cpu_end: float | None = None
    time_end: float | None = None
    rss_max: int = 0

    def _processes(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def sample(self) -> tuple[float, int]:
        """Return the tree's total CPU seconds and resident bytes now."""
        cpu = 0.0
        rss = 0
        for process in self._processes():
            try:
                times = process.cpu_times()
                cpu += times.user + times.system
                rss += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return cpu, rss

    def start(self) -> None:
        self.cpu_start, rss = self.sample()
        self.time_start = time.perf_counter()
        self.rss_max = max(self.rss_max, rss)

    def update(self) -> None:
        self.cpu_end, rss = self.sample()
        self.time_end = time.perf_counter()
        self.rss_max = max(self.rss_max, rss)

    @property
    def cpu_percent(self) -> float | None:
        if None in (self.cpu_start, self.cpu_end, self.time_start, self.time_end):
            return None
        span = float(self.time_end) - float(self.time_start)  # type: ignore[arg-type]
        if span <= 0:
            return None
        return 100.0 * (float(self.cpu_end) - float(self.cpu_start)) / span  # type: ignore[arg-type]


@dataclass
class HealthProbe:
    """Response times of ``/health`` from a second client while the workload runs."""

    url: str
    timings_ms: list[float] = field(default_factory=list)
    failures: int = 0

    def probe(self) -> None:
        started = time.perf_counter()
        try:
            response = httpx.get(f"{self.url}/health", timeout=10.0)
        except httpx.HTTPError:
            self.failures += 1
            return
        if response.status_code != 200:
            self.failures += 1
            return
        self.timings_ms.append((time.perf_counter() - started) * 1000.0)


@contextmanager
def serving(
    configuration: Configuration,
    port: int,
    database: str,
    log_path: Path,
    cpus: set[int] | None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``leitstand serve`` with the configuration's flags until the block ends."""
    argv = [
        sys.executable,
        "-m",
        "leitstand",
        "serve",
        "--port",
        str(port),
        "--database",
        database,
        "--no-access-log",
        "--log-level",
        "warning",
        *configuration.serve_flags(),
    ]

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    with log_path.open("ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin)
        try:
            _wait_ready(f"http://127.0.0.1:{port}", process, log_path)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    # The first start seeds the database, which takes a minute at the default sizes.
    deadline = time.monotonic() + 600.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"leitstand serve exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{url}/ready", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"leitstand serve at {url} was not ready after 600 s; see {log_path}")


def measure(
    configuration: Configuration,
    args: argparse.Namespace,
    database: str,
    output_dir: Path,
    progress: ProgressBar,
    on_ready: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Start the app in ``configuration``, run the workload once, and return its figures.

    ``on_ready`` runs once ``/ready`` returns 200, before any load.
    """
    url = f"http://127.0.0.1:{args.port}"
    server_cpus = set(args.server_cpus) if args.server_cpus else None
    log_path = output_dir / "serve.log"
    with serving(configuration, args.port, database, log_path, server_cpus) as process:
        if on_ready is not None:
            on_ready()
        spec = spec_from_args(args, url=url)
        sampler = ProcessSampler(process.pid)
        health = HealthProbe(url)

        def on_progress(message: dict[str, Any]) -> None:
            progress(message)
            if message.get("phase") != "measure":
                return
            if sampler.cpu_start is None:
                sampler.start()
            else:
                sampler.update()
            health.probe()

        before = appinfo.fetch_metrics(url)
        result = run_generator(spec, on_progress)
        after = appinfo.fetch_metrics(url)
    progress.close()

    report = build_report(result, app=appinfo.describe_run(before, after))
    total = report["total"]
    return {
        "configuration": asdict(configuration),
        "mean_response_ms": total["service_time_us"].get("mean", 0.0) / 1000.0,
        "p99_response_ms": total["service_time_us"].get("p99", 0.0) / 1000.0,
        "throughput_rps": total["throughput_rps"],
        "error_ratio": total["error_ratio"],
        "cpu_percent": sampler.cpu_percent,
        "memory_mib": sampler.rss_max / 2**20,
        "health_ms": statistics.fmean(health.timings_ms) if health.timings_ms else None,
        "health_failures": health.failures,
        "db_queries_per_request": report["app"].get("db_queries_per_request"),
        "cache_hit_ratio": report["app"].get("cache_hit_ratio"),
        "generator_limited": report["generator"]["limited"],
    }


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Reduce the repeats of each configuration to the median and range of every row."""
    summary: dict[str, dict[str, Any]] = {}
    for name, results in runs.items():
        entry: dict[str, Any] = {"repeats": len(results)}
        for key in ROWS:
            values = [r[key] for r in results if r[key] is not None]
            entry[key] = _median(values)
            entry[f"{key}_range"] = [min(values), max(values)] if values else None
        entry["generator_limited"] = any(r["generator_limited"] for r in results)
        entry["error_ratio"] = _median([r["error_ratio"] for r in results])
        summary[name] = entry
    return summary


def improvement(before: float | None, after: float | None, higher_is_better: bool) -> str:
    """Return how much better ``after`` is than ``before``, as a factor and a percentage."""
    if before is None or after is None or before == 0 or after == 0:
        return "-"
    factor = after / before if higher_is_better else before / after
    change = 100.0 * (after / before - 1.0)
    return f"{factor:.2f}x ({change:+.0f} %)"


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def format_table(summary: dict[str, dict[str, Any]]) -> str:
    """Return the before/after table: rows are figures, columns configurations."""
    names = list(summary)
    header = "| | " + " | ".join(names) + " | improvement (all vs baseline) |"
    lines = [header, "| --- | " + " | ".join("---:" for _ in names) + " | ---: |"]
    for key, (label, unit, higher_is_better) in ROWS.items():
        cells = [_cell(summary[name][key]) for name in names]
        title = f"{label} ({unit})" if unit else label
        gain = improvement(
            summary.get("baseline", {}).get(key), summary.get("all", {}).get(key), higher_is_better
        )
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {gain} |")
    repeats = max(summary[name]["repeats"] for name in names)
    if repeats > 1:
        lines += ["", f"Range (min to max) over {repeats} interleaved repeats:", ""]
        lines.append("| | " + " | ".join(names) + " |")
        lines.append("| --- | " + " | ".join("---:" for _ in names) + " |")
        for key, (label, unit, _) in ROWS.items():
            ranges = [summary[name][f"{key}_range"] for name in names]
            cells = ["-" if r is None else f"{_cell(r[0])} to {_cell(r[1])}" for r in ranges]
            title = f"{label} ({unit})" if unit else label
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
    limited = [name for name in names if summary[name]["generator_limited"]]
    if limited:
        lines.append("")
        lines.append(
            "The load generator was the limit in: " + ", ".join(limited) + "; their throughput "
            "is the generator's, not the app's."
        )
    return "\n".join(lines)


def plot_summary(summary: dict[str, dict[str, Any]], path: Path) -> None:
    """Draw one bar chart per row of the table into a single PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    figure, grid = plt.subplots(2, 3, figsize=(14, 7))
    for axes, (key, (label, unit, _)) in zip(grid.flat, ROWS.items(), strict=True):
        values = [summary[name][key] or 0.0 for name in names]
        axes.bar(range(len(names)), values, color="tab:blue")
        axes.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize="small")
        axes.set_title(f"{label} ({unit})" if unit else label, fontsize="medium")
        axes.grid(True, axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _database(database: str | None, output_dir: Path) -> tuple[str, Path | None]:
    """Return the database URL to serve and, for a SQLite file, its path."""
    if database is None:
        database = f"sqlite+aiosqlite:///{(output_dir / 'profile.db').resolve()}"
    prefix = "sqlite+aiosqlite:///"
    if database.startswith(prefix) and ":memory:" not in database:
        return database, Path(database.removeprefix(prefix))
    return database, None


def _copy_sqlite(source: Path, destination: Path) -> None:
    """Copy a SQLite database with SQLite's backup API, which includes a pending WAL."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(destination)) as dst,
    ):
        src.backup(dst)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leitstand bench profile",
        description="Start the app with its optimisations off, each alone, and all on; run "
        "the same workload against each and write the before/after table.",
    )
    add_arguments(parser)
    add_gate_arguments(parser)
    parser.set_defaults(duration=20.0, warmup=5.0, users=20)
    app = parser.add_argument_group("app")
    app.add_argument("--port", type=int, default=8013, help="port for the app (default 8013)")
    app.add_argument(
        "--database",
        help="SQLAlchemy async URL (default: a SQLite file in --output-dir, seeded at first "
        "start and restored before each configuration)",
    )
    app.add_argument(
        "--workers", type=int, default=2, help="worker count of the workers step (default 2)"
    )
    app.add_argument(
        "--steps",
        default="",
        help="comma-separated configuration names to run (default: all of baseline, cache, "
        "N workers, uvloop, eager loading, all)",
    )
    app.add_argument("--repeats", type=int, default=1, help="interleaved repeats (default 1)")
    app.add_argument("--server-cpus", type=int, nargs="*", help="pin the app to these cores")
    app.add_argument("--generator-cpu", type=int, help="pin the load generator to this core")
    app.add_argument(
        "--output-dir", type=Path, default=Path("bench-profile"), help="folder for the results"
    )
    app.add_argument("--no-progress", action="store_true", help="draw no progress bar")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    chosen = configurations(args.workers)
    if args.steps:
        wanted = [s.strip() for s in args.steps.split(",") if s.strip()]
        known = {c.name: c for c in chosen}
        unknown = [s for s in wanted if s not in known]
        if unknown:
            print(
                f"leitstand bench profile: unknown --steps {', '.join(unknown)}; "
                f"choose from {', '.join(known)}",
                file=sys.stderr,
            )
            return 2
        chosen = [known[s] for s in wanted]

    output_dir: Path = args.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    database, db_file = _database(args.database, output_dir)
    progress = ProgressBar(enabled=False if args.no_progress else None)

    pristine: Path | None = None
    if db_file is not None:
        pristine = output_dir / "profile-seeded.db"
        pristine.unlink(missing_ok=True)
    else:
        logger.warning(
            "profile: %s is not a SQLite file, so orders placed by one configuration's run "
            "stay in the database for the next",
            database,
        )

    runs: dict[str, list[dict[str, Any]]] = {c.name: [] for c in chosen}
    for repeat in range(args.repeats):
        for configuration in chosen:
            on_ready = None
            if pristine is not None and db_file is not None:
                if pristine.exists():
                    # Orders placed by one configuration's run must not reach the next.
                    _copy_sqlite(pristine, db_file)
                else:
                    # The first start seeds the database; keep it as it is before any load.
                    on_ready = functools.partial(_copy_sqlite, db_file, pristine)
            logger.info(
                "profile: %s (repeat %d of %d)", configuration.name, repeat + 1, args.repeats
            )
            figures = measure(configuration, args, database, output_dir, progress, on_ready)
            runs[configuration.name].append(figures)

    summary = summarize(runs)
    table = format_table(summary)
    (output_dir / "profile.json").write_text(
        json.dumps({"summary": summary, "runs": runs}, indent=2) + "\n"
    )
    plot_summary(summary, output_dir / "profile.png")
    (output_dir / "profile.md").write_text(
        "# Before and after\n\n" + table + "\n\n![profile](profile.png)\n"
    )
    print(table)
    return 0
