"""Holt's linear method against values computed by hand."""

from __future__ import annotations

import math
import random

import pytest

from app.domain import forecast

# y = 10, 12, 13, 15, 14 with alpha = beta = 0.5; l_0 = 10, b_0 = 12 - 10 = 2.
#   t  y   l+b      error    l_t = .5*y + .5*(l+b)   b_t = .5*(l_t - l_t-1) + .5*b
#   1  12  12        0        12                      .5*2 + .5*2 = 2
#   2  13  14       -1        13.5                    .5*1.5 + .5*2 = 1.75
#   3  15  15.25    -0.25     15.125                  .5*1.625 + .5*1.75 = 1.6875
#   4  14  16.8125  -2.8125   15.40625                .5*0.28125 + .5*1.6875 = 0.984375
# SSE = 1 + 0.0625 + 7.91015625 = 8.97265625; forecasts 15.40625 + h * 0.984375.
SERIES = [10, 12, 13, 15, 14]


def test_smooth_matches_hand_computation() -> None:
    fit = forecast.smooth(SERIES, alpha=0.5, beta=0.5)

    assert fit.level == pytest.approx(15.40625)
    assert fit.trend == pytest.approx(0.984375)
    assert fit.sse == pytest.approx(8.97265625)
    assert fit.rmse == pytest.approx(math.sqrt(8.97265625 / 3))
    assert fit.forecast(3) == pytest.approx([16.390625, 17.375, 18.359375])


def test_forecast_never_negative() -> None:
    # alpha = beta = 1 follows the series exactly: level 2, trend -4.
    fit = forecast.smooth([10, 6, 2], alpha=1.0, beta=1.0)

    assert fit.level == pytest.approx(2.0)
    assert fit.trend == pytest.approx(-4.0)
    assert fit.forecast(2) == [0.0, 0.0]


def test_fit_picks_smallest_error_on_grid() -> None:
    best = forecast.fit(SERIES)
    errors = {
        (a, b): forecast.smooth(SERIES, a, b).sse for a in forecast.GRID for b in forecast.GRID
    }

    assert best.sse == pytest.approx(min(errors.values()))
    assert errors[(best.alpha, best.beta)] == pytest.approx(best.sse)


def test_fit_ties_keep_first_grid_point() -> None:
    # A straight line is predicted without error by every alpha and beta.
    best = forecast.fit([2, 4, 6, 8, 10])

    assert (best.alpha, best.beta) == (forecast.GRID[0], forecast.GRID[0])
    assert best.sse == pytest.approx(0.0, abs=1e-12)
    assert best.forecast(2) == pytest.approx([12.0, 14.0])


@pytest.mark.parametrize(
    ("series", "expected"),
    [([], [0.0, 0.0]), ([7], [7.0, 7.0]), ([3, 5], [7.0, 9.0])],
    ids=["empty", "one-point", "two-points"],
)
def test_short_series(series: list[int], expected: list[float]) -> None:
    fit = forecast.fit(series)

    assert fit.forecast(2) == pytest.approx(expected)
    assert fit.rmse == 0.0


@pytest.mark.parametrize(("alpha", "beta"), [(0.0, 0.5), (1.5, 0.5), (0.5, -0.1)])
def test_smooth_rejects_parameters_outside_range(alpha: float, beta: float) -> None:
    with pytest.raises(ValueError, match="alpha must be in"):
        forecast.smooth(SERIES, alpha, beta)


def test_fit_matches_grid_of_smooth_calls() -> None:
    rng = random.Random(7)
    for length in (2, 3, 10, 104):
        series = [rng.randint(0, 60) for _ in range(length)]
        expected = forecast.smooth(series, forecast.GRID[0], forecast.GRID[0])
        for alpha in forecast.GRID:
            for beta in forecast.GRID:
                candidate = forecast.smooth(series, alpha, beta)
                tolerance = forecast.TIE_TOLERANCE * max(expected.sse, 1.0)
                if candidate.sse < expected.sse - tolerance:
                    expected = candidate
        assert forecast.fit(series) == expected, series
