"""Prometheus metrics of the control API.

Knob values and change counts come from a custom collector rather than
multiprocess gauges. The values live in the shared state once per instance, so
any worker that serves the scrape reports one sample per knob. A dead worker
leaves nothing behind. Shed requests are a plain counter, because the
shed path must stay cheap: an increment of a prometheus_client counter writes
to this worker's own memory map without a lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import Counter
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.control.controller import Controller, changes_key

SHED_REQUESTS = Counter(
    "erp_shed_requests_total",
    "Requests answered 503 at once because a worker had shed.max_in_flight requests in flight.",
)


class ControlCollector(Collector):
    """Collect ``erp_control_value`` and ``erp_control_changes_total`` from the shared state.

    ``actions`` names the labels of changes that are not knobs (``cache.<name>.clear``).
    """

    def __init__(self, controller: Controller, actions: Iterable[str] = ()) -> None:
        self.controller = controller
        self.actions = tuple(actions)

    def collect(self) -> Iterator[Metric]:
        state = self.controller.state
        values = GaugeMetricFamily(
            "erp_control_value", "Value in force of each control knob.", labels=["knob"]
        )
        changes = CounterMetricFamily(
            "erp_control_changes_total",
            "Changes, reverts and actions made through the control API.",
            labels=["knob"],
        )
        for name, knob in self.controller.knobs.items():
            values.add_metric([name], knob.read())
            changes.add_metric([name], state.get(changes_key(name)))
        for label in self.actions:
            changes.add_metric([label], state.get(changes_key(label)))
        yield values
        yield changes
