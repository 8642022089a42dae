"""``leitstand bench compare``: baselines, verdicts and the exit status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from leitstand.bench.compare import compare_metric, main, mann_whitney_p


def _report(p50_us: float, p99_us: float, rps: float, model: str = "closed") -> dict[str, Any]:
    basis = "response_time_us" if model == "open" else "service_time_us"
    entry = {
        "count": 1000,
        "errors": 0,
        "error_ratio": 0.0,
        "throughput_rps": rps,
        basis: {"p50": p50_us, "p90": p99_us * 0.8, "p99": p99_us, "mean": p50_us},
    }
    return {"load_model": {"kind": model}, "endpoints": {"/api/v1/kunden": entry}}


def _write(folder: Path, reports: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, report in enumerate(reports):
        (folder / f"run-{i}.json").write_text(json.dumps(report))
    return folder


def test_first_comparison_saves_baseline(tmp_path: Path) -> None:
    new = _write(tmp_path / "new", [_report(1000, 5000, 200)])
    base = tmp_path / "baseline"

    code = main([str(base), str(new)])

    assert code == 0
    assert sorted(p.name for p in base.iterdir()) == ["run-0.json"]


def test_first_comparison_single_file_baseline(tmp_path: Path) -> None:
    new = _write(tmp_path / "new", [_report(1000, 5000, 200)])
    base = tmp_path / "baseline.json"

    code = main([str(base), str(new / "run-0.json")])

    assert code == 0
    assert json.loads(base.read_text())["endpoints"]


def test_regression_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "base", [_report(1000 + i, 5000 + 10 * i, 200) for i in range(3)])
    new = _write(tmp_path / "new", [_report(1500 + i, 9000 + 10 * i, 200) for i in range(3)])

    code = main([str(base), str(new), "--threshold", "0.1"])

    output = capsys.readouterr()
    assert code == 1
    assert "| worse |" in output.out
    assert "regression beyond 10 %" in output.err


def test_improvement_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "base", [_report(1500 + i, 9000 + i, 200 + i) for i in range(3)])
    new = _write(tmp_path / "new", [_report(1000 + i, 5000 + i, 300 + i) for i in range(3)])

    code = main([str(base), str(new)])

    output = capsys.readouterr().out
    assert code == 0
    assert "| better |" in output
    assert "| worse |" not in output


def test_noise_is_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "base", [_report(v, 5000, 200) for v in (1000, 1200, 1100)])
    new = _write(tmp_path / "new", [_report(v, 5000, 200) for v in (1150, 990, 1210)])

    code = main([str(base), str(new), "--metrics", "p50"])

    output = capsys.readouterr().out
    assert code == 0
    assert "same within noise" in output


def test_too_few_repeats_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "base", [_report(1000, 5000, 200)])
    new = _write(tmp_path / "new", [_report(1000, 5000, 200) for _ in range(3)])

    code = main([str(base), str(new)])

    assert code == 2
    assert "3 repeats needed" in capsys.readouterr().err


def test_mann_whitney_exact_values() -> None:
    separated = mann_whitney_p(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))
    identical = mann_whitney_p(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))

    # 2 of the 20 splits of six values are as extreme as a full separation.
    assert separated == pytest.approx(0.1)
    assert identical == pytest.approx(1.0)


def test_throughput_drop_is_worse() -> None:
    rng = np.random.default_rng(0)

    delta = compare_metric("/x", "throughput", [200, 205, 198], [150, 149, 152], 0.05, rng)

    assert delta.verdict == "worse"
    assert delta.change == pytest.approx(150 / 200 - 1)
    assert delta.ci_high is not None
    assert delta.ci_high < 0
