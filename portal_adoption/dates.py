"""The one date-window check: every date or time the application takes from outside.

A date that Python can parse is not yet a date the application can use: year
0001 with a +14:00 offset turns into year 0 in UTC, 9999-12-31 plus one day
overflows, and either one, once stored, breaks every page and rollup that
reads it. So every time and date taken from the feed, the API, a form or a
query string goes through one of these windows, and a value outside gets a
clear reason that names the field and the window:

- **event**: when something happened (`occurred_at`, `sent_at`, a panel
  date): from 1900-01-01 to one day ahead of now (clocks drift, time zones
  differ).
- **birth**: a birth date: from 1900-01-01 to today; never in the future.
- **filter**: a date a person types to choose a period or plan a day (report
  filters, the access log, closures, the dashboard month, a statement's
  `due_date` in the feed): from 1900-01-01 to 2199-12-31, far enough for any
  plan and far from the overflow edge.

The windows are documented in the README ("Dates the application accepts")
and in the feed documentation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_FILTER_DATE = dt.date(2199, 12, 31)
# Feeds run on other machines' clocks and time zones: allow a day ahead.
FUTURE_ALLOWANCE = dt.timedelta(days=1)


# --- The practice's calendar ------------------------------------------------------
# Every report and rollup counts by the practice's days and months: one time zone
# and one month arithmetic for all of them.


def practice_zone() -> ZoneInfo:
    """The practice's time zone (PRACTICE_TIME_ZONE): its days, months and hours."""
    return ZoneInfo(settings.PRACTICE_TIME_ZONE)


def local_midnight(day: dt.date) -> dt.datetime:
    """The first instant of a calendar day in the practice's time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=practice_zone())


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(day: dt.date) -> dt.date:
    """The first day of the month before `day`'s."""
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def month_end(day: dt.date) -> dt.date:
    """The last day of `day`'s month."""
    return next_month(day) - dt.timedelta(days=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the months from `first`'s to `last`'s, both included."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


@dataclass(frozen=True)
class Window:
    """A closed range of calendar days, and how to say it to a person."""

    earliest: dt.date
    latest: dt.date

    def describe(self) -> str:
        return _("between %(earliest)s and %(latest)s") % {
            "earliest": self.earliest.isoformat(),
            "latest": self.latest.isoformat(),
        }

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware UTC datetimes, to keep stored times inside the window.

        The same days date_window_error accepts (it judges an aware time by
        its UTC day). Reads use it so that a row stored before the window was
        checked (or written around it) cannot break a page or a nightly job.
        """
        return (
            dt.datetime.combine(self.earliest, dt.time.min, tzinfo=dt.UTC),
            dt.datetime.combine(self.latest + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
        )


def event_window() -> Window:
    return Window(EARLIEST_DATE, (timezone.now() + FUTURE_ALLOWANCE).date())


def birth_window() -> Window:
    return Window(EARLIEST_DATE, timezone.localdate())


def filter_window() -> Window:
    return Window(EARLIEST_DATE, LATEST_FILTER_DATE)


def date_window_error(value: dt.date | dt.datetime, *, field: str, window: Window) -> str | None:
    """Why `value` is outside `window`, naming `field`; None when it is inside.

    A datetime is judged by its UTC day when it is aware, so an offset cannot
    carry a value past the edge (0001-01-01T00:00+14:00 is year 0 in UTC).
    """
    day = _utc_day(value) if isinstance(value, dt.datetime) else value
    if day is None or not (window.earliest <= day <= window.latest):
        return _("%(field)s must be %(window)s.") % {
            "field": field,
            "window": window.describe(),
        }
    return None


def _utc_day(moment: dt.datetime) -> dt.date | None:
    if moment.utcoffset() is None:
        return moment.date()
    try:
        return moment.astimezone(dt.UTC).date()
    except OverflowError:
        return None


def require_in_window(value, *, field: str, window: Window) -> None:
    """Raise Django's ValidationError (forms and DRF both show it) outside the window."""
    error = date_window_error(value, field=field, window=window)
    if error:
        raise ValidationError(error, code="out_of_window")


def parse_month(text: str, *, field: str = "month") -> dt.date:
    """A month written YYYY-MM, as its first day, inside the filter window.

    Raises ValueError with a message that names the field and the fix.
    """
    try:
        month = dt.datetime.strptime(text, "%Y-%m").date()
    except (TypeError, ValueError):
        raise ValueError(
            _("%(field)s must be written YYYY-MM, for example 2026-01.") % {"field": field}
        ) from None
    error = date_window_error(month, field=field, window=filter_window())
    if error:
        raise ValueError(error)
    return month


class FilterDateField(forms.DateField):
    """A date a person types into a filter or a plan: refused outside the filter window."""

    default_error_messages = {
        "invalid": gettext_lazy("Enter a date written YYYY-MM-DD."),
    }

    def validate(self, value):
        super().validate(value)
        if value is not None:
            require_in_window(value, field=str(self.label or _("date")), window=filter_window())


class MonthField(forms.DateField):
    """A calendar month typed as YYYY-MM (a report's month); its value is the month's
    first day, refused outside the filter window like every other filter date."""

    input_formats = ["%Y-%m"]
    widget = forms.DateInput(
        attrs={"type": "month", "placeholder": "YYYY-MM", "class": "form-control"}
    )

    def prepare_value(self, value):
        return value.strftime("%Y-%m") if isinstance(value, dt.date) else value

    def validate(self, value):
        super().validate(value)
        if value is not None:
            require_in_window(value, field=str(self.label), window=filter_window())
