from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from patients.feed import EVENT_FIELDS, EVENT_REQUIRED, PATIENT_FIELDS, PATIENT_REQUIRED
from patients.import_services import upload_limit_bytes, upload_too_large_message


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
        ("patients", _("Patients (roster), CSV")),
        ("events", _("Portal events, CSV")),
        ("fhir", _("FHIR R4 Bundle, JSON")),
    ]

    kind = forms.ChoiceField(label=_("What the file holds"), choices=KIND_CHOICES)
    file = forms.FileField(label=_("File"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV: UTF-8, comma separated, with the header row of the feed format. Patients: "
            "%(patients)s (required: %(patients_required)s). Events: %(events)s (required: "
            "%(events_required)s). Other columns may be left out. FHIR: a Bundle as JSON "
            "(Patient, Appointment, Communication, DiagnosticReport, Encounter, Invoice). "
            "Up to %(limit)d MB."
        ) % {
            "patients": ",".join(PATIENT_FIELDS),
            "patients_required": ", ".join(PATIENT_REQUIRED),
            "events": ",".join(EVENT_FIELDS),
            "events_required": ", ".join(EVENT_REQUIRED),
            "limit": settings.IMPORT_UPLOAD_MAX_MB,
        }

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > upload_limit_bytes():
            raise forms.ValidationError(upload_too_large_message(upload.size))
        return upload

    def clean(self):
        cleaned = super().clean()
        upload, kind = cleaned.get("file"), cleaned.get("kind")
        if upload and kind:
            wanted = (".json",) if kind == "fhir" else (".csv", ".txt")
            if not upload.name.lower().endswith(wanted):
                self.add_error(
                    "file",
                    _("Choose a %(ending)s file for this kind of import.") % {"ending": wanted[0]},
                )
        return cleaned
