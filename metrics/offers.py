"""Offered: the one definition of "offered the portal" (issue 16).

A patient is offered the portal at the first of:

1. a desk Enrollment started (`Enrollment.started_at`: at the desk with help, or with
   the QR code the clerk shows);
2. a Decline recorded (`Decline.recorded_at`);
3. a `portal_invited` event (the patient's PatientFirsts `invited_at`: the first
   inside the event window, as every figure reads the log).

The patient is offered in the month (practice time) of that first offer, and
nowhere else: the enrollment funnel's cohorts (metrics.funnel) and the
forecast's pace (metrics.forecast) count the same patients. The staff member
who made the offer is the one who started that enrollment or recorded that
decline; an invitation from the portal's feed names nobody (None). When two
kinds share the first instant, the desk's rows come first (enrollment, then
decline), since they name who made the offer.

How: three annotations of Patient rows (a probe of each patient's first
enrollment and first decline through their patient indexes, and the
PatientFirsts row), and the least of them. SQLite's MIN() of several values
is NULL when any is NULL where PostgreSQL's LEAST skips NULLs, so each is
coalesced with NEVER first: one expression for both databases.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    Case,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models import Value as V
from django.db.models.functions import Coalesce, Least

from enrollment.models import Decline, Enrollment
from patients.models import Patient
from portal_adoption.dates import event_window

# Later than any offer: what "no offer of this kind" is coalesced to.
NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def with_first_offer(patients: QuerySet[Patient] | None = None) -> QuerySet[Patient]:
    """`patients` (every patient by default) with `first_offer_at` (NEVER: never offered)
    and `offered_by_id` (the staff member who made that first offer, or None)."""
    patients = Patient.objects.order_by() if patients is None else patients
    enrollments = Enrollment.objects.filter(patient=OuterRef("pk")).order_by("started_at", "pk")
    declines = Decline.objects.filter(patient=OuterRef("pk")).order_by("recorded_at", "pk")
    window_end = event_window().utc_bounds()[1]
    never = V(NEVER, output_field=DateTimeField())
    return patients.annotate(
        offer_enrollment_at=Coalesce(
            Subquery(enrollments.values("started_at")[:1]), never, output_field=DateTimeField()
        ),
        offer_decline_at=Coalesce(
            Subquery(declines.values("recorded_at")[:1]), never, output_field=DateTimeField()
        ),
        # A first at or after the window's moving end is "none yet" (metrics.compute).
        offer_invite_at=Case(
            When(firsts__invited_at__lt=window_end, then=F("firsts__invited_at")),
            default=never,
            output_field=DateTimeField(),
        ),
    ).annotate(
        first_offer_at=Least(
            "offer_enrollment_at",
            "offer_decline_at",
            "offer_invite_at",
            output_field=DateTimeField(),
        ),
        offered_by_id=Case(
            When(
                Q(offer_enrollment_at__lt=NEVER, offer_enrollment_at=F("first_offer_at")),
                then=Subquery(enrollments.values("started_by")[:1]),
            ),
            When(
                Q(offer_decline_at__lt=NEVER, offer_decline_at=F("first_offer_at")),
                then=Subquery(declines.values("recorded_by")[:1]),
            ),
            default=None,
            output_field=IntegerField(),
        ),
    )


def offered_between(
    start: dt.datetime, end: dt.datetime, patients: QuerySet[Patient] | None = None
) -> QuerySet[Patient]:
    """The patients whose first offer falls in [start, end)."""
    return with_first_offer(patients).filter(first_offer_at__gte=start, first_offer_at__lt=end)
