"""The response-time report rolled up per month, with the dashboard's nightly rollup.

The report (messaging.selectors.reports) has two halves, and each is rolled
up the way it counts:

- by category: the messages whose first response fell in month M, per
  category of the queue (one row per category, and "not_in_queue");
- by hour of the week: the messages sent on each local day of M, in and out
  of business hours (two rows per day), with their first response whenever
  it came, the replied count and summed time per "weekday,hour" cell.

Each row keeps the counts, the summed microseconds, and every response time
sorted (`pack`): the mean over any set of rows is their summed time over their
count, and the median is picked from the sorted runs (`kth_smallest`) without
merging them, so the page reads a few hundred rows, never the event log, and
its figures equal the live computation's.

`response_tallies_rollup(month)` is registered in portal_adoption.rollup_hooks
(messaging.apps): metrics' `rollup_month` calls it for every month it
recomputes, in its transaction. `response_months_changed(since)` adds to the
dashboard's stale-month rule what only this report sees: a reply recorded
since then to a message sent in an earlier month changes that month's
"by hour of the week" rows.

No patient data is stored: counts, sums and durations only.
"""

from __future__ import annotations

import datetime as dt
import sys
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from messaging.models import (
    BillPayMonth,
    Communication,
    CommunicationStatus,
    OutreachRule,
    ResponseTally,
    ResponseTallyKind,
    ResponseTallyMonth,
    ResultEducationItem,
    ResultsEducationMonth,
)
from messaging.selectors.bill_pay import bill_pay_report
from messaging.selectors.responses import (
    FirstResponse,
    first_responses_between,
    messages_arrived_between,
)
from messaging.selectors.results_education import results_education_view_share
from patients.models import EventType, ObjectFirsts, StatementFirsts
from patients.rules import RESPONSE_TYPES
from patients.selectors import event_time_in_window, plausible_events
from portal_adoption.business_calendar import BusinessCalendar, MessageTiming
from portal_adoption.dates import next_month, practice_zone
from portal_adoption.rollup_hooks import MonthReads

NOT_IN_QUEUE = "not_in_queue"
BUSINESS_HOURS, AFTER_HOURS = "business_hours", "after_hours"


def month_start_end(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[local midnight of the 1st, local midnight of the next month's 1st)."""
    zone = practice_zone()
    first = month.replace(day=1)
    following = next_month(first)
    return (
        dt.datetime.combine(first, dt.time.min, tzinfo=zone),
        dt.datetime.combine(following, dt.time.min, tzinfo=zone),
    )


# --- Sorted runs of durations ---------------------------------------------------------


def pack(micros: list[int]) -> bytes:
    """Response times, sorted, as little-endian signed 64-bit integers."""
    run = array("q", sorted(micros))
    if sys.byteorder != "little":
        run.byteswap()
    return run.tobytes()


def unpack(data: bytes | memoryview) -> array:
    run = array("q")
    run.frombytes(bytes(data))
    if sys.byteorder != "little":
        run.byteswap()
    return run


def kth_smallest(runs: Sequence[array], k: int) -> int:
    """The k-th smallest value (0-based) of several sorted runs, without merging them.

    A binary search on the value: the smallest v with more than k values <= v.
    About 40 rounds of one bisect per run for response times up to a year.
    """
    runs = [run for run in runs if run]
    low = min(run[0] for run in runs)
    high = max(run[-1] for run in runs)
    while low < high:
        middle = (low + high) // 2
        if sum(bisect_right(run, middle) for run in runs) > k:
            high = middle
        else:
            low = middle + 1
    return low


def middle_pair(runs: Sequence[array], count: int) -> tuple[int, int]:
    """The middle value of `count` values in sorted runs, twice for an odd count, else
    the two middle ones."""
    upper = kth_smallest(runs, count // 2)
    lower = upper if count % 2 else kth_smallest(runs, count // 2 - 1)
    return lower, upper


# --- The rollup -----------------------------------------------------------------------


class _Group:
    def __init__(self):
        self.received = 0
        self.micros: list[int] = []
        self.within_target = 0
        self.by_phone = 0
        self.cells: dict[str, list[int]] = {}

    def add(self, pair: FirstResponse, due: dt.datetime) -> int:
        took = pair.took
        micros = (took.days * 86_400 + took.seconds) * 1_000_000 + took.microseconds
        self.micros.append(micros)
        self.within_target += pair.response_at <= due
        self.by_phone += pair.by_phone
        return micros

    def row(self, month: dt.date, kind: str, day: dt.date, key: str) -> ResponseTally:
        return ResponseTally(
            month=month,
            kind=kind,
            day=day,
            key=key,
            received=self.received,
            replied=len(self.micros),
            micros=sum(self.micros),
            within_target=self.within_target,
            by_phone=self.by_phone,
            durations=pack(self.micros),
            cells=self.cells,
        )


RESPONSE_TIMES = "messaging.response_times"


def response_arrivals(month: dt.date) -> dict[tuple[dt.date, bool], _Group]:
    """The "by hour of the week" half, per local day and in or out of hours: the
    month's patient messages, each with its first response whenever it came
    (messages_arrived_between). The hook's own read, which the rollup runs
    beside the dashboard's reads."""
    start, end = month_start_end(month.replace(day=1))
    timing = MessageTiming(BusinessCalendar())
    arrivals: dict[tuple[dt.date, bool], _Group] = defaultdict(_Group)
    for pair in messages_arrived_between(start, end, include_end=False):
        local, in_hours, due = timing.place(pair.message_at)
        group = arrivals[local.date(), in_hours]
        group.received += 1
        if pair.response_at is None:
            continue
        micros = group.add(pair, due)
        cell = group.cells.setdefault(f"{local.weekday()},{local.hour}", [0, 0])
        cell[0] += 1
        cell[1] += micros
    return arrivals


def response_tallies_rollup(month: dt.date, reads: MonthReads | None = None) -> int:
    """Recompute month's rows of the response-time report; returns the rows written.

    Replaces the month's rows in one transaction (metrics' rollup calls it in
    its own). The definitions are the live report's: first_responses_between
    for the categories (the pairs the dashboard's rollup read, when `reads`
    has them), messages_arrived_between for the arrivals (response_arrivals,
    read beside the dashboard's reads when `reads` has it).
    """
    month = month.replace(day=1)
    start, end = month_start_end(month)
    computed_at = timezone.now()
    timing = MessageTiming(BusinessCalendar())

    categories: dict[str, _Group] = defaultdict(_Group)
    read = reads.first_responses if reads is not None else None
    for pair in first_responses_between(start, end, read=read):
        _local, _in_hours, due = timing.place(pair.message_at)
        categories[pair.category or NOT_IN_QUEUE].add(pair, due)

    arrivals = reads.read_of(RESPONSE_TIMES) if reads is not None else None
    if arrivals is None:
        arrivals = response_arrivals(month)

    rows = [
        group.row(month, ResponseTallyKind.CATEGORY, month, key)
        for key, group in sorted(categories.items())
    ]
    rows += [
        group.row(
            month, ResponseTallyKind.ARRIVAL, day, BUSINESS_HOURS if in_hours else AFTER_HOURS
        )
        for (day, in_hours), group in sorted(arrivals.items())
    ]
    with transaction.atomic():
        ResponseTally.objects.filter(month=month).delete()
        ResponseTally.objects.bulk_create(rows)
        ResponseTallyMonth.objects.update_or_create(
            month=month, defaults={"computed_at": computed_at}
        )
    return len(rows)


def response_months_changed(since: dt.datetime) -> list[dt.date]:
    """Months whose "by hour of the week" rows a response recorded at or after `since`
    changes: the month each answered message was sent in (its first
    message_from_patient). The response's own month is the dashboard's rule."""
    responses = (
        plausible_events()
        .filter(
            type__in=RESPONSE_TYPES,
            recorded_at__gte=since,
            patient=OuterRef("patient"),
            reply_to=OuterRef("object_id"),
        )
        .exclude(reply_to="")
    )
    months = (
        plausible_events()
        .filter(type=EventType.MESSAGE_FROM_PATIENT)
        .filter(Exists(responses))
        .annotate(month=TruncMonth("occurred_at", tzinfo=practice_zone()))
        .order_by()
        .values_list("month", flat=True)
        .distinct()
    )
    found = set()
    for value in months:
        if isinstance(value, dt.datetime):
            value = (
                timezone.localtime(value, practice_zone()).date()
                if timezone.is_aware(value)
                else value.date()
            )
        found.add(value.replace(day=1))
    return sorted(found)


# --- The results-education report -------------------------------------------------------


RESULTS_EDUCATION = "messaging.results_education"


def results_education_rollup(month: dt.date, reads: MonthReads | None = None) -> int:
    """Recompute the month's results-education line (the live definition,
    messaging.selectors.results_education) and store it; returns the rows written.
    `reads` holds nothing this report needs: its one query runs here while the
    second connection reads the response-time report's arrivals."""
    month = month.replace(day=1)
    computed_at = timezone.now()
    line = results_education_view_share(month)
    ResultsEducationMonth.objects.update_or_create(
        month=month,
        defaults={
            "computed_at": computed_at,
            "messaged_viewed": line.messaged.viewed,
            "messaged_same_day": line.messaged.same_day,
            "not_messaged_viewed": line.not_messaged.viewed,
            "not_messaged_same_day": line.not_messaged.same_day,
        },
    )
    return 1


def results_education_months_changed(since: dt.datetime) -> list[dt.date]:
    """Months whose line a message sent at or after `since` changes: those of the first
    views of the results it covered (a result moves to the "messaged" row). A view
    or release recorded since is the dashboard's own stale-month rule, which marks
    every month of that result's release and views."""
    covered = ResultEducationItem.objects.filter(
        patient_id=OuterRef("patient_id"),
        result_key=OuterRef("object_id"),
        communication__sent_at__gte=since,
    )
    first_views = (
        ObjectFirsts.objects.filter(event_time_in_window("first_at"), type=EventType.RESULT_VIEWED)
        .filter(Exists(covered))
        .values_list("first_at", flat=True)
    )
    zone = practice_zone()
    return sorted({first_view.astimezone(zone).date().replace(day=1) for first_view in first_views})


# --- The bill-pay report ----------------------------------------------------------------


def bill_pay_rollup(month: dt.date, reads: MonthReads | None = None) -> int:
    """Recompute the month's bill-pay counts (the live definition,
    messaging.selectors.bill_pay) and store them; returns the rows written.
    `reads` holds nothing this report needs."""
    month = month.replace(day=1)
    computed_at = timezone.now()
    counts = bill_pay_report(month).counts()
    BillPayMonth.objects.update_or_create(
        month=month, defaults={"computed_at": computed_at, **counts}
    )
    return 1


def bill_pay_months_changed(since: dt.datetime) -> list[dt.date]:
    """Months whose counts what was recorded at or after `since` changes beyond the
    dashboard's rule (a late event marks its own month and the later ones): those of
    the statements that a payment recorded since pays, or a reminder sent since
    reminded of (its period is "<statement event id>:<first|due>")."""
    payments = (
        plausible_events()
        .filter(type=EventType.PAYMENT, recorded_at__gte=since)
        .exclude(object_id="")
    )
    paid = Exists(
        payments.filter(patient_id=OuterRef("patient_id"), object_id=OuterRef("object_id"))
    )
    periods = Communication.objects.filter(
        rule=OutreachRule.BILL_REMINDER, status=CommunicationStatus.SENT, sent_at__gte=since
    ).values_list("period", flat=True)
    reminded = {
        int(head) for head, _sep, _which in (p.partition(":") for p in periods) if head.isdigit()
    }
    issued = StatementFirsts.objects.filter(event_time_in_window("issued_at")).filter(
        paid | Q(event_pk__in=reminded)
    )
    zone = practice_zone()
    return sorted(
        {
            at.astimezone(zone).date().replace(day=1)
            for at in issued.values_list("issued_at", flat=True)
        }
    )
