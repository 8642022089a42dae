"""Demand forecast by Holt's linear method (double exponential smoothing).

For a series y_0 .. y_{n-1}, with level l and trend b:

    l_0 = y_0,  b_0 = y_1 - y_0
    l_t = alpha * y_t + (1 - alpha) * (l_{t-1} + b_{t-1})
    b_t = beta * (l_t - l_{t-1}) + (1 - beta) * b_{t-1}
    forecast for h steps after the last point: l_{n-1} + h * b_{n-1}

``fit`` picks alpha and beta from a fixed grid by the smallest sum of squared
one-step-ahead errors. Sums that differ by less than ``TIE_TOLERANCE``
(relative) count as ties, which keep the earlier grid point, so rounding noise
never decides between equally good parameters. Demand is never negative, so forecasts are cut at 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Candidate values of alpha and beta: 0.05, 0.10, ..., 0.95.
GRID = tuple(round(0.05 * step, 2) for step in range(1, 20))
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class HoltFit:
    alpha: float
    beta: float
    level: float
    trend: float
    sse: float
    points: int

    @property
    def rmse(self) -> float:
        """Root mean square of the one-step-ahead errors from y_2 on (0 for fewer than 3 points).

        The error at y_1 is 0 by construction of b_0, so it is left out.
        """
        errors = self.points - 2
        return math.sqrt(self.sse / errors) if errors > 0 else 0.0

    def forecast(self, horizon: int) -> list[float]:
        """Return the forecasts for the ``horizon`` steps after the series, each at least 0."""
        return [max(self.level + step * self.trend, 0.0) for step in range(1, horizon + 1)]


def smooth(series: Sequence[float], alpha: float, beta: float) -> HoltFit:
    """Run Holt's recursion over ``series`` with fixed ``alpha`` and ``beta``."""
    if not (0.0 < alpha <= 1.0 and 0.0 <= beta <= 1.0):
        raise ValueError(f"alpha must be in (0, 1] and beta in [0, 1], got {alpha} and {beta}")
    if not series:
        return HoltFit(alpha, beta, level=0.0, trend=0.0, sse=0.0, points=0)
    if len(series) == 1:
        return HoltFit(alpha, beta, level=float(series[0]), trend=0.0, sse=0.0, points=1)

    level = float(series[0])
    trend = float(series[1]) - level
    sse = 0.0
    for value in series[1:]:
        predicted = level + trend
        sse += (value - predicted) ** 2
        previous_level = level
        level = alpha * value + (1.0 - alpha) * predicted
        trend = beta * (level - previous_level) + (1.0 - beta) * trend
    return HoltFit(alpha, beta, level, trend, sse, points=len(series))


# Every (alpha, beta) pair of the grid in the order ``fit`` tries them.
_ALPHAS = np.repeat(np.array(GRID), len(GRID))
_BETAS = np.tile(np.array(GRID), len(GRID))


def fit(series: Sequence[float]) -> HoltFit:
    """Return the fit with the smallest one-step-ahead squared error over ``GRID``.

    All grid points run Holt's recursion at once, as numpy arrays, so one fit
    costs about a hundred array steps instead of 361 Python loops. The forecast
    runs on the worker's event loop, where a long fit would stall every request of
    that worker. Each element sees the same operations in the same order as
    ``smooth``, so the sums are the same floats.
    """
    if len(series) < 2:
        return smooth(series, GRID[0], GRID[0])

    level = np.full(_ALPHAS.shape, float(series[0]))
    trend = np.full(_ALPHAS.shape, float(series[1]) - float(series[0]))
    sse = np.zeros(_ALPHAS.shape)
    for raw in series[1:]:
        value = float(raw)
        predicted = level + trend
        sse += (value - predicted) ** 2
        previous_level = level
        level = _ALPHAS * value + (1.0 - _ALPHAS) * predicted
        trend = _BETAS * (level - previous_level) + (1.0 - _BETAS) * trend

    best = 0
    for index in range(1, len(sse)):
        if sse[index] < sse[best] - TIE_TOLERANCE * max(float(sse[best]), 1.0):
            best = index
    return HoltFit(
        float(_ALPHAS[best]),
        float(_BETAS[best]),
        float(level[best]),
        float(trend[best]),
        float(sse[best]),
        points=len(series),
    )
