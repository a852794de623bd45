"""Managers' response-time report: by category, by hour of the week (VIEW_DASHBOARD).

Aggregates only, never a patient or a message, so the page writes no
access-log rows. The figures come from the nightly rollup (messaging.rollups),
as of its last run; the page says when. The period comes in the query string (?month=YYYY-MM for
the categories, ?since=YYYY-MM-DD for the hour-of-week grid).
"""

import datetime as dt

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from messaging.selectors.reports import (
    HEAT_LIMITS_HOURS,
    rolled_response_times_by_category,
    rolled_response_times_by_hour_of_week,
)
from portal_adoption.dates import FilterDateField, MonthField
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import VIEW_DASHBOARD

# The grid reads two rollup rows per day of the period: a year at most.
LONGEST_GRID_PERIOD = dt.timedelta(days=366)
DEFAULT_GRID_PERIOD = dt.timedelta(weeks=13)


class ResponseTimesForm(forms.Form):
    month = MonthField(
        label=_("Month, for the categories"),
        required=False,
        help_text=_("Messages whose first reply was sent in this month."),
    )
    since = FilterDateField(
        label=_("Since, for the hour of the week"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        help_text=_("Messages that arrived from this day to today, a year at most."),
    )

    def clean_month(self):
        month = self.cleaned_data["month"]
        if month and month > timezone.localdate():
            raise forms.ValidationError(_("Choose this month or an earlier one."))
        return month

    def clean_since(self):
        since = self.cleaned_data["since"]
        today = timezone.localdate()
        if since and since > today:
            raise forms.ValidationError(_("Choose a day on or before today."))
        if since and since < today - LONGEST_GRID_PERIOD:
            raise forms.ValidationError(
                _("Choose a day within the last year: the grid covers a year at most.")
            )
        return since


class ResponseTimesReportView(StaffPermissionRequiredMixin, View):
    """How fast each category is answered, and how arrival time changes the answer."""

    permission_required = VIEW_DASHBOARD
    template_name = "messaging/reports/response_times.html"

    def get(self, request):
        today = timezone.localdate()
        defaults = {"month": today.replace(day=1), "since": today - DEFAULT_GRID_PERIOD}
        form = ResponseTimesForm(request.GET or None)
        if request.GET and not form.is_valid():
            context = {"form": form, "report_page": "response_times"}
            return render(request, self.template_name, context, status=400)
        chosen = form.cleaned_data if request.GET else {}
        values = {key: chosen.get(key) or default for key, default in defaults.items()}
        if not all(chosen.get(key) for key in defaults):
            form = ResponseTimesForm(initial=values)
        # Both read the nightly rollup (messaging.rollups): a few hundred rows at most,
        # whatever the history; the page says as of when.
        context = {
            "form": form,
            "report_page": "response_times",
            "by_category": rolled_response_times_by_category(values["month"]),
            "by_hour": rolled_response_times_by_hour_of_week(values["since"], today=today),
            "heat_limits": HEAT_LIMITS_HOURS,
        }
        return render(request, self.template_name, context)
