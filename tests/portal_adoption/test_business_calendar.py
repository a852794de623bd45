"""Due times on the practice's business calendar: evenings, weekends, holidays, DST."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from portal_adoption.business_calendar import BusinessCalendar
from portal_adoption.models import PracticeClosure

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


def local(*args):
    return dt.datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def calendar(db):
    return BusinessCalendar()


def test_a_message_in_business_hours_is_due_by_the_end_of_that_day(calendar):
    received = local(2026, 1, 14, 10, 30)  # a Wednesday
    assert calendar.internal_due(received) == local(2026, 1, 14, 17, 0)
    assert calendar.external_due(received) == local(2026, 1, 15, 10, 30)


def test_an_evening_message_is_due_at_noon_the_next_business_day(calendar):
    received = local(2026, 1, 14, 19, 45)
    assert calendar.internal_due(received) == local(2026, 1, 15, 12, 0)
    assert calendar.external_due(received) == local(2026, 1, 15, 17, 0)


def test_an_early_morning_message_is_due_at_noon_the_same_day(calendar):
    received = local(2026, 1, 14, 6, 15)
    assert calendar.internal_due(received) == local(2026, 1, 14, 12, 0)
    assert calendar.external_due(received) == local(2026, 1, 14, 17, 0)


def test_a_friday_afternoon_message_is_promised_for_monday(calendar):
    received = local(2026, 1, 9, 16, 0)
    assert calendar.internal_due(received) == local(2026, 1, 9, 17, 0)
    assert calendar.external_due(received) == local(2026, 1, 12, 16, 0)


def test_a_weekend_message_is_due_monday_noon(calendar):
    received = local(2026, 1, 10, 11, 0)  # Saturday
    assert calendar.internal_due(received) == local(2026, 1, 12, 12, 0)
    assert calendar.external_due(received) == local(2026, 1, 12, 17, 0)


def test_a_federal_holiday_is_skipped(calendar):
    received = local(2026, 1, 16, 18, 0)  # Friday before Martin Luther King Jr. Day
    assert calendar.internal_due(received) == local(2026, 1, 20, 12, 0)


def test_a_practice_closure_is_skipped(db):
    PracticeClosure.objects.create(date=dt.date(2026, 1, 15), name="Staff training")
    calendar = BusinessCalendar()
    assert calendar.internal_due(local(2026, 1, 14, 19, 0)) == local(2026, 1, 16, 12, 0)


def test_the_spring_forward_weekend_keeps_wall_clock_noon(calendar):
    # DST starts Sunday 2026-03-08: Friday evening EST, Monday noon EDT.
    received = local(2026, 3, 6, 18, 0)
    due = calendar.internal_due(received)
    assert due == local(2026, 3, 9, 12, 0)
    assert due.astimezone(UTC) == dt.datetime(2026, 3, 9, 16, 0, tzinfo=UTC)


def test_the_fall_back_weekend_keeps_wall_clock_times(calendar):
    # DST ends Sunday 2026-11-01: Friday 10:00 EDT is promised for Monday 10:00 EST.
    received = local(2026, 10, 30, 10, 0)
    due = calendar.external_due(received)
    assert due.astimezone(UTC) == dt.datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_a_message_received_in_utc_is_reckoned_in_the_practice_zone(calendar):
    # 23:30 UTC is 18:30 in New York: after hours.
    received = dt.datetime(2026, 1, 14, 23, 30, tzinfo=UTC)
    assert calendar.internal_due(received) == local(2026, 1, 15, 12, 0)


def test_opening_hours_are_whatever_the_manager_set(db):
    saturday_mornings = {5: (dt.time(9, 0), dt.time(12, 0))}
    calendar = BusinessCalendar(hours=saturday_mornings, closures=[])
    assert calendar.is_open_at(local(2026, 1, 10, 10, 0))
    assert not calendar.is_open_at(local(2026, 1, 12, 10, 0))
    assert calendar.internal_due(local(2026, 1, 10, 10, 0)) == local(2026, 1, 10, 12, 0)


def test_a_database_never_given_hours_keeps_weekday_business_hours(db):
    from portal_adoption.models import BusinessHours

    BusinessHours.objects.all().delete()
    calendar = BusinessCalendar()
    assert calendar.internal_due(local(2026, 1, 14, 10, 30)) == local(2026, 1, 14, 17, 0)
