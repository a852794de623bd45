"""The performance period of the electronic-access measure: ?start=YYYY-MM-DD&end=YYYY-MM-DD.

The page and the API both read it through this form, so both refuse the same
periods with the same words, naming the field (metrics.electronic_access.period_check).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from metrics.electronic_access.selectors import PeriodError, period_check
from portal_adoption.dates import FilterDateField


def _date_input():
    return forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


class PerformancePeriodForm(forms.Form):
    start = FilterDateField(
        label=_("Start"),
        input_formats=["%Y-%m-%d"],
        widget=_date_input(),
        help_text=_("January 1 for a calendar year, or the first of 90 days."),
    )
    end = FilterDateField(
        label=_("End"),
        input_formats=["%Y-%m-%d"],
        widget=_date_input(),
        help_text=_("December 31 of the same year, or the 90th day."),
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            try:
                period_check(start, end)
            except PeriodError as error:
                self.add_error(error.field, str(error))
        return cleaned
