"""The one date-window check every date and time from outside goes through."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal_adoption.dates import (
    birth_window,
    date_window_error,
    event_window,
    filter_window,
    parse_month,
    require_in_window,
)


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1899-12-31T23:59:59+00:00"],
)
def test_an_event_time_at_the_edge_of_the_calendar_is_refused_with_the_field_named(text):
    error = date_window_error(
        dt.datetime.fromisoformat(text), field="occurred_at", window=event_window()
    )
    assert error and "occurred_at" in error and "1900-01-01" in error


def test_an_event_from_1900_or_a_few_hours_ahead_is_accepted():
    soon = timezone.now() + dt.timedelta(hours=20)
    old = dt.datetime(1900, 1, 1, 12, tzinfo=dt.UTC)
    assert date_window_error(soon, field="occurred_at", window=event_window()) is None
    assert date_window_error(old, field="occurred_at", window=event_window()) is None


def test_an_event_two_days_ahead_is_refused():
    later = timezone.now() + dt.timedelta(days=2)
    assert date_window_error(later, field="occurred_at", window=event_window())


def test_a_birth_date_tomorrow_is_refused_and_today_is_accepted():
    today = timezone.localdate()
    assert date_window_error(
        today + dt.timedelta(days=1), field="birth_date", window=birth_window()
    )
    assert date_window_error(today, field="birth_date", window=birth_window()) is None


def test_a_filter_date_of_9999_is_a_validation_error_naming_the_field():
    with pytest.raises(ValidationError, match="date_to"):
        require_in_window(dt.date(9999, 12, 31), field="date_to", window=filter_window())


@pytest.mark.parametrize("text", ["0001-01", "9999-12", "2026-13", "²", "2026-1x", ""])
def test_a_month_outside_the_window_or_badly_written_is_a_value_error(text):
    with pytest.raises(ValueError, match="month"):
        parse_month(text)


def test_a_month_inside_the_window_is_its_first_day():
    assert parse_month("2026-02") == dt.date(2026, 2, 1)
