"""A fast encoder for the Prometheus text format 0.0.4, the format node_exporter serves.

prometheus_client 0.26's ``generate_latest`` spends most of its time per sample on escaping
checks for UTF-8 metric names, which this exporter never produces. For the exporter's 176
samples, encoding counters and gauges directly took 0.53 ms of CPU against 2.2 ms for
``generate_latest`` (scripts/bench_exporter.py on the 2-core development machine, under
load). Families of any other type go through ``generate_latest`` unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_DIRECT_TYPES = {"counter", "gauge"}


def encode_text(families: Iterable[Metric]) -> bytes:
    """Encode metric families in the text format, with HELP and TYPE lines and no timestamps."""
    lines: list[str] = []
    for family in families:
        if family.type not in _DIRECT_TYPES:
            lines.append(_encode_with_client(family))
            continue
        name = family.name + "_total" if family.type == "counter" else family.name
        help_text = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
        lines.append(f"# HELP {name} {help_text}\n# TYPE {name} {family.type}\n")
        for sample in family.samples:
            if sample.labels:
                labels = ",".join(
                    f'{key}="{_escape_label_value(value)}"' for key, value in sample.labels.items()
                )
                lines.append(f"{sample.name}{{{labels}}} {_format_value(sample.value)}\n")
            else:
                lines.append(f"{sample.name} {_format_value(sample.value)}\n")
    return "".join(lines).encode()


def _escape_label_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _format_value(value: float) -> str:
    if math.isfinite(value):
        return repr(float(value))
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


class _OneFamily:
    def __init__(self, family: Metric) -> None:
        self.family = family

    def collect(self) -> list[Metric]:
        return [self.family]


def _encode_with_client(family: Metric) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_OneFamily(family))
    return generate_latest(registry).decode()
