"""Ranges and ``for`` durations of the rules, scaled to the scrape interval they run with."""

from __future__ import annotations

from dataclasses import dataclass

from leitstand.durations import format_duration

# Every range covers at least this many scrape intervals, so that one missed
# scrape still leaves rate() enough samples and Prometheus 3's left-open
# ranges lose nothing that matters.
MIN_SCRAPES_PER_RANGE = 4


@dataclass(frozen=True)
class RuleTiming:
    """Turns the nominal durations of the thresholds file into the ones a rule file uses.

    The nominal durations are meant for ``base_scrape_ms``. Rendering for
    another scrape interval scales each of them by ``scrape_ms / base_scrape_ms``.
    A range never gets shorter than four scrape intervals, and no ``for``
    gets longer than ``max_for_ms`` when that is set.
    """

    base_scrape_ms: int
    scrape_ms: int
    max_for_ms: int | None = None

    def __post_init__(self) -> None:
        if self.base_scrape_ms <= 0 or self.scrape_ms <= 0:
            raise ValueError(
                f"invalid scrape interval {self.scrape_ms} ms (base {self.base_scrape_ms} ms): "
                "scrape intervals are positive"
            )

    def scale(self, nominal_ms: int) -> int:
        return nominal_ms * self.scrape_ms // self.base_scrape_ms

    def range(self, nominal_ms: int) -> str:
        """Return the range selector length, e.g. ``5m``, for a nominal range."""
        return format_duration(max(self.scale(nominal_ms), MIN_SCRAPES_PER_RANGE * self.scrape_ms))

    def for_(self, nominal_ms: int) -> str:
        """Return the ``for`` duration of an alert rule for a nominal one."""
        scaled = self.scale(nominal_ms)
        if self.max_for_ms is not None:
            scaled = min(scaled, self.max_for_ms)
        return format_duration(scaled)

    @property
    def is_default(self) -> bool:
        return self.scrape_ms == self.base_scrape_ms and self.max_for_ms is None
