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


class FeedUploadForm(forms.Form):
    KIND_CHOICES = [
        ("patients", _("Patients (roster)")),
        ("events", _("Portal events")),
    ]

    kind = forms.ChoiceField(label=_("What the file holds"), choices=KIND_CHOICES)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, comma separated, with the header row of the feed format."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(_("Choose a .csv file exported from the EHR or portal."))
        return upload
