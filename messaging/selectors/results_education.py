"""The results-education report line: same-day view share, with and without the message.

The same-day view share follows metrics.md (messaging may not import
metrics, so it is read here from the event log's first times, ObjectFirsts,
by the same definition):
results (a patient's distinct `object_id`) whose first `result_viewed` event
falls in the month; of those with a `result_released` event, the ones whose
first view is on the same practice-local calendar day as the first release.

They are split by whether a results-education message about the result was
sent (a ResultEducationItem of a sent Communication). The message goes only
to results not viewed `wait_hours` after their release, so the two groups
differ by more than the message: the page says so.

The page reads the month as rolled up each night with the dashboard
(`rolled_results_education_view_share`, messaging.rollups): counting the
line live probes each first view's release, 0.75 s for a month of 21,000
views at 10 million events.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, OuterRef, Subquery, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from messaging.models import (
    CommunicationStatus,
    OutreachRule,
    ResultEducationItem,
    ResultsEducationMonth,
)
from patients.models import EventType, ObjectFirsts
from patients.selectors import event_time_in_window
from portal_adoption.dates import next_month


@dataclass(frozen=True)
class ViewShare:
    viewed: int
    same_day: int

    @property
    def share(self):
        return self.same_day / self.viewed if self.viewed else None


@dataclass(frozen=True)
class ResultsEducationLine:
    month: dt.date
    messaged: ViewShare
    not_messaged: ViewShare
    as_of: dt.datetime | None = None  # read from the month's rollup, as of then
    pending: tuple[dt.date, ...] = ()  # the month, when it is not rolled up yet


def rolled_results_education_view_share(month: dt.date) -> ResultsEducationLine:
    """The month's line as of its nightly rollup (messaging.rollups): one row read,
    whatever the number of results. A month never rolled up is `pending`, with no
    counts, as on the other rolled-up reports."""
    month = month.replace(day=1)
    row = ResultsEducationMonth.objects.filter(month=month).first()
    if row is None:
        return ResultsEducationLine(month, ViewShare(0, 0), ViewShare(0, 0), pending=(month,))
    return ResultsEducationLine(
        month,
        messaged=ViewShare(row.messaged_viewed, row.messaged_same_day),
        not_messaged=ViewShare(row.not_messaged_viewed, row.not_messaged_same_day),
        as_of=row.computed_at,
    )


def results_education_view_share(month: dt.date) -> ResultsEducationLine:
    """The month's same-day view share, for results with and without a sent message.

    One grouped query over the month's first views (patients.ObjectFirsts, kept
    by a trigger), each with its result's first release (one probe of the same
    table) and whether a sent message covered it (one probe of the unique
    (patient, result) of ResultEducationItem). The days are compared in the
    practice's time zone on every database.
    """
    start = timezone.make_aware(dt.datetime.combine(month.replace(day=1), dt.time.min))
    following = next_month(month)
    end = timezone.make_aware(dt.datetime.combine(following, dt.time.min))
    zone = timezone.get_current_timezone()
    messages = ResultEducationItem.objects.filter(
        patient_id=OuterRef("patient_id"),
        result_key=OuterRef("object_id"),
        communication__rule=OutreachRule.RESULTS_EDUCATION,
        communication__status=CommunicationStatus.SENT,
    )
    # One probe for the release: None (never released), else whether its first
    # release is on the same local day as the first view.
    released_same_day = (
        ObjectFirsts.objects.filter(
            event_time_in_window("first_at"),
            type=EventType.RESULT_RELEASED,
            object_id=OuterRef("object_id"),
            patient_id=OuterRef("patient_id"),
        )
        .annotate(released_day=TruncDate("first_at", tzinfo=zone))
        .annotate(
            same_day=Case(
                When(released_day=OuterRef("viewed_day"), then=Value(1)), default=Value(0)
            )
        )
        .values("same_day")[:1]
    )
    groups = (
        ObjectFirsts.objects.filter(
            event_time_in_window("first_at"),
            type=EventType.RESULT_VIEWED,
            first_at__gte=start,
            first_at__lt=end,
        )
        .annotate(viewed_day=TruncDate("first_at", tzinfo=zone))
        .annotate(messaged=Exists(messages), same_day=Subquery(released_same_day))
        .values("messaged", "same_day")
        .annotate(results=Count("pk"))
        .order_by()
    )
    tallies = {True: [0, 0], False: [0, 0]}
    for group in groups:
        if group["same_day"] is None:  # viewed, never released: not counted
            continue
        tally = tallies[group["messaged"]]
        tally[0] += group["results"]
        tally[1] += group["results"] if group["same_day"] else 0
    return ResultsEducationLine(
        month=month.replace(day=1),
        messaged=ViewShare(*tallies[True]),
        not_messaged=ViewShare(*tallies[False]),
    )
