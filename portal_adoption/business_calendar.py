"""The practice's business calendar: opening hours, holidays, closures, due times.

Everything is reckoned in PRACTICE_TIME_ZONE: a day's opening and closing
times are local wall-clock times, so the clock is right across daylight-saving
changes. Public holidays come from the `holidays` package for
PRACTICE_COUNTRY; a manager adds the practice's own closures.
"""

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import holidays
from django.conf import settings

from portal_adoption.dates import practice_zone
from portal_adoption.models import (
    DEFAULT_CLOSES,
    DEFAULT_OPENS,
    BusinessHours,
    PracticeClosure,
)

# How far ahead the calendar looks for the next open day (a long holiday
# season plus closures never comes near this).
SEARCH_DAYS = 60
INTERNAL_NOON = dt.time(12, 0)


@dataclass(frozen=True)
class OpenDay:
    date: dt.date
    opens: dt.datetime
    closes: dt.datetime


class BusinessCalendar:
    """Opening hours as stored when it was made; make a new one per request or job."""

    def __init__(self, *, hours: dict[int, tuple[dt.time, dt.time]] | None = None, closures=None):
        self.zone = practice_zone()
        self.hours = hours if hours is not None else _stored_hours()
        self.closures = (
            set(closures)
            if closures is not None
            else set(PracticeClosure.objects.values_list("date", flat=True))
        )
        # Each day's answer, asked once: a month's rollup asks about the same thirty
        # days for tens of thousands of messages, and the holiday look-up is what costs.
        self._days: dict[dt.date, OpenDay | None] = {}

    @cached_property
    def _holidays(self):
        return holidays.country_holidays(settings.PRACTICE_COUNTRY)

    def is_open_day(self, day: dt.date) -> bool:
        return (
            day.weekday() in self.hours and day not in self.closures and day not in self._holidays
        )

    def open_day(self, day: dt.date) -> OpenDay | None:
        try:
            return self._days[day]
        except KeyError:
            found = self._days[day] = self._open_day(day)
            return found

    def _open_day(self, day: dt.date) -> OpenDay | None:
        if not self.is_open_day(day):
            return None
        opens, closes = self.hours[day.weekday()]
        return OpenDay(day, self._at(day, opens), self._at(day, closes))

    def _at(self, day: dt.date, time: dt.time) -> dt.datetime:
        # Wall-clock time on that day; fold=0 picks the first of a repeated hour.
        return dt.datetime.combine(day, time, tzinfo=self.zone)

    def next_open_day(self, after: dt.date) -> OpenDay:
        """The first open day strictly after `after`."""
        for offset in range(1, SEARCH_DAYS + 1):
            found = self.open_day(after + dt.timedelta(days=offset))
            if found:
                return found
        raise ValueError("the practice has no opening hours in the next 60 days")

    def previous_open_day(self, before: dt.date) -> OpenDay:
        """The last open day strictly before `before` (weekends, holidays and closures skipped)."""
        for offset in range(1, SEARCH_DAYS + 1):
            found = self.open_day(before - dt.timedelta(days=offset))
            if found:
                return found
        raise ValueError("the practice had no opening hours in the last 60 days")

    # Where a moment falls on its local day: before opening, in opening hours, or
    # after closing (a closed day is all "after").
    BEFORE, DURING, AFTER = -1, 0, 1

    def part_of_day(self, local: dt.datetime) -> tuple[OpenDay | None, int]:
        """The local day's hours (None when closed), and where `local` falls on it."""
        today = self.open_day(local.date())
        if today is None or local >= today.closes:
            return today, self.AFTER
        if local < today.opens:
            return today, self.BEFORE
        return today, self.DURING

    def is_open_at(self, moment: dt.datetime) -> bool:
        return self.part_of_day(moment.astimezone(self.zone))[1] == self.DURING

    def internal_due(self, received: dt.datetime) -> dt.datetime:
        """The internal target: the end of the same business day; after hours, noon
        of the next business day (workflows.md, "the same day")."""
        local = received.astimezone(self.zone)
        today, part = self.part_of_day(local)
        if part == self.DURING:
            return today.closes
        if part == self.BEFORE:
            return self._noon_of(today)
        return self._noon_of(self.next_open_day(local.date()))

    def _noon_of(self, day: OpenDay) -> dt.datetime:
        noon = self._at(day.date, INTERNAL_NOON)
        return min(max(noon, day.opens), day.closes)

    def external_due(self, received: dt.datetime) -> dt.datetime:
        """The promise to patients: one business day. During hours, the same time on
        the next business day; after hours, the close of the next business day."""
        local = received.astimezone(self.zone)
        today, part = self.part_of_day(local)
        if part == self.DURING:
            following = self.next_open_day(local.date())
            due = self._at(following.date, local.time())
            return min(max(due, following.opens), following.closes)
        if part == self.BEFORE:
            return today.closes
        return self.next_open_day(local.date()).closes


def _stored_hours() -> dict[int, tuple[dt.time, dt.time]]:
    rows = BusinessHours.objects.values_list("weekday", "opens", "closes")
    hours = {weekday: (opens, closes) for weekday, opens, closes in rows}
    # A database never given hours (the settings page refuses an all-closed
    # week) keeps the weekday default rather than having no business day.
    return hours or {weekday: (DEFAULT_OPENS, DEFAULT_CLOSES) for weekday in range(5)}


class MessageTiming:
    """Where a patient message fell on the calendar, and its internal due time, asking
    the calendar once per local day and part of the day.

    The internal due time depends only on the part of the day the message came
    in (BusinessCalendar.part_of_day: before opening, noon that day; during
    hours, that day's closing; after closing or on a closed day, noon of the
    next business day), and a month's tens of thousands of messages fall on
    about thirty days, so the rollups (the dashboard's and the response-time
    report's) keep the answers per (day, part). Only "during" is open; the
    other two are evening/weekend.
    """

    def __init__(self, calendar: BusinessCalendar):
        self.calendar = calendar
        self.zone = calendar.zone
        self._dues: dict[tuple[dt.date, int], dt.datetime] = {}

    def place(self, message_at: dt.datetime) -> tuple[dt.datetime, bool, dt.datetime]:
        """(the message's local time, whether the practice was open, its internal due)."""
        local = message_at.astimezone(self.zone)
        _hours, part = self.calendar.part_of_day(local)
        key = (local.date(), part)
        due = self._dues.get(key)
        if due is None:
            due = self._dues[key] = self.calendar.internal_due(message_at)
        return local, part == BusinessCalendar.DURING, due
