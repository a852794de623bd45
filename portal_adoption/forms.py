from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from patients.models import Patient
from portal_adoption.dates import FilterDateField
from portal_adoption.models import User

# The largest id PostgreSQL's bigint holds: a longer number in a link is a bad link.
MAX_ID = 2**63 - 1


class AccessLogFilterForm(forms.Form):
    """Filters typed by a manager. The MRN is posted, never put in a URL."""

    user = forms.ModelChoiceField(
        label=_("Staff member"),
        queryset=User.objects.order_by("username"),
        required=False,
        empty_label=_("Anyone"),
    )
    patient_mrn = forms.CharField(label=_("Patient MRN"), required=False, max_length=64)
    date_from = FilterDateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = FilterDateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_patient_mrn(self):
        mrn = self.cleaned_data["patient_mrn"].strip()
        if not mrn:
            return None
        patient = Patient.objects.filter(external_id=mrn).first()
        if patient is None:
            raise forms.ValidationError(
                _("No patient has the MRN you typed: check it against the roster.")
            )
        return patient

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


class AccessLogQueryForm(forms.Form):
    """The same filters as ids in the query string, for links and paging."""

    user = forms.IntegerField(
        label=_("Staff member"), required=False, min_value=1, max_value=MAX_ID
    )
    patient = forms.IntegerField(label=_("Patient"), required=False, min_value=1, max_value=MAX_ID)
    date_from = FilterDateField(label=_("From"), required=False)
    date_to = FilterDateField(label=_("To"), required=False)


class StaffLanguageForm(forms.Form):
    """The staff member's interface language, each named in its own words (Español, 日本語)."""

    language = forms.ChoiceField(label=_("Language of the interface"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [
            ("", _("The browser's language (else English)")),
            *((code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES),
        ]
