"""The enrollment forecast and its what-if (issue 16, item 3).

The model is a pure function, `projection`: from the latest rolled-up
enrollment rate (metrics.md: enrolled / panel) and the last three complete
months' offers, acceptance and activation, each month adds

    new enrollments = monthly visits x (1 - rate) x offer rate x acceptance x activation

to the enrolled, over a panel that stays the size it is (the rate never
passes 100%). `1 - rate` is the share of visits by patients not yet enrolled
(visits are taken as spread evenly over the panel), so the offer rate is
measured against those visits: "offer at every check-in" is 100%.

`forecast` reads the history (selectors' work: reads only, aggregates only,
never a patient's data) and runs the model at this pace and, when asked, with
a manager's offer rate and acceptance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from metrics.compute import month_bounds
from metrics.models import MonthlyRollup, ScopeKind
from metrics.offers import offered_between
from metrics.selectors import targets
from patients.models import EventType, Patient
from patients.selectors import plausible_events
from portal_adoption.dates import next_month, previous_month

HORIZON = 12  # months projected
HISTORY_MONTHS = 3  # complete months the pace is read from

MODEL_STATEMENT = _(
    "How the forecast works: it starts from the enrollment rate (enrolled / panel) of the "
    "latest month with figures and keeps the panel at that size. From the last three "
    "complete months it takes the visits per month, the offer rate (patients first offered "
    "the portal in those months, at the desk, by a recorded decline or by an invitation, "
    "per visit of a patient not yet enrolled), the acceptance (the share of those offered "
    "who were invited) and the activation (the share of those invited who have activated). "
    "Each month, visits are taken as spread evenly over the panel, so the visits by "
    "patients not yet enrolled are the monthly visits times (1 - the enrollment rate); "
    "those visits times the offer rate, the acceptance and the activation are the month's "
    "new enrollments, added to the enrolled. The what-if replaces the offer rate and the "
    "acceptance with yours; the projection is a pace, not a promise."
)


# --- The model: a pure function -------------------------------------------------------


def projection(
    *,
    start_rate: float,
    panel: int,
    monthly_visits: float,
    offer_rate: float,
    acceptance: float,
    activation: float,
    months: int = HORIZON,
) -> list[float]:
    """The enrollment rate at the end of each of the next `months` months.

    rate(k+1) = min(1, rate(k) + visits x (1 - rate(k)) x offer x acceptance x activation
    / panel). Rates are fractions from 0 to 1; an empty panel stays where it is.
    """
    rate = min(max(float(start_rate), 0.0), 1.0)
    if panel <= 0:
        return [rate] * months
    per_month = monthly_visits * offer_rate * acceptance * activation / panel
    rates = []
    for _month in range(months):
        rate = min(1.0, rate + per_month * (1.0 - rate))
        rates.append(rate)
    return rates


def reached_at(rates: list[float], target: float) -> int | None:
    """The first month (1 = next month) whose rate is at or beyond the target, or None."""
    for index, rate in enumerate(rates, start=1):
        if rate >= target:
            return index
    return None


# --- The history (reads only) ---------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    first_month: dt.date
    last_month: dt.date
    visits: int
    visits_not_enrolled: int
    offered: int
    invited: int
    activated: int

    @property
    def monthly_visits(self) -> float:
        return self.visits / HISTORY_MONTHS

    @property
    def offer_rate(self) -> float:
        if not self.visits_not_enrolled:
            return 0.0
        return min(1.0, self.offered / self.visits_not_enrolled)

    @property
    def acceptance(self) -> float:
        return self.invited / self.offered if self.offered else 0.0

    @property
    def activation(self) -> float:
        return self.activated / self.invited if self.invited else 0.0


def complete_months(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last of the three complete months before `today`'s month."""
    last = previous_month(today)
    first = last
    for _month in range(HISTORY_MONTHS - 1):
        first = previous_month(first)
    return first, last


def pace(today: dt.date) -> Pace:
    """Visits, offers, acceptance and activation over the last three complete months."""
    first, last = complete_months(today)
    start, end = month_bounds(first)[0], month_bounds(last)[1]
    events = plausible_events().filter(occurred_at__gte=start, occurred_at__lt=end)
    visits = events.filter(type=EventType.VISIT_COMPLETED)
    not_enrolled = visits.filter(
        Q(patient__firsts__activated_at__isnull=True)
        | Q(patient__firsts__activated_at__gt=F("occurred_at"))
    )
    invites = events.filter(type=EventType.PORTAL_INVITED, patient=OuterRef("pk"))
    # Offered: the one definition (metrics.offers), first offered in these months.
    offered = offered_between(start, end)
    invited = Patient.objects.filter(Exists(invites))
    return Pace(
        first_month=first,
        last_month=last,
        visits=visits.count(),
        visits_not_enrolled=not_enrolled.count(),
        offered=offered.count(),
        invited=invited.count(),
        activated=invited.filter(firsts__activated_at__isnull=False).count(),
    )


def latest_start() -> MonthlyRollup | None:
    """The latest practice rollup with an enrollment rate: where the projection starts."""
    for rollup in MonthlyRollup.objects.filter(scope_kind=ScopeKind.PRACTICE).order_by("-month"):
        if rollup.figures.get("enrollment_rate") is not None and rollup.figures.get("panel"):
            return rollup
    return None


class WhatIfForm(forms.Form):
    """?offer_rate=&acceptance=, in percent, both optional; 0 to 100."""

    offer_rate = forms.DecimalField(
        label=_("Offer rate"),
        required=False,
        min_value=0,
        max_value=100,
        max_digits=6,
        decimal_places=2,
        help_text=_("Offers per visit of a patient not yet enrolled: 100% is every check-in."),
        error_messages={"invalid": _("Offer rate: type a percentage from 0 to 100.")},
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
    )
    acceptance = forms.DecimalField(
        label=_("Acceptance"),
        required=False,
        min_value=0,
        max_value=100,
        max_digits=6,
        decimal_places=2,
        help_text=_("The share of patients offered who accept the invitation."),
        error_messages={"invalid": _("Acceptance: type a percentage from 0 to 100.")},
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
    )

    def what_if(self) -> dict | None:
        """The fractions asked for ({"offer_rate": 1.0, ...}), or None when none was."""
        asked = {
            key: float(value / Decimal(100))
            for key in ("offer_rate", "acceptance")
            if (value := self.cleaned_data.get(key)) is not None
        }
        return asked or None


def _months_after(month: dt.date, count: int) -> list[dt.date]:
    months = []
    for _index in range(count):
        month = next_month(month)
        months.append(month)
    return months


def _run(start, rollup, history: Pace, target: float, offer_rate, acceptance) -> dict:
    rates = projection(
        start_rate=start,
        panel=int(rollup.figures["panel"]),
        monthly_visits=history.monthly_visits,
        offer_rate=offer_rate,
        acceptance=acceptance,
        activation=history.activation,
    )
    reached = reached_at(rates, target)
    months = _months_after(rollup.month, HORIZON)
    return {
        "offer_rate": offer_rate,
        "acceptance": acceptance,
        "activation": history.activation,
        "rates": rates,
        "months": months,
        "reaches_target": months[reached - 1] if reached else None,
    }


def forecast(
    *, what_if: dict | None = None, today: dt.date | None = None, month: dt.date | None = None
) -> dict | None:
    """The projection at this pace and, if asked, with the what-if's rates; None when
    there is no rolled-up month to start from.

    `month` (the monthly PDF's): start from that month's rollup, at the pace of the
    three complete months up to it, as it was known at its end."""
    today = today or timezone.localdate()
    if month is None:
        rollup = latest_start()
    else:
        rollup = MonthlyRollup.objects.filter(
            scope_kind=ScopeKind.PRACTICE, month=month.replace(day=1)
        ).first()
        if rollup is not None and not rollup.figures.get("panel"):
            rollup = None
        today = min(today, next_month(month))
    if rollup is None or rollup.figures.get("enrollment_rate") is None:
        return None
    history = pace(today)
    target = float(targets()["enrollment_rate"])
    start = float(rollup.figures["enrollment_rate"])
    at_pace = _run(start, rollup, history, target, history.offer_rate, history.acceptance)
    asked = None
    if what_if:
        asked = _run(
            start,
            rollup,
            history,
            target,
            what_if.get("offer_rate", history.offer_rate),
            what_if.get("acceptance", history.acceptance),
        )
    return {
        "start_month": rollup.month,
        "start_rate": start,
        "panel": int(rollup.figures["panel"]),
        "target": target,
        "already_at_target": start >= target,
        "history": history,
        "pace": at_pace,
        "what_if": asked,
    }
