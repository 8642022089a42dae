"""The fast text encoder against prometheus_client's own encoder and parser."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, Info, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

from exporters.exposition import encode_text
from exporters.host import Host
from exporters.registry import build_collectors, build_registry
from exporters.settings import ExporterSettings

Samples = list[tuple[str, tuple[tuple[str, str], ...], float]]


def parsed(text: str) -> dict[str, tuple[str, str, Samples]]:
    return {
        family.name: (
            family.type,
            family.documentation,
            sorted((s.name, tuple(sorted(s.labels.items())), s.value) for s in family.samples),
        )
        for family in text_string_to_metric_families(text)
    }


class Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def test_encoder_matches_client_on_exporter_output() -> None:
    registry = build_registry(build_collectors(ExporterSettings(), Host()))
    families = list(registry.collect())
    static = CollectorRegistry()
    static.register(Families(families))

    ours = parsed(encode_text(families).decode())
    theirs = parsed(generate_latest(static).decode())

    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name] == theirs[name], name


def test_encoder_escapes_help_and_label_values() -> None:
    gauge = GaugeMetricFamily(
        "leitstand_exporter_test_bytes", 'Back\\slash and\nnewline "help".', labels=["mountpoint"]
    )
    gauge.add_metric(['/mnt/a "quoted"\\path\nx'], 1.5)
    counter = CounterMetricFamily("leitstand_exporter_test_total", "Counts.", value=float("inf"))
    nan = GaugeMetricFamily("leitstand_exporter_test_ratio", "Not a number.", value=float("nan"))
    text = encode_text([gauge, counter, nan]).decode()

    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["leitstand_exporter_test_bytes"].documentation == (
        'Back\\slash and\nnewline "help".'
    )
    sample = families["leitstand_exporter_test_bytes"].samples[0]
    assert sample.labels == {"mountpoint": '/mnt/a "quoted"\\path\nx'}
    assert sample.value == 1.5
    assert families["leitstand_exporter_test"].type == "counter"
    assert families["leitstand_exporter_test"].samples[0].value == float("inf")
    assert "leitstand_exporter_test_ratio NaN\n" in text


def test_encoder_delegates_other_types() -> None:
    registry = CollectorRegistry()
    histogram = Histogram(
        "leitstand_exporter_test_seconds", "A histogram.", buckets=(0.1, 1.0), registry=registry
    )
    histogram.observe(0.5)
    Info("leitstand_exporter_test", "An info.", registry=registry).info({"version": "1"})

    families = list(registry.collect())
    static = CollectorRegistry()
    static.register(Families(families))

    assert parsed(encode_text(families).decode()) == parsed(generate_latest(static).decode())
