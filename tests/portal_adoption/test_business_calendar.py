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
    # Monday to Friday, 08:00 to 17:00: Friday open, Saturday and Sunday closed.
    assert [calendar.is_open_day(dt.date(2026, 1, day)) for day in range(9, 13)] == [
        True,
        False,
        False,
        True,
    ]


# Every day of the week open, so that only the closures decide: the calendar looks
# 60 days ahead (and back) for an open day, and no further.
EVERY_DAY = {weekday: (dt.time(9), dt.time(17)) for weekday in range(7)}


def closed_for(first: dt.date, days: int, step: int = 1) -> set[dt.date]:
    return {first + dt.timedelta(days=step * n) for n in range(days)}


def test_after_fifty_nine_closed_days_the_sixtieth_is_the_next_open_day(db):
    after = dt.date(2026, 3, 1)
    calendar = BusinessCalendar(hours=EVERY_DAY, closures=closed_for(dt.date(2026, 3, 2), 59))
    assert calendar.next_open_day(after).date == dt.date(2026, 4, 30)


def test_sixty_closed_days_ahead_are_an_error_not_a_due_time_beyond_them(db):
    after = dt.date(2026, 3, 1)
    calendar = BusinessCalendar(hours=EVERY_DAY, closures=closed_for(dt.date(2026, 3, 2), 60))
    with pytest.raises(
        ValueError, match=r"^the practice has no opening hours in the next 60 days$"
    ):
        calendar.next_open_day(after)


def test_before_fifty_nine_closed_days_the_sixtieth_back_is_the_previous_open_day(db):
    before = dt.date(2026, 5, 1)
    calendar = BusinessCalendar(hours=EVERY_DAY, closures=closed_for(dt.date(2026, 4, 30), 59, -1))
    assert calendar.previous_open_day(before).date == dt.date(2026, 3, 2)


def test_sixty_closed_days_back_are_an_error_not_an_open_day_before_them(db):
    before = dt.date(2026, 5, 1)
    calendar = BusinessCalendar(hours=EVERY_DAY, closures=closed_for(dt.date(2026, 4, 30), 60, -1))
    with pytest.raises(
        ValueError, match=r"^the practice had no opening hours in the last 60 days$"
    ):
        calendar.previous_open_day(before)


def test_the_day_before_a_tuesday_is_its_previous_open_day(calendar):
    assert calendar.previous_open_day(dt.date(2026, 1, 13)).date == dt.date(2026, 1, 12)
    assert calendar.next_open_day(dt.date(2026, 1, 12)).date == dt.date(2026, 1, 13)


def test_a_practice_in_guam_keeps_its_own_day_not_the_servers(db, settings):
    # The server's clock stays in New York (TIME_ZONE at start-up); the practice's day
    # is Guam's: 08:30 on Thursday in Guam is 17:30 on Wednesday in New York.
    settings.PRACTICE_TIME_ZONE = "Pacific/Guam"
    guam = ZoneInfo("Pacific/Guam")
    calendar = BusinessCalendar()
    received = dt.datetime(2026, 1, 15, 8, 30, tzinfo=guam).astimezone(UTC)
    assert calendar.is_open_at(received)
    assert calendar.internal_due(received) == dt.datetime(2026, 1, 15, 17, 0, tzinfo=guam)
    assert calendar.external_due(received) == dt.datetime(2026, 1, 16, 8, 30, tzinfo=guam)
