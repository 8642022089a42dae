"""The workers' metric files, merged and written in the Prometheus text format.

prometheus_client's ``MultiProcessCollector`` parses every key of every file
from JSON, builds sample objects, and its encoder checks and escapes every
label on each scrape: about 30 ms of CPU for four workers of this app. The
keys and label sets of a running app hardly change, so this module parses
each key and renders each label set once, keeps them between scrapes, and
adds the values up in plain dictionaries. It follows the merge rules of
prometheus_client 0.26 (``prometheus_client/multiprocess.py``): counters,
summaries and histogram buckets are summed over files, and gauges are
combined by the mode in their file name.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.utils import floatToGoString

# Gauge modes whose samples keep a pid label, one series per process.
_PER_PROCESS_MODES = {"all", "liveall"}


class _Family:
    __slots__ = ("buckets", "documentation", "kind", "mode", "samples", "timestamps")

    def __init__(self, kind: str, documentation: str) -> None:
        self.kind = kind
        self.documentation = documentation
        self.mode = ""
        # (sample name, sorted label pairs) -> value
        self.samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.timestamps: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        # label pairs without le -> {upper bound: count in that bucket}
        self.buckets: dict[tuple[tuple[str, str], ...], dict[float, float]] = defaultdict(
            lambda: defaultdict(float)
        )


class MultiProcessText:
    """Render the samples in ``directory``'s ``*.db`` files as Prometheus text format 0.0.4."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._keys: dict[str, tuple[str, str, tuple[tuple[str, str], ...], str]] = {}
        self._label_text: dict[tuple[tuple[str, str], ...], str] = {}

    def render(self) -> bytes:
        families: dict[str, _Family] = {}
        for path in sorted(self._directory.glob("*.db")):
            parts = path.name[: -len(".db")].split("_")
            kind = parts[0]
            try:
                entries = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
            except FileNotFoundError:
                # mark_worker_dead waits for the scrape lock, so only some
                # other process could have deleted the file after the glob.
                continue
            for key, value, timestamp, _ in entries:
                self._add(families, kind, parts, key, value, timestamp)
        lines: list[str] = []
        for name, family in families.items():
            self._write(lines, name, family)
        return "".join(lines).encode()

    def _add(
        self,
        families: dict[str, _Family],
        kind: str,
        parts: list[str],
        key: str,
        value: float,
        timestamp: float,
    ) -> None:
        parsed = self._keys.get(key)
        if parsed is None:
            metric_name, sample_name, labels, documentation = json.loads(key)
            parsed = self._keys[key] = (
                metric_name,
                sample_name,
                tuple(sorted(labels.items())),
                documentation,
            )
        metric_name, sample_name, labels, documentation = parsed
        family = families.get(metric_name)
        if family is None:
            family = families[metric_name] = _Family(kind, documentation)

        if kind == "gauge":
            family.mode = mode = parts[1]
            if mode in _PER_PROCESS_MODES:
                labels = tuple(sorted((*labels, ("pid", parts[2]))))
            series = (sample_name, labels)
            current = family.samples.get(series)
            if current is None or mode in _PER_PROCESS_MODES:
                family.samples[series] = value
                family.timestamps[series] = timestamp
            elif mode in ("sum", "livesum"):
                family.samples[series] = current + value
            elif mode in ("max", "livemax"):
                family.samples[series] = max(current, value)
            elif mode in ("min", "livemin"):
                family.samples[series] = min(current, value)
            elif timestamp > family.timestamps[series]:  # mostrecent, livemostrecent
                family.samples[series] = value
                family.timestamps[series] = timestamp
        elif kind == "histogram" and sample_name.endswith("_bucket"):
            bound = next(float(value) for name, value in labels if name == "le")
            without_le = tuple(pair for pair in labels if pair[0] != "le")
            family.buckets[without_le][bound] += value
        else:
            series = (sample_name, labels)
            family.samples[series] = family.samples.get(series, 0.0) + value

    def _write(self, lines: list[str], name: str, family: _Family) -> None:
        exposed = name + "_total" if family.kind == "counter" else name
        help_text = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
        lines.append(f"# HELP {exposed} {help_text}\n# TYPE {exposed} {family.kind}\n")
        for (sample_name, labels), value in family.samples.items():
            lines.append(f"{sample_name}{self._labels(labels)} {_number(value)}\n")
        for labels, buckets in family.buckets.items():
            total = 0.0
            for bound in sorted(buckets):
                total += buckets[bound]
                with_le = tuple(sorted((*labels, ("le", _number(bound)))))
                lines.append(f"{name}_bucket{self._labels(with_le)} {_number(total)}\n")
            lines.append(f"{name}_count{self._labels(labels)} {_number(total)}\n")

    def _labels(self, labels: tuple[tuple[str, str], ...]) -> str:
        text = self._label_text.get(labels)
        if text is None:
            pairs = ",".join(f'{name}="{_escape(value)}"' for name, value in labels)
            text = self._label_text[labels] = "{" + pairs + "}" if pairs else ""
        return text


def _number(value: float) -> str:
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


def _escape(value: Any) -> str:
    return str(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
