"""HDR histograms of latencies in microseconds, and the percentiles read from them.

Values keep three significant digits (0.1 % relative error) from 1 µs to one
hour. Percentiles are ranks without interpolation, by HdrHistogram's rule: the
p-th percentile of n samples is the smallest recorded value with at least
round(p/100 * n) samples (and at least one) at or below it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_FIGURES = 3

# The percentiles every report lists, and the names they are listed under.
PERCENTILES: dict[str, float] = {
    "p50": 50.0,
    "p90": 90.0,
    "p95": 95.0,
    "p99": 99.0,
    "p99.9": 99.9,
}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def to_us(seconds: float) -> int:
    """Convert seconds to whole microseconds, clamped into the histogram's range."""
    return min(max(round(seconds * 1_000_000), 0), HIGHEST_US)


def _counts(histogram: HdrHistogram) -> np.ndarray:
    # A numpy view of the histogram's own ctypes counts array, not a copy.
    return np.ctypeslib.as_array(histogram.counts)


def record_many(histogram: HdrHistogram, values: Sequence[int]) -> None:
    """Record many values at once, into the same buckets ``record_value`` would use.

    HdrHistogram's ``record_value`` is pure Python and costs microseconds per
    call. Here numpy computes the bucket indices of a whole batch and adds a
    bincount to the counts array.
    """
    if not values:
        return
    # Out-of-range values are clamped into the trackable range, as to_us does.
    array = np.clip(np.asarray(values, dtype=np.int64), 0, HIGHEST_US)
    # The bit length of (value | sub_bucket_mask): the smallest power of 2 above the value.
    _, pow2ceiling = np.frexp((array | histogram.sub_bucket_mask).astype(np.float64))
    bucket_index = (
        pow2ceiling - histogram.unit_magnitude - (histogram.sub_bucket_half_count_magnitude + 1)
    )
    sub_bucket_index = array >> (bucket_index + histogram.unit_magnitude)
    indices = ((bucket_index + 1) << histogram.sub_bucket_half_count_magnitude) + (
        sub_bucket_index - histogram.sub_bucket_half_count
    )
    counts = _counts(histogram)
    counts += np.bincount(indices, minlength=counts.size).astype(counts.dtype)
    histogram.total_count += int(array.size)
    histogram.min_value = min(histogram.min_value, int(array.min()))
    histogram.max_value = max(histogram.max_value, int(array.max()))


def corrected(histogram: HdrHistogram, expected_interval_us: int) -> HdrHistogram:
    """Return a copy with HdrHistogram's correction for coordinated omission.

    Each value v of at least 2I, for the expected interval I, also counts the
    requests a paced sender would have sent while it waited: v - I, v - 2I, ...
    down to I. That is the rule of HdrHistogram's Java
    ``recordValueWithExpectedInterval``; the Python package's
    ``record_corrected_value`` goes one step further, below I. It is applied
    bucket by bucket with each bucket's lowest value, so the result is an
    estimate.
    """
    result = new_histogram()
    result.add(histogram)
    if expected_interval_us <= 0:
        return result
    counts = _counts(histogram)
    synthetic: list[np.ndarray] = []
    for index in np.flatnonzero(counts):
        value = int(histogram.get_value_from_index(int(index)))
        if value < 2 * expected_interval_us:
            continue
        missing = np.arange(
            value - expected_interval_us, expected_interval_us - 1, -expected_interval_us
        )
        synthetic.append(np.repeat(missing, int(counts[index])))
    if synthetic:
        record_many(result, np.concatenate(synthetic).tolist())
    return result


def encode(histogram: HdrHistogram) -> str:
    """Return the histogram in HdrHistogram's compressed base64 form."""
    encoded: bytes = histogram.encode()
    return encoded.decode("ascii")


def decode(encoded: str) -> HdrHistogram:
    histogram: HdrHistogram = HdrHistogram.decode(encoded.encode("ascii"))
    return histogram


def merge(encoded: Iterable[str]) -> HdrHistogram:
    """Add several encoded histograms into one; HDR histograms merge without loss."""
    total = new_histogram()
    for item in encoded:
        total.add(decode(item))
    return total


def percentiles(histogram: HdrHistogram, wanted: Iterable[float]) -> dict[float, float]:
    """Return the value at each percentile, as ``get_percentile_to_value_dict`` does.

    The same rank rule and bucket values, computed with numpy over the counts
    rather than a Python loop over every bucket.
    """
    total = histogram.get_total_count()
    if total == 0:
        return {p: 0.0 for p in wanted}
    cumulative = np.cumsum(_counts(histogram))
    result: dict[float, float] = {}
    for percentile in wanted:
        target = max(int(min(percentile, 100.0) * total / 100.0 + 0.5), 1)
        index = int(np.searchsorted(cumulative, target, side="left"))
        value = histogram.get_value_from_index(index)
        if percentile:
            result[percentile] = float(histogram.get_highest_equivalent_value(value))
        else:
            result[percentile] = float(histogram.get_lowest_equivalent_value(value))
    return result


def mean(histogram: HdrHistogram) -> float:
    """Return the mean of the recorded values, each taken at the middle of its bucket."""
    total = histogram.get_total_count()
    if total == 0:
        return 0.0
    counts = _counts(histogram)
    weighted = 0
    for index in np.flatnonzero(counts):
        value = histogram.get_value_from_index(int(index))
        weighted += int(counts[index]) * histogram._hdr_median_equiv_value(value)
    return float(weighted / total)


def summarize(
    histogram: HdrHistogram, exact_min_us: float | None = None, exact_max_us: float | None = None
) -> dict[str, float]:
    """Return count, min, mean, the report's percentiles and max, in microseconds.

    The histogram stores each value as the upper end of its bucket, so a
    percentile may sit up to 0.1 % above the largest value recorded. Given the
    exact extremes, percentiles are clamped to them, and a p99 never exceeds max.
    """
    count = histogram.get_total_count()
    if count == 0:
        return {"count": 0}
    maximum = float(exact_max_us) if exact_max_us is not None else histogram.get_max_value()
    minimum = float(exact_min_us) if exact_min_us is not None else histogram.get_min_value()
    values = percentiles(histogram, PERCENTILES.values())
    summary: dict[str, float] = {"count": count, "min": minimum, "mean": mean(histogram)}
    for label, percentile in PERCENTILES.items():
        summary[label] = min(max(values[percentile], minimum), maximum)
    summary["max"] = maximum
    return summary


def spectrum(histogram: HdrHistogram, points: int = 200) -> list[tuple[float, float]]:
    """Return (percentile, value in µs) pairs from p0 to the max, spaced for a log plot.

    The points crowd towards 100 % the way HdrHistogram's percentile output does,
    so the tail gets as much of the plot as the body.
    """
    count = histogram.get_total_count()
    if count == 0:
        return []
    # Percentiles 100 * (1 - 10^-k) for k from 0 up to just past the resolution of count.
    top = math.log10(count) + 0.5
    points_at = [100.0 * (1.0 - 10 ** (-top * i / (points - 1))) for i in range(points)]
    values = percentiles(histogram, points_at)
    return [(p, values[p]) for p in sorted(values)]


def rank_percentile(samples: Sequence[float], percentile: float) -> float:
    """Return the percentile of raw samples by the same rank rule the histograms use."""
    if not samples:
        raise ValueError("no samples to take a percentile of")
    ordered = sorted(samples)
    rank = max(int(percentile / 100.0 * len(ordered) + 0.5), 1)
    return ordered[rank - 1]
