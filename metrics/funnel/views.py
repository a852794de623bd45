"""The managers' enrollment funnel page (issue 16, item 1): one monthly cohort, its
steps and conversions, for the practice or broken down, with the biggest drop.

Aggregates only, no patient named: nothing goes to the access log (refusals are
logged by the 403 handler). The month is a cohort month; by default the last
finished month that has one.
"""

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from metrics.forms import DashboardFilterForm
from metrics.funnel.selectors import (
    DEFINITION,
    cohorts_available,
    default_cohort,
    funnel,
    percent,
)
from metrics.models import FunnelBy
from metrics.selectors import month_key, month_label
from metrics.views import DashboardPermissionView


class FunnelFilterForm(DashboardFilterForm):
    """?month=YYYY-MM&by=practice|location|provider|staff, both optional."""

    by = forms.ChoiceField(
        label=_("Break down by"),
        choices=FunnelBy.choices,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["scope"]
        self.fields["month"].label = _("Cohort: first offered in")

    def clean_by(self):
        return self.cleaned_data.get("by") or FunnelBy.PRACTICE.value


def table_rows(data: dict) -> list[dict]:
    """The practice's row, then each group's: a cell per step (count, conversion, and
    whether it is that row's biggest drop)."""
    rows = [data["practice"], *data["groups"]]
    return [
        {
            "label": row["label"],
            "is_practice": row["key"] == "practice",
            "cells": [
                {
                    "count": row["counts"][step["key"]],
                    "conversion": percent(row["conversions"].get(step["key"])),
                    "drop": row["biggest_drop"] == step["key"],
                }
                for step in data["steps"]
            ],
        }
        for row in rows
    ]


class FunnelView(DashboardPermissionView):
    template_name = "metrics/funnel.html"

    def get(self, request):
        months = cohorts_available()
        form = FunnelFilterForm(request.GET, months=months)
        context = {"form": form, "months": months, "definition": DEFINITION}
        if not form.is_valid():
            return render(request, self.template_name, context, status=400)
        month = form.cleaned_data["month"] or default_cohort()
        if month is None:
            return render(request, self.template_name, context)
        form.data = form.data.copy()
        form.data["month"] = month_key(month)
        data = funnel(month, form.cleaned_data["by"])
        drop = data["biggest_drop"]
        context.update(
            {
                "month": month,
                "month_label": month_label(month),
                "data": data,
                "by_label": FunnelBy(data["by"]).label,
                "rows": table_rows(data),
                "drop": drop,
                "drop_rate": percent(drop["conversion"]) if drop else None,
            }
        )
        return render(request, self.template_name, context)
