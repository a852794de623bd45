"""Managers' response-time reports: by category, and by hour of the week.

Aggregates only: no patient or message is named in what these return.
A response time is the time from a message's arrival (received_at) to its
first reply (first_reply_at), wall clock, in hours. Dates are calendar days
in the practice's time zone (PRACTICE_TIME_ZONE).

The dashboard's "average response time" (metrics.md) is computed from the
event log (the patient's sent time to the reply event); these reports use
the queue's own arrival time, the clock the triage team is judged by, so
the two can differ by the minutes a message takes to reach the queue.
"""

import datetime as dt
import statistics
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from messaging.models import Category, Message
from portal_adoption.business_calendar import BusinessCalendar
from portal_adoption.db import medians

HOUR = dt.timedelta(hours=1)
# Shading of the hour-of-week grid by mean response time: below 2 hours is
# heat 0, then below 4, below 8 (the default target, metrics.md), below 24,
# and a day or more is heat 4.
HEAT_LIMITS_HOURS = (2, 4, 8, 24)
WEEKDAYS = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)


def practice_zone() -> ZoneInfo:
    return ZoneInfo(settings.PRACTICE_TIME_ZONE)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=practice_zone())


def response_time():
    return ExpressionWrapper(F("first_reply_at") - F("received_at"), output_field=DurationField())


def _hours(value: dt.timedelta | None) -> float | None:
    return None if value is None else value / HOUR


def _percent(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


# --- By category ---------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseTimes:
    """Replied messages of one group: how many, how fast, how many within the internal target."""

    key: str
    label: str
    replied: int = 0
    mean_hours: float | None = None
    median_hours: float | None = None
    within_target: int = 0

    @property
    def within_target_percent(self) -> float | None:
        return _percent(self.within_target, self.replied)


@dataclass(frozen=True)
class CategoryReport:
    month_start: dt.date
    month_end: dt.date
    rows: list[ResponseTimes]
    total: ResponseTimes


def response_times_by_category(month_start: dt.date, month_end: dt.date) -> CategoryReport:
    """Messages whose first reply falls between month_start and month_end (both days included).

    As metrics.md counts them: a message belongs to the month of its first
    reply, wherever it arrived. Per category (every category, with zeros):
    replied count, mean and median hours from arrival to first reply, and how
    many were answered at or before their internal target (internal_due_at).
    """
    replied = Message.objects.filter(
        first_reply_at__gte=local_midnight(month_start),
        first_reply_at__lt=local_midnight(month_end + dt.timedelta(days=1)),
    )
    figures = {
        "replied": Count("pk"),
        "mean": Avg(response_time()),
        "within_target": Count("pk", filter=Q(first_reply_at__lte=F("internal_due_at"))),
    }
    by_category = replied.values("category").annotate(**figures).order_by()
    found = {row.pop("category"): row for row in by_category}
    middle = medians(replied, response_time(), group="category")
    rows = [
        _times(value, label, found.get(value), middle.get(value))
        for value, label in Category.choices
    ]
    total = _times(
        "all", _("All categories"), replied.aggregate(**figures), medians(replied, response_time())
    )
    return CategoryReport(month_start, month_end, rows, total)


def _times(key, label, row: dict | None, median) -> ResponseTimes:
    if isinstance(median, dict):
        median = median.get(None)
    if not row or not row["replied"]:
        return ResponseTimes(key=key, label=str(label))
    return ResponseTimes(
        key=key,
        label=str(label),
        replied=row["replied"],
        mean_hours=_hours(row["mean"]),
        median_hours=_hours(median),
        within_target=row["within_target"],
    )


# --- By hour of the week ---------------------------------------------------------------


def heat_level(mean_hours: float | None) -> str:
    """The CSS shade of a grid cell: "none" without replies, else "0" (fast) to "4" (slow)."""
    if mean_hours is None:
        return "none"
    return str(sum(mean_hours >= limit for limit in HEAT_LIMITS_HOURS))


@dataclass(frozen=True)
class HourCell:
    weekday: int  # 0 = Monday
    hour: int  # 0-23, local time of arrival
    replied: int = 0
    mean_hours: float | None = None

    @property
    def heat(self) -> str:
        return heat_level(self.mean_hours)


@dataclass(frozen=True)
class TimeOfArrival:
    """Messages that arrived in or out of business hours: received, replied, how fast."""

    key: str
    label: str
    received: int = 0
    replied: int = 0
    mean_hours: float | None = None
    median_hours: float | None = None
    within_target: int = 0

    @property
    def waiting(self) -> int:
        return self.received - self.replied

    @property
    def within_target_percent(self) -> float | None:
        return _percent(self.within_target, self.replied)


@dataclass(frozen=True)
class HourOfWeekReport:
    since: dt.date
    grid: list[list[HourCell]]  # grid[weekday][hour]
    business_hours: TimeOfArrival
    after_hours: TimeOfArrival

    @property
    def weekdays(self) -> list[str]:
        return [str(day) for day in WEEKDAYS]

    @property
    def by_hour(self) -> list[tuple[int, list[HourCell]]]:
        """The grid turned for a page: one row per hour, a cell per weekday."""
        return [(hour, [self.grid[day][hour] for day in range(7)]) for hour in range(24)]

    @property
    def summaries(self) -> list[TimeOfArrival]:
        return [self.business_hours, self.after_hours]

    @property
    def replied(self) -> int:
        return self.business_hours.replied + self.after_hours.replied


def response_times_by_hour_of_week(
    since: dt.date, *, now: dt.datetime | None = None
) -> HourOfWeekReport:
    """Messages that arrived from `since` (local midnight) to now, by when they arrived.

    1. The grid: replied messages by the local weekday and hour of arrival,
       with their count and mean hours to the first reply (the database
       groups them).
    2. The summary: business hours (BusinessCalendar.is_open_at on the
       arrival time, so holidays and closures count as out of hours) against
       evenings, nights, weekends and holidays. That classification needs
       the calendar, so it loops in Python over the period's messages (three
       timestamps each, streamed); the page limits the period to a year.
    """
    now = now or timezone.now()
    zone = practice_zone()
    arrived = Message.objects.filter(received_at__gte=local_midnight(since), received_at__lte=now)
    cells = (
        arrived.filter(first_reply_at__isnull=False)
        .annotate(
            weekday=ExtractIsoWeekDay("received_at", tzinfo=zone),
            hour=ExtractHour("received_at", tzinfo=zone),
        )
        .values("weekday", "hour")
        .annotate(replied=Count("pk"), mean=Avg(response_time()))
        .order_by()
    )
    found = {(row["weekday"] - 1, row["hour"]): row for row in cells}
    grid = [
        [
            HourCell(day, hour, found[day, hour]["replied"], _hours(found[day, hour]["mean"]))
            if (day, hour) in found
            else HourCell(day, hour)
            for hour in range(24)
        ]
        for day in range(7)
    ]
    business, after = _summaries(arrived)
    return HourOfWeekReport(since=since, grid=grid, business_hours=business, after_hours=after)


def _summaries(arrived: QuerySet) -> tuple[TimeOfArrival, TimeOfArrival]:
    calendar = BusinessCalendar()
    tallies = {True: _Tally(), False: _Tally()}
    rows = arrived.values_list("received_at", "first_reply_at", "internal_due_at").order_by()
    for received, first_reply, due in rows.iterator(chunk_size=2000):
        tallies[calendar.is_open_at(received)].add(received, first_reply, due)
    return (
        tallies[True].result("business_hours", _("In business hours")),
        tallies[False].result("after_hours", _("Evenings, nights, weekends and holidays")),
    )


class _Tally:
    def __init__(self):
        self.received = 0
        self.hours: list[float] = []
        self.within_target = 0

    def add(self, received, first_reply, due) -> None:
        self.received += 1
        if first_reply is None:
            return
        self.hours.append((first_reply - received) / HOUR)
        self.within_target += first_reply <= due

    def result(self, key: str, label) -> TimeOfArrival:
        return TimeOfArrival(
            key=key,
            label=str(label),
            received=self.received,
            replied=len(self.hours),
            mean_hours=statistics.fmean(self.hours) if self.hours else None,
            median_hours=statistics.median(self.hours) if self.hours else None,
            within_target=self.within_target,
        )
