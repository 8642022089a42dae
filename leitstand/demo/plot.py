"""A PNG of the drill: latency and request rate from Prometheus, with the events marked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from leitstand.demo.drill import P95, RATE
from leitstand.demo.timeline import Timeline

# Colours of the event markers, by the part that caused the event.
MARKER_COLOURS = {
    "drill_started": "tab:red",
    "drill_ended": "tab:red",
    "alert_pending": "tab:orange",
    "alert_firing": "tab:orange",
    "alert_resolved": "tab:green",
    "action_executed": "tab:purple",
    "change_reverted": "tab:purple",
    "condition_recovered": "tab:green",
}


def query_range(
    prometheus: str, promql: str, start: datetime, end: datetime, step: float = 1.0
) -> list[tuple[datetime, float]]:
    answer = httpx.get(
        prometheus + "/api/v1/query_range",
        params={"query": promql, "start": start.timestamp(), "end": end.timestamp(), "step": step},
        timeout=30,
    )
    answer.raise_for_status()
    result = answer.json()["data"]["result"]
    if not result:
        return []
    return [(datetime.fromtimestamp(float(t), UTC), float(v)) for t, v in result[0]["values"]]


def plot_drill(
    timeline: Timeline, prometheus: str, instance: str, threshold: float, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = timeline.start - timedelta(seconds=5)
    end = (timeline.events[-1].at if timeline.events else start) + timedelta(seconds=5)
    latency = query_range(prometheus, P95.format(instance=instance), start, end)
    rate = query_range(prometheus, RATE.format(instance=instance), start, end)

    def seconds(at: datetime) -> float:
        return (at - timeline.start).total_seconds()

    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6))
    top.plot(
        [seconds(t) for t, _ in latency],
        [v * 1000 for _, v in latency],
        color="tab:blue",
        label="p95 latency",
    )
    top.axhline(threshold * 1000, color="grey", linestyle="--", label="alert threshold")
    top.set_ylabel("p95 latency (ms)")
    bottom.plot([seconds(t) for t, _ in rate], [v for _, v in rate], color="tab:blue")
    bottom.set_ylabel("requests/s")
    bottom.set_xlabel("seconds since the drill's first event")

    for event in timeline.events:
        colour = MARKER_COLOURS.get(event.kind)
        if colour is None:
            continue
        for axis in (top, bottom):
            axis.axvline(seconds(event.at), color=colour, alpha=0.6, linewidth=1)
        top.annotate(
            event.kind.replace("_", " "),
            (seconds(event.at), 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            va="top",
            ha="right",
            color=colour,
        )
    top.legend(loc="upper left", fontsize=8)
    top.set_title(f"Leitstand drill on {instance}: {timeline.outcome}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
