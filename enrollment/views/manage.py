"""Managers' side of enrollment: weekly tech-help sessions and the incentives on offer."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views import View

from enrollment.forms.declines import IncentiveCreateForm, TechHelpSessionForm
from enrollment.models import Incentive, TechHelpBooking, TechHelpSession
from enrollment.selectors import tech_help_sessions_upcoming
from enrollment.services import (
    EnrollmentError,
    incentive_create,
    incentive_set_active,
    tech_help_session_create,
)
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import MANAGE_ENROLLMENT
from portal_adoption.services import access_log_record_list


class ManagerView(StaffPermissionRequiredMixin, View):
    permission_required = MANAGE_ENROLLMENT


class TechHelpView(ManagerView):
    """Upcoming sessions with their seats, and a form to add the next one."""

    template_name = "enrollment/manage/tech_help.html"

    def get(self, request):
        return self._render(TechHelpSessionForm())

    def post(self, request):
        form = TechHelpSessionForm(request.POST)
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            session = tech_help_session_create(**form.cleaned_data, by=request.user)
        except EnrollmentError as error:
            form.add_error(None, str(error))
            return self._render(form, status=400)
        starts = formats.date_format(timezone.localtime(session.starts_at), "DATETIME_FORMAT")
        messages.success(
            request,
            _("Session added for %(starts)s: clerks can book patients into it now.")
            % {"starts": starts},
        )
        return redirect("enrollment:tech_help")

    def _render(self, form, status=200):
        context = {"form": form, "sessions": tech_help_sessions_upcoming()}
        return render(self.request, self.template_name, context, status=status)


class TechHelpDetailView(ManagerView):
    """Who is booked into one session. Each patient listed is written to the access log."""

    def get(self, request, pk):
        session = get_object_or_404(
            TechHelpSession.objects.select_related("location", "created_by"), pk=pk
        )
        bookings = list(
            TechHelpBooking.objects.filter(session=session)
            .select_related("patient", "booked_by")
            .order_by("patient__family_name", "patient__given_name", "pk")
        )
        access_log_record_list(
            request=request, resource="tech_help_session", patients=[b.patient for b in bookings]
        )
        context = {"session": session, "bookings": bookings}
        return render(request, "enrollment/manage/tech_help_detail.html", context)


class IncentiveListView(ManagerView):
    """The incentives the desk may record, and how many enrollments each one bought."""

    template_name = "enrollment/manage/incentives.html"

    def get(self, request):
        return self._render(IncentiveCreateForm())

    def post(self, request):
        form = IncentiveCreateForm(request.POST)
        if not form.is_valid():
            return self._render(form, status=400)
        incentive = incentive_create(**form.cleaned_data)
        messages.success(
            request,
            _("“%(name)s” is offered now: the desk can record it on an enrollment.")
            % {"name": incentive.name},
        )
        return redirect("enrollment:incentives")

    def _render(self, form, status=200):
        incentives = Incentive.objects.annotate(enrollment_count=Count("enrollments"))
        context = {"form": form, "incentives": incentives}
        return render(self.request, self.template_name, context, status=status)


class IncentiveToggleView(ManagerView):
    """Stop offering an incentive, or offer it again. Past enrollments keep theirs."""

    def post(self, request, pk):
        incentive = get_object_or_404(Incentive, pk=pk)
        incentive_set_active(incentive=incentive, active=not incentive.active)
        if incentive.active:
            message = _("“%(name)s” is no longer offered. Enrollments that had it keep it.")
        else:
            message = _("“%(name)s” is offered again.")
        messages.success(request, message % {"name": incentive.name})
        return redirect("enrollment:incentives")
