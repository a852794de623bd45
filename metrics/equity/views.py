"""The managers' equity gaps page (issue 16, item 2): rates by language, age and location.

Aggregates only, no patient named: nothing goes to the access log (refusals
are logged by the 403 handler). The month is chosen as on the dashboard.
"""

from django.shortcuts import render

from metrics.equity.selectors import DIMENSIONS, MIN_GROUP, RATES, equity_gaps, flagged_lines
from metrics.forms import DashboardFilterForm
from metrics.selectors import (
    month_in_progress,
    month_key,
    month_label,
    months_available,
    value_display,
)
from metrics.views import DashboardPermissionView


class EquityFilterForm(DashboardFilterForm):
    """?month=YYYY-MM, as on the dashboard; the practice as a whole, so no scope."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["scope"]


class EquityGapsView(DashboardPermissionView):
    template_name = "metrics/equity.html"

    def get(self, request):
        months = months_available()
        form = EquityFilterForm(request.GET, months=months)
        context = {"form": form, "months": months, "min_group": MIN_GROUP}
        if not form.is_valid():
            return render(request, self.template_name, context, status=400)
        month = form.cleaned_data["month"] or (months[0] if months else None)
        if month is None:
            return render(request, self.template_name, context)
        form.data = form.data.copy()
        form.data["month"] = month_key(month)
        report = equity_gaps(month)
        context.update(
            {
                "month": month,
                "month_label": month_label(month),
                "in_progress": month_in_progress(month),
                "report": report,
                "practice_cells": [
                    value_display(figure, report["practice"][figure]) for figure, _n, _d in RATES
                ],
                "dimensions": [
                    {
                        "key": key,
                        "title": title,
                        "groups": [
                            {**group, "cells": _cells(group)}
                            for group in report["groups"]
                            if group["dimension"] == key
                        ],
                    }
                    for key, title in DIMENSIONS
                ],
                "flagged": flagged_lines(report),
            }
        )
        return render(request, self.template_name, context)


def _cells(group: dict) -> list[dict]:
    """The group's two rates as the dashboard writes a rate (68%)."""
    return [
        {**group[figure], "display": value_display(figure, group[figure]["rate"])}
        for figure, _numerator, _denominator in RATES
    ]
