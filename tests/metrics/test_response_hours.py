"""Mean and median response hours: computed in whole microseconds, the figures of
dividing every response first (metrics.md: hours, one decimal, half up)."""

import random
import statistics
from decimal import Decimal

import pytest

from metrics.compute import MICROSECONDS_PER_HOUR, Response, _hours_figures, _one_decimal

HOUR = 3_600_000_000


def each_divided_first(micros: list[int]) -> tuple[float, float]:
    """The definition as first written: every response in hours, then mean and median."""
    hours = [Decimal(m) / MICROSECONDS_PER_HOUR for m in micros]
    return _one_decimal(sum(hours) / len(hours)), _one_decimal(statistics.median(hours))


def figures(micros: list[int]) -> tuple[float, float]:
    responses = [Response(m, True, False, False) for m in micros]
    found = _hours_figures(responses, "mean", "median")
    return found["mean"], found["median"]


@pytest.mark.parametrize(
    "micros",
    [
        [HOUR // 4 * 5],  # 1.25 h: exactly on a half-tenth, rounds up to 1.3
        [HOUR * 5 // 100],  # 0.05 h
        [HOUR, HOUR // 2],  # an even count: the mean of the two middle ones, 0.75
        [HOUR // 20 * 3, HOUR // 20 * 4],  # 0.15 and 0.2: median 0.175
        [1, 2, 3],
        [HOUR * 24 * 365, 0, 7],
    ],
)
def test_the_figures_at_the_rounding_edges_are_those_of_each_hour_divided_first(micros):
    assert figures(micros) == each_divided_first(micros)


def test_the_figures_of_many_months_of_responses_are_those_of_each_hour_divided_first():
    rng = random.Random(15)
    for _month in range(300):
        count = rng.randrange(1, 400)
        micros = [int(rng.lognormvariate(22, 1.5)) for _ in range(count)]
        # Some response times a whole number of minutes: quotients that end exactly.
        micros += [rng.randrange(0, 600) * 60_000_000 for _ in range(rng.randrange(0, 5))]
        assert figures(micros) == each_divided_first(micros)
