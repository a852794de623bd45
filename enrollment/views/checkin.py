"""The front desk's check-in screens: find the patient, see where they stand, enroll."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from enrollment import services
from enrollment.forms.checkin import (
    CheckinSearchForm,
    ContactForm,
    FeatureForm,
    FollowUpCallForm,
    IncentiveForm,
    TickForm,
)
from enrollment.models import CallOutcome, Enrollment, EnrollmentStatus, ScriptKey, Step
from enrollment.selectors import (
    FOLLOW_UP_RECENT,
    FollowUpPriority,
    enrollment_checklist,
    enrollment_note_to_paste,
    enrollment_ticks,
    follow_up_page,
    portal_status,
    portal_statuses,
    script_for,
    staff_credit,
)
from patients.models import Patient
from patients.selectors import patient_search
from portal_adoption.contact import email_domain_suggestion
from portal_adoption.display import phone
from portal_adoption.models import AccessAction
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import ENROLL_PATIENTS
from portal_adoption.services import access_log_record, access_log_record_list

CHECKIN_RESULTS = 25


class FrontDeskView(StaffPermissionRequiredMixin, View):
    permission_required = ENROLL_PATIENTS

    def log(self, patient: Patient, action=AccessAction.VIEW, resource="patient"):
        access_log_record(
            request=self.request,
            action=action,
            resource=resource,
            object_id=patient.pk,
            patient=patient,
        )


class CheckinView(FrontDeskView):
    """One search box and the desk's credit this month."""

    def get(self, request):
        context = {"form": CheckinSearchForm(), "credit": staff_credit()}
        return render(request, "enrollment/checkin.html", context)


class CheckinSearchView(FrontDeskView):
    """Results as the clerk types (htmx posts the box on every pause)."""

    def post(self, request):
        form = CheckinSearchForm(request.POST)
        patients = []
        if form.is_valid():
            patients = list(patient_search(form.cleaned_data["q"])[:CHECKIN_RESULTS])
        access_log_record_list(request=request, resource="patient", patients=patients)
        context = {
            "results": _with_statuses(patients),
            "searched": form.is_valid(),
            "limit": CHECKIN_RESULTS,
        }
        return render(request, "enrollment/_search_results.html", context)


def _checkin_script(patient: Patient) -> tuple[str, str]:
    """(language, wording) of the check-in script: the practice's, in the patient's language."""
    shown = script_for(ScriptKey.CHECKIN, patient.preferred_language)
    return shown.language, shown.text


def _with_statuses(patients):
    statuses = portal_statuses(patients)
    return [(patient, statuses[patient.pk]) for patient in patients]


class PatientPanelView(FrontDeskView):
    """Where the patient stands with the portal, and what to do next."""

    def get(self, request, pk):
        patient = get_object_or_404(Patient.objects.select_related("location"), pk=pk)
        self.log(patient)
        status = portal_status(patient)
        language, script = _checkin_script(patient)
        context = {"patient": patient, "status": status, "script": script, "language": language}
        return render(request, "enrollment/patient_panel.html", context)


class EnrollmentStartView(FrontDeskView):
    def post(self, request, pk):
        patient = get_object_or_404(Patient, pk=pk)
        enrollment = services.enrollment_open(patient=patient, by=request.user)
        self.log(patient, AccessAction.CHANGE, "enrollment")
        return redirect("enrollment:checklist", pk=enrollment.pk)


class ChecklistView(FrontDeskView):
    """The nine steps on one screen; each form posts back here and re-renders."""

    template_name = "enrollment/checklist.html"

    def get(self, request, pk):
        enrollment = self.enrollment(pk)
        if enrollment.status == EnrollmentStatus.COMPLETED:
            return redirect("enrollment:completed", pk=enrollment.pk)
        self.log(enrollment.patient, resource="enrollment")
        return self.render_checklist(enrollment)

    def enrollment(self, pk) -> Enrollment:
        return get_object_or_404(Enrollment.objects.select_related("patient", "incentive"), pk=pk)

    def render_checklist(self, enrollment, *, contact_form=None, status=200):
        patient = enrollment.patient
        language, script = _checkin_script(patient)
        steps = enrollment_checklist(enrollment)
        contact_form = contact_form or ContactForm(
            initial={
                "email": patient.email,
                "mobile_phone": phone(patient.mobile_phone),
                "notification_channel": patient.notification_channel or "email",
            }
        )
        context = {
            "enrollment": enrollment,
            "patient": patient,
            "steps": steps,
            "ehr_note": enrollment_note_to_paste(enrollment, self.request.user),
            "note_pasted": any(
                item["step"] == Step.RECORD_IN_EHR and item["tick"] and item["tick"].done
                for item in steps
            ),
            "script": script,
            "script_language": language,
            "contact_form": contact_form,
            "email_suggestion": email_domain_suggestion(patient.email) if patient.email else None,
            "incentive_form": IncentiveForm(initial={"incentive": enrollment.incentive}),
            "open": enrollment.status == EnrollmentStatus.IN_PROGRESS,
        }
        template = "enrollment/_checklist.html" if self.request.htmx else self.template_name
        return render(self.request, template, context, status=status)


class StepTickView(ChecklistView):
    """A step done, skipped with a reason (`reason`, `note`), or undone (`undo`)."""

    def post(self, request, pk):
        enrollment = self.enrollment(pk)
        form = TickForm(request.POST)
        if form.is_valid():
            self._apply(enrollment, form.cleaned_data, request.POST.get("undo"))
        else:
            messages.error(request, _form_errors(form))
        return self._after(enrollment)

    def _apply(self, enrollment, answer, undo):
        step, reason = answer["step"], answer["reason"]
        by = self.request.user
        try:
            if undo:
                services.enrollment_untick(enrollment=enrollment, step=step)
            elif reason:
                services.enrollment_skip(
                    enrollment=enrollment, step=step, reason=reason, note=answer["note"], by=by
                )
            else:
                services.enrollment_tick(enrollment=enrollment, step=step, by=by)
        except services.EnrollmentError as error:
            messages.error(self.request, str(error))

    def _after(self, enrollment):
        if self.request.htmx:
            return self.render_checklist(self.enrollment(enrollment.pk))
        return redirect("enrollment:checklist", pk=enrollment.pk)


def _form_errors(form) -> str:
    """The form's problems in one line, each after the name of its field."""
    return " ".join(
        f"{form.fields[name].label or name}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )


class ContactStepView(StepTickView):
    """Step 1: the contact details, checked, stored with the patient's preference."""

    def post(self, request, pk):
        enrollment = self.enrollment(pk)
        form = ContactForm(request.POST)
        if not form.is_valid():
            return self.render_checklist(enrollment, contact_form=form, status=400)
        try:
            details = services.contact_check(**form.cleaned_data)
            services.enrollment_collect_contact(
                enrollment=enrollment, details=details, by=request.user
            )
        except services.ContactError as error:
            form.add_error(error.field, str(error))
            return self.render_checklist(enrollment, contact_form=form, status=400)
        except services.EnrollmentError as error:
            messages.error(request, str(error))
            return self._after(enrollment)
        self.log(enrollment.patient, AccessAction.CHANGE, "patient_contact")
        suggestion = email_domain_suggestion(details.email) if details.email else None
        if suggestion:
            messages.warning(
                request,
                _("Saved. Check the email with the patient: did they mean @%(domain)s?")
                % {"domain": suggestion},
            )
        return self._after(enrollment)


class FeatureStepView(StepTickView):
    def post(self, request, pk):
        enrollment = self.enrollment(pk)
        form = FeatureForm(request.POST)
        if form.is_valid():
            try:
                services.enrollment_set_feature(
                    enrollment=enrollment, feature=form.cleaned_data["feature"], by=request.user
                )
            except services.EnrollmentError as error:
                messages.error(request, str(error))
        return self._after(enrollment)


class IncentiveView(StepTickView):
    def post(self, request, pk):
        enrollment = self.enrollment(pk)
        form = IncentiveForm(request.POST)
        if form.is_valid():
            try:
                services.enrollment_set_incentive(
                    enrollment=enrollment, incentive=form.cleaned_data["incentive"]
                )
            except services.EnrollmentError as error:
                messages.error(request, str(error))
        return self._after(enrollment)


class CompleteView(ChecklistView):
    def post(self, request, pk):
        enrollment = self.enrollment(pk)
        try:
            enrollment = services.enrollment_complete(enrollment=enrollment, by=request.user)
        except services.EnrollmentError as error:
            messages.error(request, str(error))
            return redirect("enrollment:checklist", pk=enrollment.pk)
        self.log(enrollment.patient, AccessAction.CHANGE, "enrollment")
        messages.success(request, _("Enrollment completed. The follow-up is set."))
        return redirect("enrollment:completed", pk=enrollment.pk)


class AbandonView(ChecklistView):
    def post(self, request, pk):
        enrollment = self.enrollment(pk)
        services.enrollment_abandon(enrollment=enrollment)
        messages.info(request, _("Enrollment stopped. You can start again at the next visit."))
        return redirect("enrollment:patient", pk=enrollment.patient_id)


class CompletedView(ChecklistView):
    """The result: time taken, the EHR note to paste, the follow-up date."""

    def get(self, request, pk):
        enrollment = self.enrollment(pk)
        if enrollment.status != EnrollmentStatus.COMPLETED:
            return redirect("enrollment:checklist", pk=enrollment.pk)
        self.log(enrollment.patient, resource="enrollment")
        answers = enrollment_ticks(enrollment)
        minutes, seconds = divmod(enrollment.duration_seconds or 0, 60)
        context = {
            "enrollment": enrollment,
            "patient": enrollment.patient,
            "ehr_step": answers.get(Step.RECORD_IN_EHR),
            "first_login": answers.get(Step.FIRST_LOGIN),
            "duration": f"{minutes}:{seconds:02d}",
        }
        return render(request, "enrollment/completed.html", context)


FOLLOW_UP_PAGE_SIZE = 25


class FollowUpListView(FrontDeskView):
    """Patients to call about the portal, in the order to call them, a page at a time."""

    def get(self, request):
        return self.render_page(request.GET.get("page"))

    def render_page(self, number, *, failed: Patient | None = None, form=None, status=200):
        page = follow_up_page(number, per_page=FOLLOW_UP_PAGE_SIZE)
        patients = page.object_list
        for patient in patients:
            patient.follow_up_group = FollowUpPriority(patient.follow_up_priority).label
            if patient.last_call_outcome:
                patient.last_call_label = CallOutcome(patient.last_call_outcome).label
        access_log_record_list(request=self.request, resource="follow_up", patients=patients)
        context = {
            "page": page,
            "patients": patients,
            "form": FollowUpCallForm(),
            "recent_days": FOLLOW_UP_RECENT.days,
            # A "Log" refused: the error and what was typed, on that patient's row.
            "failed_pk": failed.pk if failed else None,
            "failed_form": form,
        }
        return render(self.request, "enrollment/follow_up.html", context, status=status)


class FollowUpCallView(FollowUpListView):
    """Log one call (POST only: the list it renders on a refusal is the parent's)."""

    http_method_names = ["post"]

    def post(self, request, pk):
        patient = get_object_or_404(Patient, pk=pk)
        form = FollowUpCallForm(request.POST)
        if not form.is_valid():
            return self.render_page(request.POST.get("page"), failed=patient, form=form, status=400)
        data = form.cleaned_data
        services.follow_up_call_record(
            patient=patient, by=request.user, outcome=data["outcome"], note=data["note"]
        )
        self.log(patient, AccessAction.CHANGE, "follow_up_call")
        messages.success(request, _("Call logged."))
        url = reverse("enrollment:follow_up")
        return redirect(f"{url}?page={data['page']}" if data["page"] else url)
