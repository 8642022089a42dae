"""Batch recording and numpy percentiles against HdrHistogram's own methods."""

from __future__ import annotations

import random

import numpy as np

from leitstand.bench import histograms


def _values() -> list[int]:
    rng = random.Random(7)
    edges = [0, 1, 2, 1023, 1024, 2047, 2048, 2049, histograms.HIGHEST_US]
    spread = [rng.randint(0, histograms.HIGHEST_US) for _ in range(5000)]
    latencies = [int(rng.expovariate(1 / 500)) for _ in range(5000)]
    return edges + spread + latencies


def test_record_many_matches_record_value() -> None:
    one_by_one = histograms.new_histogram()
    batched = histograms.new_histogram()
    values = _values()
    for value in values:
        one_by_one.record_value(value)

    histograms.record_many(batched, values)

    assert np.array_equal(
        np.ctypeslib.as_array(one_by_one.counts), np.ctypeslib.as_array(batched.counts)
    )
    assert batched.get_total_count() == len(values)
    assert batched.min_value == one_by_one.min_value
    assert batched.max_value == one_by_one.max_value
    assert histograms.encode(batched) == histograms.encode(one_by_one)


def test_percentiles_match_hdr() -> None:
    histogram = histograms.new_histogram()
    histograms.record_many(histogram, _values())
    wanted = [0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0]

    fast = histograms.percentiles(histogram, wanted)

    assert fast == histogram.get_percentile_to_value_dict(wanted)
    assert histograms.mean(histogram) == histogram.get_mean_value()


def test_out_of_range_values_clamped() -> None:
    histogram = histograms.new_histogram()

    histograms.record_many(histogram, [-5, histograms.HIGHEST_US * 2])

    assert histogram.get_total_count() == 2
    assert histogram.min_value == 0
    assert histogram.max_value == histograms.HIGHEST_US


def test_correction_matches_expected_interval_rule() -> None:
    # Below 2048 µs every value is its own bucket, so the estimate is exact there.
    values = [100, 250, 299, 300, 600, 601, 1000, 1999]
    reference = histograms.new_histogram()
    plain = histograms.new_histogram()
    for value in values:
        # HdrHistogram's Java recordValueWithExpectedInterval, step by step.
        reference.record_value(value)
        missing = value - 300
        while missing >= 300:
            reference.record_value(missing)
            missing -= 300
    histograms.record_many(plain, values)

    result = histograms.corrected(plain, 300)

    assert np.array_equal(
        np.ctypeslib.as_array(result.counts), np.ctypeslib.as_array(reference.counts)
    )
    assert result.get_total_count() == reference.get_total_count()
    assert plain.get_total_count() == len(values)
