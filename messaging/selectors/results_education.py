"""The results-education report line: same-day view share, with and without the message.

The same-day view share follows metrics.md (messaging may not import
metrics, so it is read here from the event log, by the same definition):
results (a patient's distinct `object_id`) whose first `result_viewed` event
falls in the month; of those with a `result_released` event, the ones whose
first view is on the same practice-local calendar day as the first release.

They are split by whether a results-education message about the result was
sent (a ResultEducationItem of a sent Communication). The message goes only
to results not viewed `wait_hours` after their release, so the two groups
differ by more than the message: the page says so.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min
from django.utils import timezone

from messaging.models import CommunicationStatus, OutreachRule, ResultEducationItem
from patients.models import EventType
from patients.selectors import plausible_events
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


def _firsts(event_type: str, **filters) -> dict[tuple[int, str], dt.datetime]:
    rows = (
        plausible_events()
        .filter(type=event_type, **filters)
        .exclude(object_id="")
        .values("patient_id", "object_id")
        .annotate(first=Min("occurred_at"))
        .values_list("patient_id", "object_id", "first")
    )
    return {(patient_id, object_id): first for patient_id, object_id, first in rows}


def results_education_view_share(month: dt.date) -> ResultsEducationLine:
    """The month's same-day view share, for results with and without a sent message."""
    start = timezone.make_aware(dt.datetime.combine(month.replace(day=1), dt.time.min))
    following = next_month(month)
    end = timezone.make_aware(dt.datetime.combine(following, dt.time.min))
    first_views = {
        key: first
        for key, first in _firsts(EventType.RESULT_VIEWED, occurred_at__lt=end).items()
        if start <= first < end
    }
    patients = {patient_id for patient_id, _object_id in first_views}
    releases = _firsts(EventType.RESULT_RELEASED, patient_id__in=patients)
    messaged = set(
        ResultEducationItem.objects.filter(
            patient_id__in=patients,
            communication__rule=OutreachRule.RESULTS_EDUCATION,
            communication__status=CommunicationStatus.SENT,
        ).values_list("patient_id", "result_key")
    )
    tallies = {True: [0, 0], False: [0, 0]}
    for key, viewed_at in first_views.items():
        released_at = releases.get(key)
        if released_at is None:
            continue
        tally = tallies[key in messaged]
        tally[0] += 1
        if timezone.localdate(viewed_at) == timezone.localdate(released_at):
            tally[1] += 1
    return ResultsEducationLine(
        month=month.replace(day=1),
        messaged=ViewShare(*tallies[True]),
        not_messaged=ViewShare(*tallies[False]),
    )
