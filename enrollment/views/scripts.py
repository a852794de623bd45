"""Scripts where the work happens: the visit, the phone, and the managers' wording.

The visit script is a fragment the patient page loads with htmx, so the
patients app never imports enrollment. Every read of a patient's portal
status for a script is written to the access log.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from enrollment import services
from enrollment.forms.checkin import CheckinSearchForm
from enrollment.forms.scripts import (
    CALL_SCRIPTS,
    PhoneOutcomeForm,
    ScriptEditForm,
    ScriptShownForm,
    VisitMentionForm,
)
from enrollment.models import ConversationOutcome, Script, ScriptKey
from enrollment.playbook import playbook_wording
from enrollment.selectors import (
    conversations_of,
    portal_status,
    portal_statuses,
    script_for,
    script_is_playbook_wording,
    scripts_for_editing,
)
from patients.models import Patient
from patients.selectors import patient_list, patient_search
from portal_adoption.models import AccessAction
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import MANAGE_ENROLLMENT, USE_PHONE_SCRIPTS, USE_VISIT_SCRIPT
from portal_adoption.services import access_log_record, access_log_record_list

PHONE_RESULTS = 25
BAD_QUERY = 400


class ScriptPatientView(StaffPermissionRequiredMixin, View):
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

    def shown(self) -> tuple[dict, bool]:
        """The validated ?lang= and ?call=; a bad value is ignored and answered with a 400."""
        form = ScriptShownForm(self.request.GET)
        if form.is_valid():
            return form.cleaned_data, True
        return {"lang": "", "call": ""}, False


# --- The visit (nurses and providers) -------------------------------------------------


class VisitScriptView(ScriptPatientView):
    """The fragment beside the patient's record: portal status, the script, one button."""

    permission_required = USE_VISIT_SCRIPT

    def get(self, request, pk):
        patient = self.patient(pk)
        shown, valid = self.shown()
        return self.render_fragment(patient, shown["lang"], status=200 if valid else BAD_QUERY)

    def render_fragment(self, patient, language="", *, recorded=None, status=200):
        self.log(patient, "portal_status")
        script = script_for(ScriptKey.VISIT, patient.preferred_language, language)
        context = {
            "patient": patient,
            "status": portal_status(patient),
            "script": script,
            "form": VisitMentionForm(initial={"language": script.language}),
            "recorded": recorded,
            "bad_query": status == BAD_QUERY,
        }
        return render(self.request, "enrollment/scripts/_visit_script.html", context, status=status)


class VisitMentionView(VisitScriptView):
    """ "Portal mentioned in visit": recorded once per click, shown inline (htmx) or flashed."""

    def post(self, request, pk):
        patient = self.patient(pk)
        form = VisitMentionForm(request.POST)
        recorded = None
        if form.is_valid():
            conversation, _new = services.conversation_record(
                patient=patient,
                script=ScriptKey.VISIT,
                outcome=ConversationOutcome.MENTIONED_IN_VISIT,
                language=form.cleaned_data["language"] or "en",
                idempotency_key=form.cleaned_data["idempotency_key"],
                by=request.user,
            )
            self.log(patient, "portal_conversation", AccessAction.CHANGE, conversation.pk)
            recorded = conversation
            messages.success(request, _("Recorded: the portal was mentioned in the visit."))
        else:
            messages.error(
                request, _("The form was not recognized: reload the page and try again.")
            )
        if request.htmx:
            return self.render_fragment(
                patient, form.cleaned_data.get("language", ""), recorded=recorded
            )
        return redirect(reverse("patients:detail", args=[patient.pk]))


# --- The phone (front desk and nurses) ---------------------------------------------------


class PhoneCallView(StaffPermissionRequiredMixin, View):
    """Find the patient on the line."""

    permission_required = USE_PHONE_SCRIPTS

    def get(self, request):
        return render(request, "enrollment/scripts/phone.html", {"form": CheckinSearchForm()})


class PhoneSearchView(StaffPermissionRequiredMixin, View):
    """Results as the caller's name, birth date or MRN is typed (htmx posts the box)."""

    permission_required = USE_PHONE_SCRIPTS

    def post(self, request):
        form = CheckinSearchForm(request.POST)
        patients = []
        if form.is_valid():
            patients = list(patient_search(form.cleaned_data["q"])[:PHONE_RESULTS])
        access_log_record_list(request=request, resource="patient", patients=patients)
        statuses = portal_statuses(patients)
        context = {
            "results": [(p, statuses[p.pk]) for p in patients],
            "searched": form.is_valid(),
            "limit": PHONE_RESULTS,
        }
        return render(request, "enrollment/scripts/_phone_results.html", context)


class PhonePatientView(ScriptPatientView):
    """The caller's portal status, the script for the call, and one click per outcome."""

    permission_required = USE_PHONE_SCRIPTS

    def get(self, request, pk):
        patient = self.patient(pk)
        shown, valid = self.shown()
        return self.render_page(
            patient, shown["call"] or "booking", shown["lang"], status=200 if valid else BAD_QUERY
        )

    def render_page(self, patient, call, language="", *, form=None, status=200):
        self.log(patient, "portal_status")
        script = script_for(CALL_SCRIPTS[call], patient.preferred_language, language)
        context = {
            "patient": patient,
            "status": portal_status(patient),
            "call": call,
            "script": script,
            "form": form
            or PhoneOutcomeForm(initial={"script": script.key, "language": script.language}),
            "conversations": conversations_of(patient),
            "bad_query": status == BAD_QUERY,
        }
        return render(self.request, "enrollment/scripts/phone_patient.html", context, status=status)


class PhoneOutcomeView(PhonePatientView):
    def post(self, request, pk):
        patient = self.patient(pk)
        form = PhoneOutcomeForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose how the call went (and the reason, for a no)."))
            return redirect(reverse("enrollment:phone_patient", args=[patient.pk]))
        data = form.cleaned_data
        try:
            conversation, new = services.conversation_record(
                patient=patient,
                script=data["script"],
                outcome=data["outcome"],
                language=data["language"] or "en",
                idempotency_key=data["idempotency_key"],
                decline_reason=data["reason"],
                decline_text=data["reason_text"],
                by=request.user,
            )
        except services.EnrollmentError as error:
            messages.error(request, str(error))
            return redirect(reverse("enrollment:phone_patient", args=[patient.pk]))
        self.log(patient, "portal_conversation", AccessAction.CHANGE, conversation.pk)
        messages.success(request, _outcome_message(conversation.outcome, new))
        call = "results" if conversation.script == ScriptKey.PHONE_RESULTS else "booking"
        return redirect(reverse("enrollment:phone_patient", args=[patient.pk]) + f"?call={call}")


def _outcome_message(outcome: str, new: bool) -> str:
    if not new:
        return _("This outcome was recorded already: nothing was added.")
    if outcome == ConversationOutcome.WANTS_INVITATION:
        return _("Recorded. The patient is on the follow-up list until the invitation is sent.")
    if outcome == ConversationOutcome.DECLINED:
        return _("Recorded. The reason will show at the next check-in, with what to offer.")
    return _("Recorded: the patient is already enrolled.")


# --- Managers: the wording ------------------------------------------------------------------


class ScriptListView(StaffPermissionRequiredMixin, View):
    """Every script in every language, each with its wording to edit."""

    permission_required = MANAGE_ENROLLMENT

    def get(self, request):
        rows = [
            {
                "script": script,
                "label": ScriptKey(script.key).label,
                "form": ScriptEditForm(initial={"text": script.text}),
                "playbook": script_is_playbook_wording(script),
                "changed_by": _changed_by(script),
            }
            for script in scripts_for_editing()
        ]
        return render(request, "enrollment/scripts/manage.html", {"rows": rows})


def _changed_by(script) -> str:
    """Who last changed the wording: nobody for a row a migration or an import wrote."""
    person = script.updated_by
    return (person.get_full_name() or person.get_username()) if person else "—"


class ScriptEditView(StaffPermissionRequiredMixin, View):
    permission_required = MANAGE_ENROLLMENT

    def get(self, request, pk):
        script = get_object_or_404(Script, pk=pk)
        # Never changed: the playbook's wording as the catalogues have it today.
        text = script.text if script.updated_at else playbook_wording(script.key, script.language)
        return self._render(script, ScriptEditForm(initial={"text": text}))

    def post(self, request, pk):
        script = get_object_or_404(Script, pk=pk)
        form = ScriptEditForm(request.POST)
        if not form.is_valid():
            return self._render(script, form, status=400)
        try:
            services.script_update(script=script, text=form.cleaned_data["text"], by=request.user)
        except services.EnrollmentError as error:
            form.add_error("text", str(error))
            return self._render(script, form, status=400)
        messages.success(
            request,
            _("Saved: staff see the new wording of “%(script)s” (%(language)s) from now on.")
            % {"script": ScriptKey(script.key).label, "language": script.language},
        )
        return redirect("enrollment:scripts")

    def _render(self, script, form, status=200):
        context = {"script": script, "label": ScriptKey(script.key).label, "form": form}
        return render(self.request, "enrollment/scripts/edit.html", context, status=status)


class ScriptRestoreView(StaffPermissionRequiredMixin, View):
    permission_required = MANAGE_ENROLLMENT

    def post(self, request, pk):
        script = get_object_or_404(Script, pk=pk)
        services.script_restore(script=script, by=request.user)
        messages.success(
            request,
            _("The playbook's wording of “%(script)s” (%(language)s) is back.")
            % {"script": ScriptKey(script.key).label, "language": script.language},
        )
        return redirect("enrollment:scripts")
