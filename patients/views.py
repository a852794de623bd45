from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views import View

from patients.forms import PatientSearchForm
from patients.models import EventType
from patients.selectors import (
    SEARCH_LIMIT,
    patient_event_counts,
    patient_list,
    patient_recent_events,
    patient_search,
)
from portal_adoption.dates import event_window
from portal_adoption.models import AccessAction
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import VIEW_PATIENTS
from portal_adoption.services import access_log_record, access_log_record_list

PATIENT_PAGE_SIZE = 25


class PatientListView(StaffPermissionRequiredMixin, View):
    """The roster, by name; a posted search narrows it."""

    permission_required = VIEW_PATIENTS
    template_name = "patients/patient_list.html"

    def get(self, request):
        page = Paginator(patient_list(), PATIENT_PAGE_SIZE).get_page(request.GET.get("page"))
        return self._render(PatientSearchForm(), page.object_list, page=page)

    def post(self, request):
        form = PatientSearchForm(request.POST)
        if not form.is_valid():
            return self._render(form, [], status=400)
        matches = list(patient_search(form.cleaned_data["q"])[: SEARCH_LIMIT + 1])
        if len(matches) > SEARCH_LIMIT:
            messages.info(
                request,
                _("More than %(limit)d patients match: add more of the name.")
                % {"limit": SEARCH_LIMIT},
            )
        return self._render(form, matches[:SEARCH_LIMIT], searched=True)

    def _render(self, form, patients, *, page=None, searched=False, status=200):
        access_log_record_list(request=self.request, resource="patient", patients=patients)
        context = {"form": form, "patients": patients, "page": page, "searched": searched}
        return render(self.request, self.template_name, context, status=status)


class PatientDetailView(StaffPermissionRequiredMixin, View):
    permission_required = VIEW_PATIENTS
    template_name = "patients/patient_detail.html"

    def get(self, request, pk):
        patient = get_object_or_404(patient_list(), pk=pk)
        access_log_record(
            request=request,
            action=AccessAction.VIEW,
            resource="patient",
            object_id=patient.pk,
            patient=patient,
        )
        counts = patient_event_counts(patient)
        events = patient_recent_events(patient)
        context = {
            "patient": patient,
            "events": events,
            "out_of_range": any(event.shown_at is None for event in events),
            "event_window": event_window().describe(),
            "event_counts": [
                (label, counts[value]) for value, label in EventType.choices if value in counts
            ],
        }
        return render(request, self.template_name, context)
