from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from enrollment.selectors import staff_credit
from messaging.models import Queue
from messaging.selectors import queue_counts, queues_for
from patients.models import Patient
from portal_adoption.forms import AccessLogFilterForm, AccessLogQueryForm
from portal_adoption.models import User
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import ENROLL_PATIENTS, VIEW_ACCESS_LOG
from portal_adoption.selectors import (
    AccessLogFilter,
    access_log_listed_counts,
    access_log_search,
)
from portal_adoption.services import access_log_record_denied, access_log_record_list
from program.selectors.home import program_for_home

ACCESS_LOG_PAGE_SIZE = 50


class HomeView(TemplateView):
    template_name = "portal_adoption/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        if user.has_perm(ENROLL_PATIENTS):
            # The desk's credit: enrollments per member of staff (workflows.md).
            context["credit"] = staff_credit()
        # Where the day stands in each queue this person works.
        context["queue_summary"] = [
            (Queue(queue), queue_counts(queue)) for queue in queues_for(user) if queue != "provider"
        ]
        # The adoption program: the week's phase, training owed, the month's champion.
        context["program"] = program_for_home(user)
        return context


def permission_denied(request, exception=None):
    """The 403 page. Every refusal is written to the access log first."""
    access_log_record_denied(request=request)
    return render(request, "403.html", status=403)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form refused for its CSRF token is a refusal like any other."""
    access_log_record_denied(request=request)
    return render(request, "403.html", {"csrf_failure": True}, status=403)


class AccessLogView(StaffPermissionRequiredMixin, View):
    permission_required = VIEW_ACCESS_LOG
    template_name = "portal_adoption/access_log.html"

    def get(self, request):
        query = AccessLogQueryForm(request.GET)
        if not query.is_valid():
            # A link with a bad filter: say which, rather than show everything as if filtered.
            messages.error(request, _("This link's filters are not valid: %s") % _errors(query))
            return self._render(AccessLogFilterForm(), AccessLogFilter(), status=400)
        filters = _filters_from(query)
        form = AccessLogFilterForm(initial=_initial_from(filters))
        return self._render(form, filters)

    def post(self, request):
        form = AccessLogFilterForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Please correct the filters below."))
            return self._render(form, AccessLogFilter(), status=400)
        return redirect(_url_for(form.cleaned_data))

    def _render(self, form, filters, status=200):
        page = Paginator(access_log_search(filters), ACCESS_LOG_PAGE_SIZE).get_page(
            self.request.GET.get("page")
        )
        counts = access_log_listed_counts(e.pk for e in page.object_list)
        searched = Patient.objects.filter(pk=filters.patient_id).first()
        for entry in page.object_list:
            entry.listed_count = counts.get(entry.pk, 0)
            # A list found by the patient searched for shows that patient on its row.
            entry.shown_patient = entry.patient or (searched if entry.listed_count else None)
        # Every patient shown on the page is logged, whatever led to the page.
        shown_patients = {e.shown_patient for e in page.object_list if e.shown_patient}
        access_log_record_list(request=self.request, resource="access_log", patients=shown_patients)
        context = {
            "form": form,
            "page": page,
            "filtered": filters != AccessLogFilter(),
            "query_string": urlencode(_query_from(filters)),
        }
        return render(self.request, self.template_name, context, status=status)


def _errors(form) -> str:
    """Each error, after its field's label unless the message names the field already."""
    lines = []
    for name, errors in form.errors.items():
        label = str(form.fields[name].label)
        lines += [e if e.startswith(label) else f"{label}: {e}" for e in errors]
    return " ".join(lines)


def _filters_from(query: AccessLogQueryForm) -> AccessLogFilter:
    data = query.cleaned_data
    return AccessLogFilter(
        user_id=data["user"],
        patient_id=data["patient"],
        date_from=data["date_from"],
        date_to=data["date_to"],
    )


def _initial_from(filters: AccessLogFilter) -> dict:
    patient = Patient.objects.filter(pk=filters.patient_id).first()
    return {
        "user": User.objects.filter(pk=filters.user_id).first(),
        "patient_mrn": patient.external_id if patient else "",
        "date_from": filters.date_from,
        "date_to": filters.date_to,
    }


def _query_from(filters: AccessLogFilter) -> dict:
    values = {
        "user": filters.user_id,
        "patient": filters.patient_id,
        "date_from": filters.date_from and filters.date_from.isoformat(),
        "date_to": filters.date_to and filters.date_to.isoformat(),
    }
    return {key: value for key, value in values.items() if value}


def _url_for(cleaned: dict) -> str:
    filters = AccessLogFilter(
        user_id=cleaned["user"].pk if cleaned["user"] else None,
        patient_id=cleaned["patient_mrn"].pk if cleaned["patient_mrn"] else None,
        date_from=cleaned["date_from"],
        date_to=cleaned["date_to"],
    )
    query = urlencode(_query_from(filters))
    return reverse("access_log") + (f"?{query}" if query else "")
