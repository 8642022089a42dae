"""Pieces every Leitstand dashboard uses: uids, the target selector and the annotations."""

from __future__ import annotations

from leitstand.dashboards.model import Annotation

UIDS = {
    "overview": "leitstand-overview",
    "service": "leitstand-service",
    "host": "leitstand-host",
    "optimizer": "leitstand-optimizer",
}

# The matchers of every query on a scraped metric: the targets chosen in the variables.
TARGET = 'job=~"$job", instance=~"$instance"'

CONTROL_CHANGES = Annotation(
    name="Control changes",
    expr=(
        f"sum by (job, instance, knob) (increase(erp_control_changes_total{{{TARGET}}}"
        "[$__rate_interval])) > 0"
    ),
    title="{{knob}} changed on {{instance}}",
    tag_keys="knob",
    color="purple",
)

FIRING_ALERTS = Annotation(
    name="Firing alerts",
    expr=f'ALERTS{{alertstate="firing", {TARGET}}}',
    title="{{alertname}} ({{severity}})",
    tag_keys="alertname,severity",
    color="red",
)
