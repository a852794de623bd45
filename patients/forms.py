from django import forms
from django.utils.translation import gettext_lazy as _


class PatientSearchForm(forms.Form):
    # Posted, never sent in a URL: names and birth dates are patient data.
    q = forms.CharField(
        label=_("Find a patient"),
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "class": "form-control",
                "placeholder": _("Name, birth date (YYYY-MM-DD) or MRN"),
                "autocomplete": "off",
                "autofocus": True,
            }
        ),
    )
