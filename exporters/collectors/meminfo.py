"""The ``meminfo`` collector: ``node_memory_*`` with the field names of Linux's /proc/meminfo.

On Linux every line of ``<procfs>/meminfo`` becomes a gauge, exactly as node_exporter names
it. Elsewhere psutil's figures are reported under the Linux name of the same quantity.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.files import read_bytes
from exporters.host import Host

_PARENTHESES = re.compile(r"\((.*)\)")

# psutil field -> /proc/meminfo field, for virtual_memory() and swap_memory().
_VIRTUAL_MEMORY_FIELDS = {
    "total": "MemTotal",
    "available": "MemAvailable",
    "free": "MemFree",
    "buffers": "Buffers",
    "cached": "Cached",
    "active": "Active",
    "inactive": "Inactive",
    "shared": "Shmem",
    "slab": "Slab",
}
_SWAP_MEMORY_FIELDS = {"total": "SwapTotal", "free": "SwapFree"}


class MeminfoCollector:
    name = "meminfo"

    def __init__(self, host: Host) -> None:
        self.host = host

    def collect(self) -> Iterator[Metric]:
        if self.host.is_linux:
            fields = parse_meminfo(read_bytes(f"{self.host.procfs}/meminfo").decode())
        else:
            fields = self._psutil_fields()
        for key, value in fields.items():
            name = f"node_memory_{key}"
            help_text = f"Memory information field {key}."
            if key.endswith("_total"):
                yield CounterMetricFamily(name, help_text, value=value)
            else:
                yield GaugeMetricFamily(name, help_text, value=value)
        if not self.host.is_linux:
            wired = getattr(self.host.system.virtual_memory(), "wired", None)
            if wired is not None:
                yield GaugeMetricFamily(
                    "leitstand_exporter_memory_wired_bytes",
                    "Memory that the kernel never pages out (macOS and BSD), in bytes.",
                    value=wired,
                )

    def _psutil_fields(self) -> dict[str, float]:
        fields: dict[str, float] = {}
        sources = (
            (self.host.system.virtual_memory(), _VIRTUAL_MEMORY_FIELDS),
            (self.host.system.swap_memory(), _SWAP_MEMORY_FIELDS),
        )
        for sample, names in sources:
            for field, key in names.items():
                value = getattr(sample, field, None)
                if value is not None:
                    fields[f"{key}_bytes"] = float(value)
        return fields


def parse_meminfo(text: str) -> dict[str, float]:
    """Map each /proc/meminfo line to node_exporter's key and value.

    ``Active(anon):  1024 kB`` becomes ``Active_anon_bytes: 1048576.0``; lines without a
    unit (``HugePages_Total: 0``) keep their name and count.
    """
    fields: dict[str, float] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if not parts:
            continue
        value = float(parts[0])
        key = key.strip()
        if "(" in key:
            key = _PARENTHESES.sub(r"_\1", key)
        if not (key.isascii() and key.isidentifier()):
            continue  # not a valid metric name part; no kernel writes one today
        if len(parts) == 2 and parts[1] == "kB":
            value *= 1024
            key += "_bytes"
        fields[key] = value
    return fields
