"""Managers' bill-pay report (VIEW_DASHBOARD): ?month=YYYY-MM, aggregates only."""

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from messaging.selectors.bill_pay import rolled_bill_pay_report
from portal_adoption.dates import MonthField, previous_month
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import VIEW_DASHBOARD


class BillPayForm(forms.Form):
    month = MonthField(
        label=_("Statements issued in"),
        required=False,
        help_text=_("The month the statements were issued."),
    )

    def clean_month(self):
        month = self.cleaned_data["month"]
        if month and month > timezone.localdate():
            raise forms.ValidationError(_("Choose this month or an earlier one."))
        return month


def _last_month():
    return previous_month(timezone.localdate())


class BillPayReportView(StaffPermissionRequiredMixin, View):
    """Whether reminded statements are paid sooner, and how many are paid in the portal."""

    permission_required = VIEW_DASHBOARD
    template_name = "messaging/reports/bill_pay.html"

    def get(self, request):
        form = BillPayForm(request.GET or None)
        if request.GET and not form.is_valid():
            context = {"form": form, "report_page": "bill_pay"}
            return render(request, self.template_name, context, status=400)
        month = (form.cleaned_data.get("month") if request.GET else None) or _last_month()
        if not request.GET or not form.cleaned_data.get("month"):
            form = BillPayForm(initial={"month": month})
        context = {"form": form, "report_page": "bill_pay", "report": rolled_bill_pay_report(month)}
        return render(request, self.template_name, context)
