"""The front desk when a patient says no: the reason, the remedy, the handouts to print."""

import segno
from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from enrollment.forms.declines import DeclineForm
from enrollment.handouts import PRIVACY_HANDOUT, REFERENCE_CARD, handout_texts
from enrollment.models import Remedy
from enrollment.playbook import script_language
from enrollment.selectors import portal_status
from enrollment.services import EnrollmentError, SessionFull, decline_record
from patients.languages import PATIENT_LANGUAGES
from patients.models import Patient
from patients.selectors import patient_list
from portal_adoption.models import AccessAction
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import ENROLL_PATIENTS
from portal_adoption.services import access_log_record


class FrontDeskPatientView(StaffPermissionRequiredMixin, View):
    permission_required = ENROLL_PATIENTS

    def patient(self, pk) -> Patient:
        return get_object_or_404(patient_list(), pk=pk)

    def log(self, patient: Patient, resource: str, action=AccessAction.VIEW, object_id=None):
        access_log_record(
            request=self.request,
            action=action,
            resource=resource,
            object_id=object_id if object_id is not None else patient.pk,
            patient=patient,
        )


class DeclineView(FrontDeskPatientView):
    """Pick the reason, offer its remedy, record what was offered.

    Changing the reason swaps the remedy section (htmx). Without JavaScript,
    "Show the remedy" posts the reason back and the page returns with it.
    """

    template_name = "enrollment/declines/decline.html"

    def get(self, request, pk):
        patient = self.patient(pk)
        form = DeclineForm(patient=patient, initial={"reason": request.GET.get("reason", "")})
        return self._render(patient, form)

    def post(self, request, pk):
        patient = self.patient(pk)
        if "show_remedy" in request.POST:
            initial = {"reason": request.POST.get("reason", "")}
            return self._render(patient, DeclineForm(patient=patient, initial=initial))
        form = DeclineForm(request.POST, patient=patient)
        if not form.is_valid():
            return self._render(patient, form, status=400)
        try:
            decline = decline_record(patient=patient, by=request.user, **form.decline_kwargs())
        except SessionFull as error:
            form.add_error("tech_help_session", str(error))
            return self._render(patient, form, status=409)
        except EnrollmentError as error:
            form.add_error(None, str(error))
            return self._render(patient, form, status=400)
        self.log(patient, "decline", AccessAction.CHANGE, object_id=decline.pk)
        messages.success(request, _("The decline is recorded with what you offered."))
        if Remedy.SMS_SWITCH in decline.remedies and not patient.mobile_phone:
            messages.warning(
                request,
                _("Notifications now go by text, but no mobile number is on file: ask for one."),
            )
        return redirect(reverse("enrollment:patient", args=[patient.pk]))

    def _render(self, patient, form, status=200):
        self.log(patient, "decline")
        context = {"patient": patient, "form": form, "status": portal_status(patient)}
        return render(self.request, self.template_name, context, status=status)


class DeclineRemedyView(FrontDeskPatientView):
    """The remedy section for one reason: what htmx swaps in when the reason changes."""

    def get(self, request, pk):
        patient = self.patient(pk)
        form = DeclineForm(patient=patient, initial={"reason": request.GET.get("reason", "")})
        # The suggested benefit comes from the patient's own activity.
        self.log(patient, "decline")
        return render(request, "enrollment/declines/_remedy.html", {"form": form})


class PrivacyHandoutView(StaffPermissionRequiredMixin, View):
    """The one-page privacy handout, in a patient language (?lang=es, ?lang=vi). No patient data."""

    permission_required = ENROLL_PATIENTS

    def get(self, request):
        language = script_language(request.GET.get("lang", ""))
        context = {
            "language": language,
            "patient_languages": PATIENT_LANGUAGES,
            "texts": handout_texts(PRIVACY_HANDOUT, language),
        }
        return render(request, "enrollment/print/privacy_handout.html", context)


class ReferenceCardView(FrontDeskPatientView):
    """The quick reference card: how to get in, in the patient's language.

    Only the patient's first name is on it: no MRN, no birth date, nothing clinical.
    """

    def get(self, request, pk):
        patient = self.patient(pk)
        self.log(patient, "reference_card")
        language = script_language(request.GET.get("lang") or patient.preferred_language)
        links = {
            "login": settings.PORTAL_LOGIN_URL,
            "app_store": settings.APP_STORE_URL,
            "play_store": settings.PLAY_STORE_URL,
        }
        context = {
            "patient_pk": patient.pk,
            "language": language,
            "patient_languages": PATIENT_LANGUAGES,
            "texts": handout_texts(REFERENCE_CARD, language, first_name=patient.given_name),
            "links": links,
            "qr": {key: _qr_data_uri(url) for key, url in links.items()},
            "phone": settings.PRACTICE_PHONE,
        }
        return render(request, "enrollment/print/reference_card.html", context)


def _qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=3, border=2)
