"""What the adoption program asks of the rollups, answered (portal_adoption/program_hooks.py).

`program` may not import `metrics`; metrics registers these answers from its
AppConfig.ready(). Phase figures come from the practice-scope rollup and the
targets in force, formatted as the dashboard formats them.
"""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from metrics.figures import BY_KEY
from metrics.models import MonthlyRollup, ScopeKind, Target
from metrics.selectors import figures_normalized, status, targets, value_display
from portal_adoption.program_hooks import (
    Evidence,
    PhaseFigure,
    register_evidence,
    register_phase_results,
)

RESPONSE_TIME_FIGURES = ("avg_response_hours", "after_hours_avg_response_hours")


def _since(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _targets_saved(figures, summary):
    """A manager saved a target for one of `figures` on or after the plan's start.

    A saved target is a stored Target row (the targets page stores a figure
    only when it differs from the default of metrics.md, or was changed).
    """

    def check(since: dt.date) -> Evidence | None:
        rows = Target.objects.filter(figure__in=figures, updated_at__gte=_since(since))
        first = rows.order_by("updated_at").values_list("updated_at", flat=True).first()
        if first is None:
            return None
        return Evidence(at=first, summary=summary(rows.count()), url=reverse("metrics:targets"))

    return check


def enrollment_tracking(since: dt.date) -> Evidence | None:
    """The nightly rollup has run (a practice month computed) since the plan's start."""
    first = (
        MonthlyRollup.objects.filter(scope_kind=ScopeKind.PRACTICE, computed_at__gte=_since(since))
        .order_by("computed_at")
        .values_list("computed_at", flat=True)
        .first()
    )
    if first is None:
        return None
    return Evidence(
        at=first,
        summary=_("Monthly figures computed since the start"),
        url=reverse("metrics:dashboard"),
    )


def phase_results(figure_keys, as_of: dt.date) -> list[PhaseFigure]:
    """The figures of the month holding `as_of` (the middle of a phase), with their targets.

    When that month is not over yet (the phase runs on), the latest month rolled
    up so far stands in: PhaseFigure.month says which one it is.
    """
    month = as_of.replace(day=1)
    rows = MonthlyRollup.objects.filter(scope_kind=ScopeKind.PRACTICE)
    row = rows.filter(month=month).first()
    if row is None and month >= timezone.localdate().replace(day=1):
        row = rows.filter(month__lte=month).order_by("-month").first()
    figures = figures_normalized(row.figures if row else None)
    target_values = targets()
    answers = []
    for key in figure_keys:
        value, target = figures.get(key), target_values.get(key)
        state = status(key, value, target)
        answers.append(
            PhaseFigure(
                key=key,
                label=str(BY_KEY[key].label),
                target=value_display(key, target) if target is not None else None,
                value=value_display(key, value) if value is not None else None,
                month=row.month if row else None,
                met=None if state is None else state == "good",
            )
        )
    return answers


def register() -> None:
    register_evidence(
        "metrics.enrollment_targets",
        _targets_saved(("enrollment_rate",), lambda n: _("Enrollment-rate target saved")),
    )
    register_evidence(
        "metrics.response_targets",
        _targets_saved(
            RESPONSE_TIME_FIGURES,
            lambda n: ngettext(
                "%(n)s response-time target saved", "%(n)s response-time targets saved", n
            )
            % {"n": n},
        ),
    )
    register_evidence("metrics.enrollment_tracking", enrollment_tracking)
    register_phase_results(phase_results)
