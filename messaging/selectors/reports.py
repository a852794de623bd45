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

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from messaging.models import Category, ResponseTally, ResponseTallyKind, ResponseTallyMonth
from messaging.rollups import AFTER_HOURS, BUSINESS_HOURS, middle_pair, unpack
from messaging.selectors.responses import (
    FirstResponse,
    first_responses_between,
    messages_arrived_between,
)
from portal_adoption.business_calendar import BusinessCalendar
from portal_adoption.dates import local_midnight, month_end, months_between, practice_zone

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


def _percent(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


class _Times:
    """The first responses of one group: count, hours, within target, by phone.

    Response times are kept as whole microseconds; the mean is their exact sum
    over the count and the median the middle one (or the mean of the middle
    two), both in hours rounded half up to one decimal at the end, as the
    dashboard rounds them (metrics/compute.py). The rolled-up report
    (messaging.rollups) does the same arithmetic on the same integers, so the
    two give equal figures.
    """

    def __init__(self):
        self.micros: list[int] = []
        self.within_target = 0
        self.responses_by_phone = 0

    def add(self, pair: FirstResponse, calendar: BusinessCalendar) -> None:
        self.micros.append(micros_of(pair.took))
        self.within_target += pair.response_at <= calendar.internal_due(pair.message_at)
        self.responses_by_phone += pair.by_phone

    @property
    def count(self) -> int:
        return len(self.micros)

    @property
    def mean(self) -> float | None:
        return mean_hours(sum(self.micros), len(self.micros))

    @property
    def median(self) -> float | None:
        if not self.micros:
            return None
        ordered = sorted(self.micros)
        middle = len(ordered) // 2
        lower = ordered[middle - 1] if len(ordered) % 2 == 0 else ordered[middle]
        return median_hours(lower, ordered[middle])


def micros_of(took: dt.timedelta) -> int:
    return (took.days * 86_400 + took.seconds) * 1_000_000 + took.microseconds


def mean_hours(total_micros: int, count: int) -> float | None:
    """The mean of `count` response times summing to `total_micros`, in hours, one decimal."""
    if not count:
        return None
    return _one_decimal(Decimal(total_micros) / (MICROSECONDS_PER_HOUR * count))


def median_hours(lower: int, upper: int) -> float:
    """The median from the middle response time(s) in microseconds (the same one twice
    for an odd count), in hours, one decimal."""
    if lower == upper:
        return _one_decimal(Decimal(lower) / MICROSECONDS_PER_HOUR)
    return _one_decimal(
        statistics.median(
            [Decimal(lower) / MICROSECONDS_PER_HOUR, Decimal(upper) / MICROSECONDS_PER_HOUR]
        )
    )


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
    # Read from the rollup: when it was computed (None: computed live, or not rolled up).
    as_of: dt.datetime | None = None
    pending: tuple[dt.date, ...] = ()  # months of the period not rolled up yet


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
    if times is None or not times.count:
        return ResponseTimes(key=key, label=str(label))
    return ResponseTimes(
        key=key,
        label=str(label),
        replied=times.count,
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
    as_of: dt.datetime | None = None  # see CategoryReport
    pending: tuple[dt.date, ...] = ()

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
    return HourCell(day, hour, times.count, times.mean)


def _arrival(key: str, label, received: int, times: _Times) -> TimeOfArrival:
    return TimeOfArrival(
        key=key,
        label=str(label),
        received=received,
        replied=times.count,
        mean_hours=times.mean,
        median_hours=times.median,
        within_target=times.within_target,
        responses_by_phone=times.responses_by_phone,
    )


# --- From the monthly rollup (messaging.rollups) ----------------------------------------


class _Rolled:
    """The rows of one group read from the rollup: sums, and the sorted runs for the median."""

    def __init__(self):
        self.received = 0
        self.replied = 0
        self.micros = 0
        self.within_target = 0
        self.responses_by_phone = 0
        self.runs: list = []

    def add(self, received, replied, micros, within_target, by_phone, durations) -> None:
        self.received += received
        self.replied += replied
        self.micros += micros
        self.within_target += within_target
        self.responses_by_phone += by_phone
        if replied:
            self.runs.append(unpack(durations))

    @property
    def mean(self) -> float | None:
        return mean_hours(self.micros, self.replied)

    @property
    def median(self) -> float | None:
        if not self.replied:
            return None
        return median_hours(*middle_pair(self.runs, self.replied))

    def times(self, key: str, label) -> ResponseTimes:
        if not self.replied:
            return ResponseTimes(key=key, label=str(label))
        return ResponseTimes(
            key=key,
            label=str(label),
            replied=self.replied,
            mean_hours=self.mean,
            median_hours=self.median,
            within_target=self.within_target,
            responses_by_phone=self.responses_by_phone,
        )

    def arrival(self, key: str, label) -> TimeOfArrival:
        return TimeOfArrival(
            key=key,
            label=str(label),
            received=self.received,
            replied=self.replied,
            mean_hours=self.mean,
            median_hours=self.median,
            within_target=self.within_target,
            responses_by_phone=self.responses_by_phone,
        )


_TALLY_FIELDS = ("received", "replied", "micros", "within_target", "by_phone", "durations")


def _rolled_months(first: dt.date, last: dt.date) -> tuple[dt.datetime | None, tuple]:
    """When the last of these months was rolled up, and the months not rolled up yet."""
    months = months_between(first, last)
    computed = dict(
        ResponseTallyMonth.objects.filter(month__in=months).values_list("month", "computed_at")
    )
    pending = tuple(month for month in months if month not in computed)
    return computed.get(months[-1]), pending


def _rolled_cell(day: int, hour: int, cell: list[int] | None) -> HourCell:
    if cell is None:
        return HourCell(day, hour)
    replied, micros = cell
    return HourCell(day, hour, replied, mean_hours(micros, replied))


def rolled_response_times_by_category(month: dt.date) -> CategoryReport:
    """response_times_by_category for a whole month, read from the month's rollup.

    Two queries whatever the number of messages. The figures are those of
    the live report at the time the month was rolled up (`as_of`): the current
    month as of the last nightly run.
    """
    month = month.replace(day=1)
    last_day = month_end(month)
    as_of, pending = _rolled_months(month, month)
    groups: dict[str, _Rolled] = defaultdict(_Rolled)
    total = _Rolled()
    rows = ResponseTally.objects.filter(kind=ResponseTallyKind.CATEGORY, day=month).values_list(
        "key", *_TALLY_FIELDS
    )
    for key, *figures in rows:
        groups[key].add(*figures)
        total.add(*figures)
    report_rows = [groups[value].times(value, label) for value, label in Category.choices]
    if groups.get(NOT_IN_QUEUE) and groups[NOT_IN_QUEUE].replied:
        report_rows.append(groups[NOT_IN_QUEUE].times(NOT_IN_QUEUE, _("Not through the queue")))
    return CategoryReport(
        month,
        last_day,
        report_rows,
        total.times("all", _("All messages")),
        as_of=as_of,
        pending=pending,
    )


def rolled_response_times_by_hour_of_week(
    since: dt.date, *, today: dt.date | None = None
) -> HourOfWeekReport:
    """response_times_by_hour_of_week from `since` to the last rollup, read from the
    rollup's day rows (two per day at most: a year is some 730 rows).

    Three queries whatever the number of messages; the medians are picked
    from the rows' sorted runs (messaging.rollups.kth_smallest).
    """
    today = today or timezone.localdate(timezone=practice_zone())
    as_of, pending = _rolled_months(since, today)
    summaries = {BUSINESS_HOURS: _Rolled(), AFTER_HOURS: _Rolled()}
    cells: dict[tuple[int, int], list[int]] = {}
    rows = ResponseTally.objects.filter(kind=ResponseTallyKind.ARRIVAL, day__gte=since).values_list(
        "key", "cells", *_TALLY_FIELDS
    )
    for key, row_cells, *figures in rows:
        summaries[key].add(*figures)
        for place, (replied, micros) in row_cells.items():
            weekday, hour = (int(part) for part in place.split(","))
            cell = cells.setdefault((weekday, hour), [0, 0])
            cell[0] += replied
            cell[1] += micros
    grid = [
        [_rolled_cell(day, hour, cells.get((day, hour))) for hour in range(24)] for day in range(7)
    ]
    return HourOfWeekReport(
        since=since,
        grid=grid,
        business_hours=summaries[BUSINESS_HOURS].arrival("business_hours", _("In business hours")),
        after_hours=summaries[AFTER_HOURS].arrival(
            "after_hours", _("Evenings, nights, weekends and holidays")
        ),
        as_of=as_of,
        pending=pending,
    )
