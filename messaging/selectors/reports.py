"""Managers' response-time reports: by category, and by hour of the week.

Aggregates only: no patient or message is named in what these return.
Response times follow the one definition of metrics.md, read from the event
log by messaging.selectors.responses: from the patient's message (its first
message_from_patient event) to its first response (the earliest portal reply
or call, message_to_patient or response_by_phone, naming it), wall clock, in
hours rounded half up to one decimal as the dashboard rounds them. On the
same event log these reports and the dashboard give the same figures, and
messages the queue never held (known only from the portal's feed) count
here as they do there. The messages whose first response was a call are
counted beside the times ("answered by phone"). Dates are calendar days in
the practice's time zone (PRACTICE_TIME_ZONE).
"""

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from messaging.models import Category
from messaging.selectors.responses import (
    FirstResponse,
    first_responses_between,
    messages_arrived_between,
)
from portal_adoption.business_calendar import BusinessCalendar

MICROSECONDS_PER_HOUR = 3_600_000_000
ONE_DECIMAL = Decimal("0.1")
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
# The row for messages the queue never held: the portal's feed sent the
# message and its answer, and the dashboard counts them.
NOT_IN_QUEUE = "not_in_queue"


def practice_zone() -> ZoneInfo:
    return ZoneInfo(settings.PRACTICE_TIME_ZONE)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=practice_zone())


def _percent(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


class _Times:
    """The first responses of one group: count, hours, within target, by phone.

    Hours are exact decimals of the microseconds, mean and median rounded half
    up to one decimal at the end: the dashboard's arithmetic (metrics/compute.py).
    """

    def __init__(self):
        self.hours: list[Decimal] = []
        self.within_target = 0
        self.responses_by_phone = 0

    def add(self, pair: FirstResponse, calendar: BusinessCalendar) -> None:
        took = pair.took
        micros = (took.days * 86_400 + took.seconds) * 1_000_000 + took.microseconds
        self.hours.append(Decimal(micros) / MICROSECONDS_PER_HOUR)
        self.within_target += pair.response_at <= calendar.internal_due(pair.message_at)
        self.responses_by_phone += pair.by_phone

    @property
    def mean(self) -> float | None:
        return _one_decimal(sum(self.hours) / len(self.hours)) if self.hours else None

    @property
    def median(self) -> float | None:
        return _one_decimal(statistics.median(self.hours)) if self.hours else None


def _one_decimal(value: Decimal) -> float:
    return float(value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP))


# --- By category ---------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseTimes:
    """Answered messages of one group: how many, how fast, how many within the internal
    target, and how many of them were answered by phone."""

    key: str
    label: str
    replied: int = 0
    mean_hours: float | None = None
    median_hours: float | None = None
    within_target: int = 0
    responses_by_phone: int = 0

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
    """Messages whose first response falls between month_start and month_end (both days
    included).

    As metrics.md counts them: a message belongs to the month of its first
    response, wherever it arrived, and "within the internal target" is the
    business calendar's target for the time the patient sent it. Per
    category of the queue (every category, with zeros), then a row for
    messages the queue never held when there are any, then the total, which
    is the dashboard's figure for the same days.
    """
    calendar = BusinessCalendar()
    groups: dict[str, _Times] = defaultdict(_Times)
    total = _Times()
    start, end = local_midnight(month_start), local_midnight(month_end + dt.timedelta(days=1))
    for pair in first_responses_between(start, end):
        groups[pair.category or NOT_IN_QUEUE].add(pair, calendar)
        total.add(pair, calendar)
    rows = [_times(value, label, groups.get(value)) for value, label in Category.choices]
    if NOT_IN_QUEUE in groups:
        rows.append(_times(NOT_IN_QUEUE, _("Not through the queue"), groups[NOT_IN_QUEUE]))
    return CategoryReport(month_start, month_end, rows, _times("all", _("All messages"), total))


def _times(key, label, times: _Times | None) -> ResponseTimes:
    if times is None or not times.hours:
        return ResponseTimes(key=key, label=str(label))
    return ResponseTimes(
        key=key,
        label=str(label),
        replied=len(times.hours),
        mean_hours=times.mean,
        median_hours=times.median,
        within_target=times.within_target,
        responses_by_phone=times.responses_by_phone,
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
    """Messages that arrived in or out of business hours: received, answered, how fast."""

    key: str
    label: str
    received: int = 0
    replied: int = 0
    mean_hours: float | None = None
    median_hours: float | None = None
    within_target: int = 0
    responses_by_phone: int = 0

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
    """Messages the patients sent from `since` (local midnight) to now, by when they sent them.

    1. The grid: answered messages by the local weekday and hour the message
       was sent, with their count and mean hours to the first response.
    2. The summary: business hours (BusinessCalendar.is_open_at on the
       message's time, so holidays and closures count as out of hours)
       against evenings, nights, weekends and holidays.
    Both need the calendar or the local clock, so one loop in Python goes
    over the period's messages (three values each, streamed); the page limits
    the period to a year.
    """
    now = now or timezone.now()
    zone = practice_zone()
    calendar = BusinessCalendar()
    cells: dict[tuple[int, int], _Times] = defaultdict(_Times)
    received = {True: 0, False: 0}
    summaries = {True: _Times(), False: _Times()}
    for pair in messages_arrived_between(local_midnight(since), now):
        in_hours = calendar.is_open_at(pair.message_at)
        received[in_hours] += 1
        if pair.response_at is None:
            continue
        summaries[in_hours].add(pair, calendar)
        local = pair.message_at.astimezone(zone)
        cells[local.weekday(), local.hour].add(pair, calendar)
    grid = [[_cell(day, hour, cells.get((day, hour))) for hour in range(24)] for day in range(7)]
    return HourOfWeekReport(
        since=since,
        grid=grid,
        business_hours=_arrival(
            "business_hours", _("In business hours"), received[True], summaries[True]
        ),
        after_hours=_arrival(
            "after_hours",
            _("Evenings, nights, weekends and holidays"),
            received[False],
            summaries[False],
        ),
    )


def _cell(day: int, hour: int, times: _Times | None) -> HourCell:
    if times is None:
        return HourCell(day, hour)
    return HourCell(day, hour, len(times.hours), times.mean)


def _arrival(key: str, label, received: int, times: _Times) -> TimeOfArrival:
    return TimeOfArrival(
        key=key,
        label=str(label),
        received=received,
        replied=len(times.hours),
        mean_hours=times.mean,
        median_hours=times.median,
        within_target=times.within_target,
        responses_by_phone=times.responses_by_phone,
    )
