"""``leitstand bench profile`` against the real app with a small database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leitstand.bench.profile import ROWS
from leitstand.bench.profile import main as profile_main
from tests.support.processes import free_port


@pytest.mark.slow
def test_profile_baseline_against_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEITSTAND_SEED_KUNDEN", "200")
    monkeypatch.setenv("LEITSTAND_SEED_ARTIKEL", "50")
    monkeypatch.setenv("LEITSTAND_SEED_AUFTRAEGE", "300")
    output = tmp_path / "profile"

    code = profile_main(
        [
            "--steps",
            "baseline,all",
            "--users",
            "4",
            "--warmup",
            "0.5",
            "--duration",
            "2",
            "--port",
            str(free_port()),
            "--output-dir",
            str(output),
            "--no-progress",
        ]
    )

    assert code == 0
    result = json.loads((output / "profile.json").read_text())
    baseline = result["summary"]["baseline"]
    optimised = result["summary"]["all"]
    assert baseline["throughput_rps"] > 0
    assert optimised["throughput_rps"] > 0
    assert baseline["cpu_percent"] > 0
    assert baseline["memory_mib"] > 10
    assert baseline["health_ms"] > 0
    # Lazy loading without a cache reads related rows one query at a time.
    assert optimised["db_queries_per_request"] < baseline["db_queries_per_request"]
    assert result["runs"]["all"][0]["configuration"]["workers"] == 2
    table = (output / "profile.md").read_text()
    for label, _, _ in ROWS.values():
        assert label in table
    assert "improvement (all vs baseline)" in table
    assert (output / "profile.png").read_bytes().startswith(b"\x89PNG")
