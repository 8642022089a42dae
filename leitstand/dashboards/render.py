"""Render the dashboards to JSON files, and tell whether the checked-in files are current."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from leitstand.dashboards import host, optimizer, overview, service
from leitstand.dashboards.model import Json
from leitstand.thresholds import Thresholds

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"

# file name -> builder
BUILDERS: dict[str, Callable[[Thresholds], Json]] = {
    "leitstand-overview.json": overview.build,
    "leitstand-service.json": service.build,
    "leitstand-host.json": host.build,
    "leitstand-optimizer.json": optimizer.build,
}


def render_dashboards(thresholds: Thresholds) -> dict[str, str]:
    """Return the JSON text of every dashboard by its file name."""
    return {
        name: json.dumps(build(thresholds), indent=2, ensure_ascii=False) + "\n"
        for name, build in BUILDERS.items()
    }


def write_dashboards(texts: dict[str, str], folder: Path) -> list[Path]:
    """Write the files that differ from ``texts`` into ``folder``; return the changed ones."""
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in texts.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def stale_dashboards(texts: dict[str, str], folder: Path) -> list[str]:
    """Return the names of files in ``folder`` that are missing, differ, or are not generated."""
    stale = [
        name
        for name, text in texts.items()
        if not (folder / name).exists() or (folder / name).read_text(encoding="utf-8") != text
    ]
    stale += sorted(path.name for path in folder.glob("*.json") if path.name not in texts)
    return stale
