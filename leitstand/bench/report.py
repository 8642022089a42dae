"""Turn the generator's raw result into the run report, and check the run's gate.

Per endpoint, the report contains counts, errors, throughput and latency
percentiles in microseconds, with the encoded histograms behind them. It also
states the load model and what it means for the figures, the target and
achieved rate, the generator's own load and whether it was the limit, and the
gate: whether the run met its targets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from leitstand.bench import histograms

REPORT_FORMAT = 1

# Locust warns at the same CPU share: above it, a generator's timings stretch.
GENERATOR_CPU_LIMIT_PERCENT = 90.0
GENERATOR_BUSY_LIMIT = 0.90

CLOSED_MODEL_NOTE = (
    "closed model: each user sends its next request only after the previous response, "
    "so these figures are service times; a server stall delays one request per user "
    "instead of every request due during it, and hides in the percentiles. "
    "Use --model open --rate R to measure response times from each request's intended start. "
    "With --rate, corrected_service_time_us estimates the hidden requests by "
    "HdrHistogram's correction for coordinated omission."
)
OPEN_MODEL_NOTE = (
    "open model: requests follow a fixed send schedule; response times count from each "
    "request's intended start, service times from its actual send."
)


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _timings(record: dict[str, Any]) -> dict[str, float]:
    return histograms.summarize(
        histograms.decode(record["histogram"]), record["min_us"], record["max_us"]
    )


def _endpoint_report(record: dict[str, Any], window_s: float) -> dict[str, Any]:
    count = int(record["count"])
    errors = sum(record["errors"].values())
    return {
        "count": count,
        "errors": errors,
        "error_ratio": errors / count if count else 0.0,
        "error_kinds": record["errors"],
        "throughput_rps": count / window_s if window_s > 0 else 0.0,
        "response_time_us": _timings(record["response"]),
        "service_time_us": _timings(record["service"]),
        "histograms": {
            "response_time": record["response"]["histogram"],
            "service_time": record["service"]["histogram"],
        },
    }


def _add_corrected(
    endpoints: dict[str, dict[str, Any]], measured: dict[str, dict[str, Any]], spec: dict[str, Any]
) -> None:
    # Each paced user should send every users / rate seconds; a longer wait hid the
    # requests it would have sent meanwhile.
    interval_us = round(spec["users"] / spec["rate"] * 1_000_000)
    for name, record in measured.items():
        service = record["service"]
        histogram = histograms.corrected(histograms.decode(service["histogram"]), interval_us)
        summary = histograms.summarize(histogram, service["min_us"], service["max_us"])
        endpoints[name]["corrected_service_time_us"] = {
            **summary,
            "estimate": True,
            "expected_interval_us": interval_us,
        }


def _total(measured: dict[str, dict[str, Any]], window_s: float) -> dict[str, Any]:
    """Merge every endpoint's record into one; HDR histograms add without loss."""
    merged: dict[str, Any] = {"count": 0, "errors": {}}
    for kind in ("response", "service"):
        records = [record[kind] for record in measured.values()]
        mins = [r["min_us"] for r in records if r["min_us"] is not None]
        maxes = [r["max_us"] for r in records if r["max_us"] is not None]
        merged[kind] = {
            "histogram": histograms.encode(histograms.merge(r["histogram"] for r in records)),
            "min_us": min(mins) if mins else None,
            "max_us": max(maxes) if maxes else None,
        }
    for record in measured.values():
        merged["count"] += record["count"]
        for kind, n in record["errors"].items():
            merged["errors"][kind] = merged["errors"].get(kind, 0) + n
    return _endpoint_report(merged, window_s)


def _generator(result: dict[str, Any], recorded: dict[str, Any] | None) -> dict[str, Any]:
    spec = result["spec"]
    raw = result["generator"]
    send_lag = _timings(recorded["send_lag"]) if recorded else {"count": 0}
    reasons: list[str] = []
    if raw["cpu_percent"] >= GENERATOR_CPU_LIMIT_PERCENT:
        reasons.append(f"generator CPU {raw['cpu_percent']:.0f} % (limit 90 %)")
    if raw["busy_ratio"] >= GENERATOR_BUSY_LIMIT:
        reasons.append(
            f"generator event loop busy {100 * raw['busy_ratio']:.0f} % of the time "
            "(it never waited for the server)"
        )
    if spec["model"] == "open" and send_lag.get("count"):
        lag_limit_us = spec["max_send_lag_s"] * 1_000_000
        if send_lag["p99"] > lag_limit_us:
            reasons.append(
                f"sends ran late: p99 send lag {send_lag['p99'] / 1000:.1f} ms "
                f"(limit {lag_limit_us / 1000:g} ms)"
            )
    peak = result["schedule"]["peak_in_flight"]
    if spec["model"] == "open" and peak >= spec["max_in_flight"]:
        reasons.append(
            f"{peak} requests in flight filled the connection pool "
            f"(max_in_flight {spec['max_in_flight']}), so sends waited for a connection"
        )
    return {
        **raw,
        "send_lag_us": send_lag,
        "peak_in_flight": result["schedule"]["peak_in_flight"],
        "limited": bool(reasons),
        "reasons": reasons,
    }


def _rates(
    spec: dict[str, Any], total: dict[str, Any], generator: dict[str, Any], counted_rps: float
) -> dict[str, Any]:
    target = spec.get("rate")
    achieved = counted_rps
    rates: dict[str, Any] = {"target_rps": target, "achieved_rps": achieved, "missed": False}
    if target:
        rates["achieved_ratio"] = achieved / target
        rates["missed"] = achieved < target * (1.0 - spec["rate_tolerance"])
    if rates["missed"] and spec["model"] == "closed" and not generator["limited"]:
        mean_s = total["service_time_us"].get("mean", 0.0) / 1_000_000
        if mean_s > 0:
            ceiling = spec["users"] / mean_s
            users_needed = target * mean_s
            rates["explanation"] = (
                f"{spec['users']} users at a mean service time of {mean_s * 1000:.1f} ms can "
                f"send at most {ceiling:.1f} requests/s; by Little's law the target needs "
                f"about {users_needed:.0f} users, or --model open"
            )
    return rates


def _gate(
    spec: dict[str, Any],
    total: dict[str, Any],
    rates: dict[str, Any],
    generator: dict[str, Any],
    max_error_ratio: float,
) -> dict[str, Any]:
    failures: list[str] = []
    if rates["achieved_rps"] == 0:
        failures.append("no request completed inside the measured window")
    if rates["missed"]:
        failures.append(
            f"target rate missed: achieved {rates['achieved_rps']:.1f} requests/s of "
            f"{rates['target_rps']:g} requests/s"
        )
    if generator["limited"]:
        failures.append(
            "the load generator was the limit (" + "; ".join(generator["reasons"]) + "): "
            "the figures describe the generator, not the server; lower the load, "
            "pin the generator to a free core (--generator-cpu) or use more generators"
        )
    if total["error_ratio"] > max_error_ratio:
        failures.append(
            f"error ratio {100 * total['error_ratio']:.2f} % above "
            f"{100 * max_error_ratio:g} % (--max-error-ratio)"
        )
    return {"passed": not failures, "failures": failures}


def build_report(
    result: dict[str, Any],
    max_error_ratio: float = 0.01,
    app: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the report of one run from the generator's raw result."""
    spec = result["spec"]
    window = result["window"]
    window_s = float(window["seconds"])
    recorded = result.get("recorded")
    measured: dict[str, dict[str, Any]] = recorded["measured"] if recorded else {}
    warmup: dict[str, dict[str, Any]] = recorded["warmup"] if recorded else {}

    endpoints = {name: _endpoint_report(r, window_s) for name, r in measured.items()}
    if spec["model"] == "closed" and spec.get("rate"):
        _add_corrected(endpoints, measured, spec)
    total = _total(measured, window_s)
    generator = _generator(result, recorded)
    # Without recording (--no-record) only Locust's own count of the window is there.
    counted_rps = total["throughput_rps"]
    if recorded is None and window_s > 0:
        counted_rps = result["locust_stats"]["window_requests"] / window_s
    rates = _rates(spec, total, generator, counted_rps)
    model = {
        "kind": spec["model"],
        "users": spec["users"] if spec["model"] == "closed" else None,
        "spawn_rate": spec["spawn_rate"] if spec["model"] == "closed" else None,
        "arrival": spec["arrival"] if spec["model"] == "open" else None,
        "latency_from": "intended start" if spec["model"] == "open" else "actual send",
        "note": OPEN_MODEL_NOTE if spec["model"] == "open" else CLOSED_MODEL_NOTE,
    }
    return {
        "format": REPORT_FORMAT,
        "created": datetime.now(UTC).isoformat(),
        "url": spec["url"],
        "endpoints_requested": spec["endpoints"] or "erp mix",
        "load_model": model,
        "window": window,
        "warmup": {
            "count": sum(int(r["count"]) for r in warmup.values()),
            "per_endpoint": {name: int(r["count"]) for name, r in warmup.items()},
        },
        "after_window": recorded["after_window"] if recorded else 0,
        "rate": rates,
        "endpoints": endpoints,
        "total": total,
        "generator": generator,
        "gate": _gate(spec, total, rates, generator, max_error_ratio),
        "intervals": recorded["intervals"] if recorded else [],
        "interval_s": spec["interval_s"],
        "locust_stats": result["locust_stats"],
        "app": app,
        "server": server,
        "tool": {
            "leitstand": _package_version("leitstand"),
            "locust": _package_version("locust"),
            "hdrhistogram": _package_version("hdrhistogram"),
        },
        "spec": spec,
    }


def _ms(value_us: float | None) -> str:
    if value_us is None:
        return "-"
    return f"{value_us / 1000:.3f}"


def format_summary(report: dict[str, Any]) -> str:
    """Return the report as a short text table for the terminal (latencies in ms)."""
    basis = "response_time_us" if report["load_model"]["kind"] == "open" else "service_time_us"
    header = (
        f"{'endpoint':<48} {'count':>8} {'errors':>6} {'req/s':>9} "
        f"{'p50':>9} {'p90':>9} {'p99':>9} {'p99.9':>9} {'max':>9}"
    )
    lines = [f"latencies in ms ({basis.removesuffix('_us').replace('_', ' ')})", header]

    rows = [*sorted(report["endpoints"].items()), ("total", report["total"])]
    for name, entry in rows:
        t = entry[basis]
        lines.append(
            f"{name[:48]:<48} {entry['count']:>8} {entry['errors']:>6} "
            f"{entry['throughput_rps']:>9.1f} {_ms(t.get('p50')):>9} {_ms(t.get('p90')):>9} "
            f"{_ms(t.get('p99')):>9} {_ms(t.get('p99.9')):>9} {_ms(t.get('max')):>9}"
        )

    rate = report["rate"]
    if rate["target_rps"]:
        lines.append(
            f"rate: target {rate['target_rps']:g}/s, achieved {rate['achieved_rps']:.1f}/s"
        )
    else:
        lines.append(f"rate: achieved {rate['achieved_rps']:.1f}/s (no target)")
    generator = report["generator"]
    lines.append(
        f"generator: CPU {generator['cpu_percent']:.0f} %, loop busy "
        f"{100 * generator['busy_ratio']:.0f} %" + (", limited" if generator["limited"] else "")
    )
    lines.append(f"warm-up requests (not counted): {report['warmup']['count']}")
    lines.append(report["load_model"]["note"])
    if "explanation" in rate:
        lines.append(rate["explanation"])

    gate = report["gate"]
    lines.append("gate: passed" if gate["passed"] else "gate: FAILED")
    lines.extend(f"  - {failure}" for failure in gate["failures"])
    return "\n".join(lines)
