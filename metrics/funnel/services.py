"""The enrollment funnel's rollup: each cohort's counts stored whole (FunnelRollup).

`funnel_rollup(months)` computes the cohorts of `months` (metrics.funnel.selectors.
cohort_counts, judged now) and replaces their rows in one transaction: running it
twice, or after a crash, leaves the same rows. The nightly rollup (metrics.services)
runs it for the last 13 cohorts (a cohort's later steps move with the clock: day 7,
day 90) and every month it recomputed as stale; `rollup_metrics --all` for every
cohort from the earliest offer's month; `--month` for that month's cohort.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from metrics.compute import month_of
from metrics.funnel.selectors import cohort_counts, kept_cohorts
from metrics.models import FunnelRollup
from metrics.offers import NEVER, with_first_offer
from portal_adoption.dates import months_between


def funnel_rollup(*, months: list[dt.date], now: dt.datetime | None = None) -> int:
    """Recompute the cohorts of `months`, replacing their rows; returns the rows written."""
    now = now or timezone.now()
    months = sorted({month.replace(day=1) for month in months})
    if not months:
        return 0
    counts = cohort_counts(months, now=now)
    rows = [
        FunnelRollup(cohort=month, by=by, group_id=group_id, counts=tally, computed_at=now)
        for month, groups in counts.items()
        for (by, group_id), tally in sorted(groups.items())
    ]
    with transaction.atomic():
        FunnelRollup.objects.filter(cohort__in=months).delete()
        FunnelRollup.objects.bulk_create(rows)
    return len(rows)


def funnel_months_nightly(today: dt.date, recomputed: list[dt.date]) -> list[dt.date]:
    """The nightly set: the last 13 cohorts and every month recomputed tonight."""
    return sorted(set(kept_cohorts(today)) | {month.replace(day=1) for month in recomputed})


def funnel_months_all(today: dt.date) -> list[dt.date]:
    """Every cohort: from the earliest first offer's month to `today`'s."""
    earliest = (
        with_first_offer()
        .filter(first_offer_at__lt=NEVER)
        .aggregate(first=Min("first_offer_at"))["first"]
    )
    current = today.replace(day=1)
    if earliest is None:
        return [current]
    return months_between(min(month_of(earliest), current), current)
