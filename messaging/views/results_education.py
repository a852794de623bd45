"""Managers' results-education report line (VIEW_DASHBOARD).

Aggregates only, never a patient or a result, so the page writes no
access-log rows. The month comes in the query string (?month=YYYY-MM),
checked by portal_adoption.dates.MonthField.
"""

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from messaging.models import OutreachRule
from messaging.outreach import rule_enabled, rule_option
from messaging.selectors.results_education import rolled_results_education_view_share
from portal_adoption.dates import MonthField
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import VIEW_DASHBOARD


class ResultsEducationForm(forms.Form):
    month = MonthField(
        label=_("Month"),
        required=False,
        help_text=_("Results first viewed in this month."),
    )

    def clean_month(self):
        month = self.cleaned_data["month"]
        if month and month > timezone.localdate():
            raise forms.ValidationError(_("Choose this month or an earlier one."))
        return month


class ResultsEducationReportView(StaffPermissionRequiredMixin, View):
    """The same-day view share of results whose patient got the message, and of the others."""

    permission_required = VIEW_DASHBOARD
    template_name = "messaging/reports/results_education.html"

    def get(self, request):
        form = ResultsEducationForm(request.GET or None)
        if request.GET and not form.is_valid():
            context = {"form": form, "report_page": "results_education"}
            return render(request, self.template_name, context, status=400)
        month = (form.cleaned_data.get("month") if request.GET else None) or (
            timezone.localdate().replace(day=1)
        )
        if not request.GET or not form.cleaned_data.get("month"):
            form = ResultsEducationForm(initial={"month": month})
        context = {
            "form": form,
            "report_page": "results_education",
            "line": rolled_results_education_view_share(month),
            "wait_hours": rule_option(OutreachRule.RESULTS_EDUCATION, "wait_hours"),
            "switched_off": not rule_enabled(OutreachRule.RESULTS_EDUCATION),
        }
        return render(request, self.template_name, context)
