"""``leitstand rules``: render the Prometheus rule files from the thresholds file.

Writes ``rules/recording.yml`` and ``rules/alerts.yml`` (plain Prometheus rule
files) and ``kubernetes/prometheusrule.yaml`` (the same groups as a
Prometheus Operator resource) into ``--out``, the checked-in ``prometheus/``
folder by default. Threshold flags, another thresholds file or another scrape
interval make a variant, which goes to another folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from leitstand.alert_rules import alert_groups
from leitstand.durations import format_duration, parse_duration
from leitstand.promconfig import PROMETHEUS_DIR
from leitstand.recording_rules import recording_groups
from leitstand.rule_timing import RuleTiming
from leitstand.thresholds import Thresholds, ThresholdsError, load_thresholds
from leitstand.yamltext import dump_yaml

DEFAULT_THRESHOLDS = PROMETHEUS_DIR / "thresholds.yml"

RECORDING_FILE = Path("rules/recording.yml")
ALERTS_FILE = Path("rules/alerts.yml")
PROMETHEUS_RULE_FILE = Path("kubernetes/prometheusrule.yaml")

# flag -> (alert, field, help); each sets one threshold of the thresholds file.
THRESHOLD_FLAGS: dict[str, tuple[str, str, str]] = {
    "--threshold-cpu": ("LeitstandHostHighCpu", "threshold_percent", "busy host CPU, percent"),
    "--threshold-memory": (
        "LeitstandHostHighMemory",
        "threshold_percent",
        "host memory in use, percent",
    ),
    "--threshold-disk": (
        "LeitstandHostLowDisk",
        "threshold_percent",
        "free filesystem space, percent; the alert fires below it",
    ),
    "--threshold-latency": (
        "LeitstandHighLatency",
        "threshold_seconds",
        "latency quantile of an instance, seconds",
    ),
    "--threshold-error-ratio": (
        "LeitstandHighErrorRatio",
        "threshold_percent",
        "share of 5xx responses of an instance, percent",
    ),
    "--threshold-saturation": (
        "LeitstandSaturation",
        "threshold_percent",
        "in-flight requests per in-flight limit, percent",
    ),
    "--threshold-cache-hit-ratio": (
        "LeitstandCacheHitRatioLow",
        "threshold_percent",
        "cache hits per lookup, percent; the alert fires below it",
    ),
}


def build_groups(thresholds: Thresholds, timing: RuleTiming) -> dict[str, list[dict[str, Any]]]:
    return {
        "recording": recording_groups(thresholds, timing),
        "alerts": alert_groups(thresholds, timing),
    }


def render_rule_files(thresholds: Thresholds, timing: RuleTiming, origin: str) -> dict[Path, str]:
    """Return the text of each rendered file by its path relative to the output folder.

    ``origin`` goes into the header of every file: the command and thresholds
    file that produced it, e.g. ``leitstand rules from thresholds.yml``.
    """
    groups = build_groups(thresholds, timing)
    header = (
        f"# Rendered by {origin}.\n"
        "# Do not edit: change the thresholds file and render again (docs/alerts.md).\n"
    )
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "leitstand",
            "labels": {
                "app.kubernetes.io/name": "leitstand",
                "app.kubernetes.io/component": "alerting",
                "app.kubernetes.io/part-of": "leitstand",
            },
        },
        "spec": {"groups": groups["recording"] + groups["alerts"]},
    }
    return {
        RECORDING_FILE: header + dump_yaml({"groups": groups["recording"]}),
        ALERTS_FILE: header + dump_yaml({"groups": groups["alerts"]}),
        PROMETHEUS_RULE_FILE: header + dump_yaml(resource),
    }


def render_rules(
    out_dir: Path,
    *,
    thresholds_path: Path = DEFAULT_THRESHOLDS,
    scrape_interval: str | None = None,
    max_for: str | None = None,
    overrides: dict[str, dict[str, float]] | None = None,
) -> list[Path]:
    """Write the rule files into ``out_dir`` and return the paths of the two rule files.

    ``scrape_interval`` and ``max_for`` are Prometheus durations (``1s``);
    ``overrides`` maps an alert name to the fields it changes, e.g.
    ``{"LeitstandHostHighCpu": {"threshold_percent": 90}}``. The returned paths
    are the ``rule_files`` of a Prometheus configuration.
    """
    thresholds = apply_overrides(load_thresholds(thresholds_path), overrides or {})
    timing = RuleTiming(
        base_scrape_ms=thresholds.scrape_interval,
        scrape_ms=(
            parse_duration(scrape_interval)
            if scrape_interval is not None
            else thresholds.scrape_interval
        ),
        max_for_ms=parse_duration(max_for) if max_for is not None else None,
    )
    origin = _origin(thresholds_path, timing, thresholds.scrape_interval, overrides or {})
    for relative, text in render_rule_files(thresholds, timing, origin).items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [out_dir / RECORDING_FILE, out_dir / ALERTS_FILE]


def apply_overrides(thresholds: Thresholds, overrides: dict[str, dict[str, float]]) -> Thresholds:
    """Return the thresholds with some alert fields replaced, validated like the file."""
    if not overrides:
        return thresholds
    data = thresholds.model_dump(by_alias=True)
    for alert, fields in overrides.items():
        if alert not in data["alerts"]:
            raise ThresholdsError(
                f"unknown alert {alert!r} in the overrides; expected one of "
                f"{sorted(data['alerts'])}"
            )
        data["alerts"][alert].update(fields)
    try:
        return Thresholds.model_validate(data)
    except ValidationError as error:
        flags = {(alert, field): flag for flag, (alert, field, _) in THRESHOLD_FLAGS.items()}
        problems = []
        for item in error.errors():
            location = tuple(str(part) for part in item["loc"])
            key = ".".join(location)
            flag = None
            if len(location) >= 3 and location[0] == "alerts":
                flag = flags.get((location[1], location[2]))
            given = f"{flag} {item['input']}" if flag else key
            problems.append(f"invalid {given}: {item['msg']} ({key})")
        raise ThresholdsError("\n".join(problems)) from None


def _origin(
    thresholds_path: Path,
    timing: RuleTiming,
    base_scrape_ms: int,
    overrides: dict[str, dict[str, float]],
) -> str:
    words = ["leitstand rules"]
    source = "prometheus/thresholds.yml"
    if thresholds_path.resolve() != DEFAULT_THRESHOLDS:
        words += ["--thresholds", thresholds_path.name]
        source = thresholds_path.name
    if timing.scrape_ms != base_scrape_ms:
        words += ["--scrape-interval", format_duration(timing.scrape_ms)]
    if timing.max_for_ms is not None:
        words += ["--for", format_duration(timing.max_for_ms)]
    for alert, fields in sorted(overrides.items()):
        for field, value in sorted(fields.items()):
            words.append(f"{alert}.{field}={value:g}")
    return f"`{' '.join(words)}` from {source}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leitstand rules",
        description="Render the Prometheus recording and alert rules, and the same groups "
        "as a Kubernetes PrometheusRule, from the thresholds file.",
    )
    parser.add_argument(
        "--thresholds",
        type=Path,
        default=DEFAULT_THRESHOLDS,
        metavar="FILE",
        help="thresholds file to render (default: prometheus/thresholds.yml)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder to write rules/ and kubernetes/ into (default: the checked-in "
        "prometheus/ folder; variants need another one)",
    )
    parser.add_argument(
        "--scrape-interval",
        metavar="DURATION",
        help="scrape interval the rules run with, e.g. 1s; every range and `for` is "
        "scaled from the thresholds file's interval, ranges to at least four intervals",
    )
    parser.add_argument(
        "--for",
        dest="max_for",
        metavar="DURATION",
        help="longest `for` of any alert, e.g. 10s; longer ones are shortened to it",
    )
    for flag, (alert, field, text) in THRESHOLD_FLAGS.items():
        parser.add_argument(flag, type=float, metavar="NUMBER", help=f"{text} ({alert}.{field})")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the files in --out differ from a fresh rendering",
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)

    overrides: dict[str, dict[str, float]] = {}
    for flag, (alert, field, _) in THRESHOLD_FLAGS.items():
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value is not None:
            overrides.setdefault(alert, {})[field] = value
    variant = bool(
        overrides
        or args.scrape_interval
        or args.max_for
        or args.thresholds.resolve() != DEFAULT_THRESHOLDS
    )
    out_dir: Path = args.out if args.out is not None else PROMETHEUS_DIR
    if variant and out_dir.resolve() == PROMETHEUS_DIR and not args.check:
        print(
            "leitstand rules: a variant (threshold flags, --thresholds, --scrape-interval "
            "or --for) would overwrite the checked-in rules; pass --out DIR, or edit "
            f"{DEFAULT_THRESHOLDS} to change them for good",
            file=sys.stderr,
        )
        return 2

    try:
        if args.check:
            return _check(out_dir, args.thresholds, args.scrape_interval, args.max_for, overrides)
        written = render_rules(
            out_dir,
            thresholds_path=args.thresholds,
            scrape_interval=args.scrape_interval,
            max_for=args.max_for,
            overrides=overrides,
        )
    except ValueError as error:  # ThresholdsError, and invalid durations
        print(f"leitstand rules: {error}", file=sys.stderr)
        return 2
    for path in [*written, out_dir / PROMETHEUS_RULE_FILE]:
        print(f"wrote {path}")
    return 0


def _check(
    out_dir: Path,
    thresholds_path: Path,
    scrape_interval: str | None,
    max_for: str | None,
    overrides: dict[str, dict[str, float]],
) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        render_rules(
            Path(scratch),
            thresholds_path=thresholds_path,
            scrape_interval=scrape_interval,
            max_for=max_for,
            overrides=overrides,
        )
        stale = []
        for relative in (RECORDING_FILE, ALERTS_FILE, PROMETHEUS_RULE_FILE):
            fresh = (Path(scratch) / relative).read_text(encoding="utf-8")
            current = out_dir / relative
            if not current.is_file() or current.read_text(encoding="utf-8") != fresh:
                stale.append(current)
    for path in stale:
        print(
            f"{path} differs from a fresh rendering; render it again without --check",
            file=sys.stderr,
        )
    return 1 if stale else 0
