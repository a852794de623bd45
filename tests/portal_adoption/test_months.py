"""One practice calendar (portal_adoption.dates): its time zone and month arithmetic for
every report, rollup, plan and form."""

import datetime as dt
import re
from pathlib import Path

import pytest

from portal_adoption.dates import month_end, months_between, next_month, previous_month

ROOT = Path(__file__).resolve().parents[2]
APPS = ("enrollment", "messaging", "metrics", "patients", "portal_adoption", "program")
# The two ways this codebase used to step a month by hand, and its own copies of the
# practice's time zone.
HAND_MADE_MONTH = re.compile(r"replace\(day=28\)|timedelta\(days=1\)\)\.replace\(day=1\)")
HAND_MADE_ZONE = re.compile(
    r"ZoneInfo\(settings\.PRACTICE_TIME_ZONE\)|def (practice_zone|local_midnight)\("
)


@pytest.mark.parametrize(
    ("day", "following", "before", "last"),
    [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 31)),
        (dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 29)),
        (dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 12, 15), dt.date(2027, 1, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 31)),
    ],
)
def test_a_month_steps_to_its_neighbors_and_ends_on_its_last_day(day, following, before, last):
    assert next_month(day) == following
    assert previous_month(day) == before
    assert month_end(day) == last


def test_the_months_between_two_days_include_both_ends_across_a_new_year():
    assert months_between(dt.date(2025, 11, 30), dt.date(2026, 2, 1)) == [
        dt.date(2025, 11, 1),
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]
    assert months_between(dt.date(2026, 3, 5), dt.date(2026, 2, 1)) == []


def lines_matching(pattern: re.Pattern) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{number}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and path != ROOT / "portal_adoption" / "dates.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]


@pytest.mark.reads_the_source
def test_no_module_steps_a_month_by_hand():
    hand_made = lines_matching(HAND_MADE_MONTH)
    assert hand_made == [], "use portal_adoption.dates: " + ", ".join(hand_made)


@pytest.mark.reads_the_source
def test_no_module_makes_its_own_practice_time_zone():
    hand_made = lines_matching(HAND_MADE_ZONE)
    assert hand_made == [], "use portal_adoption.dates.practice_zone: " + ", ".join(hand_made)
