"""The incentive cohort report rolled up per month, with the dashboard's nightly rollup.

incentive_cohorts (enrollment.selectors.reports) asks, for every enrollment
of the period, whether its patient logged in around day 30 and day 90: an
EXISTS per enrollment, growing with the history. Here the same query runs
once a night per month of completion, grouped by local day and incentive
kind (CohortTally), and the page sums the day rows from `since`.

"Due at N days" and the logins judged move with the clock for 90 days after
an enrollment, so `cohort_open_months` names the months whose enrollments
are younger than that: the nightly run (metrics, through
portal_adoption.rollup_hooks) recomputes them every night. A login recorded
late (an import) changes the cohorts of the 90 days before it:
`cohort_months_changed` marks those months stale.

No patient data is stored: counts per day and kind.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Min
from django.db.models.functions import TruncDate
from django.utils import timezone

from enrollment.models import CohortTally, CohortTallyMonth
from enrollment.selectors.reports import COHORT_DAYS, cohort_enrollments, cohort_figures
from patients.models import EventType
from patients.selectors import plausible_events
from portal_adoption.dates import next_month, practice_zone
from portal_adoption.rollup_hooks import MonthReads

# An enrollment's figures stop moving once its day 90 has passed.
OPEN_FOR = dt.timedelta(days=max(COHORT_DAYS) + 1)


def cohort_tallies_rollup(month: dt.date, reads: MonthReads | None = None) -> int:
    """Recompute the month's cohort rows, judged now; returns the rows written.
    `reads` holds nothing this report needs."""
    month = month.replace(day=1)
    zone = practice_zone()
    start = dt.datetime.combine(month, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(next_month(month), dt.time.min, tzinfo=zone)
    now = timezone.now()
    rows = (
        cohort_enrollments(start, end, now=now, include_end=False)
        .annotate(day=TruncDate("completed_at", tzinfo=zone))
        .values("day", "incentive__kind")
        .annotate(**cohort_figures(now))
        .order_by()
    )
    tallies = [
        CohortTally(month=month, kind=row.pop("incentive__kind") or "", **row) for row in rows
    ]
    with transaction.atomic():
        CohortTally.objects.filter(month=month).delete()
        CohortTally.objects.bulk_create(tallies)
        CohortTallyMonth.objects.update_or_create(month=month, defaults={"computed_at": now})
    return len(tallies)


def cohort_open_months(today: dt.date) -> list[dt.date]:
    """The months holding enrollments whose day 90 has not passed by `today`."""
    months, month = [], (today - OPEN_FOR).replace(day=1)
    while month <= today:
        months.append(month)
        month = next_month(month)
    return months


def cohort_months_changed(since: dt.datetime) -> list[dt.date]:
    """Months whose cohorts a login recorded at or after `since` changes: from 90 days
    before the earliest such login to the month before the current one (metrics
    keeps only the months before the current one)."""
    earliest = (
        plausible_events()
        .filter(type=EventType.LOGIN, recorded_at__gte=since)
        .aggregate(first=Min("occurred_at"))["first"]
    )
    if earliest is None:
        return []
    today = timezone.localtime(timezone.now(), practice_zone()).date()
    first = (timezone.localtime(earliest, practice_zone()).date() - OPEN_FOR).replace(day=1)
    months, month = [], first
    while month < today.replace(day=1):
        months.append(month)
        month = next_month(month)
    return months
