"""Managers' enrollment reports: staff, decline reasons, incentive cohorts (VIEW_DASHBOARD).

The pages show aggregates only, never a patient, so they write no access-log
rows. The period comes in the query string (?months=6 or ?since=YYYY-MM-DD):
nothing about a patient is ever in a URL.
"""

import datetime as dt

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from enrollment.selectors.reports import (
    decline_reasons,
    enrollments_by_staff,
    month_starts,
    rolled_incentive_cohorts,
)
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import VIEW_DASHBOARD

MONTH_CHOICES = [(3, _("3 months")), (6, _("6 months")), (12, _("12 months"))]


class MonthsForm(forms.Form):
    months = forms.TypedChoiceField(
        label=_("Period"),
        choices=MONTH_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class SinceForm(forms.Form):
    since = forms.DateField(
        label=_("Since"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        help_text=_("The first day counted; the report runs to today."),
    )

    def clean_since(self):
        since = self.cleaned_data["since"]
        if since and since > timezone.localdate():
            raise forms.ValidationError(_("Choose a day on or before today."))
        return since


class ReportView(StaffPermissionRequiredMixin, View):
    """A report page: the period form from GET, then the report or the form's errors."""

    permission_required = VIEW_DASHBOARD
    template_name = ""
    form_class: type[forms.Form] = SinceForm
    default_months = 6

    def get(self, request):
        form = self.form_class(request.GET or None)
        if request.GET and not form.is_valid():
            return self._render(form, report=None, status=400)
        value = form.cleaned_data.get(self.field) if request.GET else None
        if value is None:
            value = self.default()
            form = self.form_class(initial={self.field: value})
        return self._render(form, report=self.report(value))

    @property
    def field(self) -> str:
        return next(iter(self.form_class.base_fields))

    def default(self):
        return month_starts(self.default_months)[0]

    def report(self, value):
        raise NotImplementedError

    def _render(self, form, report, status=200):
        context = {"form": form, "report": report, "report_page": self.report_page}
        return render(self.request, self.template_name, context, status=status)


class StaffReportView(ReportView):
    """Completed enrollments per member of staff and month, with how long they take."""

    template_name = "enrollment/reports/staff.html"
    form_class = MonthsForm
    report_page = "staff"

    def default(self):
        return self.default_months

    def report(self, value):
        return enrollments_by_staff(months=value)


class DeclineReportView(ReportView):
    """Why patients said no, and how many of them enrolled later all the same."""

    template_name = "enrollment/reports/declines.html"
    report_page = "declines"

    def report(self, value: dt.date):
        return decline_reasons(value)


class IncentiveReportView(ReportView):
    """Do incentivised enrollees stay active? Active at 30 and 90 days, with and without."""

    template_name = "enrollment/reports/incentives.html"
    report_page = "incentives"
    default_months = 12

    def report(self, value: dt.date):
        # From the nightly rollup (enrollment.rollups): one grouped query over day rows.
        return rolled_incentive_cohorts(value)
