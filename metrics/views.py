"""The managers' monthly dashboard: the page, its charts, the exports, targets, definitions.

Every view reads rollups through metrics.selectors, never the event log. No
page here shows patient data, so none writes the access log (refusals are
logged by the 403 handler).
"""

import re
from urllib.parse import urlencode

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from metrics import drawings, exports
from metrics.charts import trend_description
from metrics.figures import BY_KEY, FIGURES
from metrics.forecast.selectors import MODEL_STATEMENT
from metrics.forms import DashboardFilterForm, TargetsForm, shown, with_unit
from metrics.funnel.selectors import DEFINITION as FUNNEL_DEFINITION
from metrics.selectors import (
    SECTIONS,
    dashboard_for,
    dashboard_sections,
    month_in_progress,
    month_key,
    month_label,
    month_previous,
    months_available,
    opportunity_lines,
    rollup_computed_at,
    scope_from_param,
    targets,
    targets_custom,
    trends,
)
from metrics.target_services import TARGET_FIGURES, TargetErrors, targets_update
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import EDIT_TARGETS, VIEW_DASHBOARD


class DashboardPermissionView(StaffPermissionRequiredMixin, View):
    permission_required = VIEW_DASHBOARD


def _filter(request):
    """The month and scope asked for (the newest month with figures by default), or the
    form with its errors."""
    months = months_available()
    form = DashboardFilterForm(request.GET, months=months)
    if not form.is_valid():
        return form, None, None, months
    month = form.cleaned_data["month"] or (months[0] if months else None)
    if month is not None:
        form.data = form.data.copy()
        form.data["month"] = month_key(month)
    return form, month, form.cleaned_data["scope"], months


class DashboardView(DashboardPermissionView):
    """The dashboard of metrics.md for a month and a scope (workflows: "Manager")."""

    template_name = "metrics/dashboard.html"

    def get(self, request):
        form, month, scope, months = _filter(request)
        context = {
            "form": form,
            "months": months,
            "can_edit_targets": request.user.has_perm(EDIT_TARGETS),
        }
        if month is None:
            status = 400 if form.errors else 200
            return render(request, self.template_name, context, status=status)
        data = dashboard_for(month, scope)
        computed_at = rollup_computed_at(month, scope)
        query = urlencode({"month": month_key(month), "scope": scope.param})
        context.update(
            {
                "data": data,
                "month": month,
                "month_label": month_label(month),
                "previous_label": month_label(month_previous(month)),
                "scope": scope,
                "computed_at": computed_at,
                "in_progress": month_in_progress(month),
                "sections": _with_charts(dashboard_sections(data), month, scope, query)
                if computed_at
                else [],
                "opportunities": opportunity_lines(data),
                "query": query,
                "scope_query": urlencode({"scope": scope.param}),
            }
        )
        return render(request, self.template_name, context)


def _with_charts(sections: list, month, scope, query: str) -> list:
    """Each headline gets its chart's address and the chart in words (its alt text)."""
    keys = [line["chart"] for section in sections for line in section["headlines"]]
    points = trends(keys, month=month, scope=scope)
    for section in sections:
        for line in section["headlines"]:
            url = reverse("metrics:chart", kwargs={"figure": line["chart"]})
            line["chart_url"] = f"{url}?{query}"
            line["chart_alt"] = trend_description(line["chart"], points[line["chart"]])
    return sections


@method_decorator(
    # matplotlib's SVG styles its shapes with style attributes and a <style> element.
    # This response is an image of aggregates, shown with <img>: only it may use them.
    csp_update({"style-src": [UNSAFE_INLINE]}),
    name="dispatch",
)
class ChartView(DashboardPermissionView):
    """One figure's twelve-month trend as SVG, for <img src> on the page."""

    def get(self, request, figure: str):
        if figure not in BY_KEY:
            raise Http404(_("No figure with that name."))
        form, month, scope, _months = _filter(request)
        if form.errors:
            return HttpResponse(
                " ".join(str(e) for errors in form.errors.values() for e in errors),
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        # No rollup at all yet: an empty chart of the last twelve months, not an error.
        month = month or timezone.localdate().replace(day=1)
        # Drawn once per rollup version and served from the table (metrics.drawings).
        svg = drawings.chart_stored(figure=figure, month=month, scope=scope)
        response = HttpResponse(svg, content_type="image/svg+xml")
        response["Cache-Control"] = "private, max-age=300"
        return response


class ExportCsvView(DashboardPermissionView):
    """One row per month and scope: every rollup, or those of ?scope= only."""

    def get(self, request):
        asked = request.GET.get("scope")
        try:
            scope = scope_from_param(asked) if asked else None
        except ValueError as error:
            return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
        name = "portal-metrics.csv"
        if scope is not None:
            name = f"portal-metrics-{scope.param.replace(':', '-')}.csv"
        response = HttpResponse(
            exports.dashboard_csv(scope), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class ExportPdfView(DashboardPermissionView):
    """The dashboard of ?month=&scope= as a PDF, with the page's charts."""

    def get(self, request):
        form, month, scope, _months = _filter(request)
        if form.errors or month is None:
            messages.error(
                request,
                _("There is no month with figures to put in a PDF yet.")
                if month is None and not form.errors
                else _("Choose a month and what to show, then download the PDF."),
            )
            return redirect("metrics:dashboard")
        # Drawn once per rollup version and served from the table (metrics.drawings).
        pdf = drawings.pdf_stored(month=month, scope=scope)
        response = HttpResponse(pdf, content_type="application/pdf")
        filename = exports.report_filename(month, scope)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class TargetsView(StaffPermissionRequiredMixin, View):
    """The managers' targets; an empty box goes back to the default of metrics.md."""

    permission_required = EDIT_TARGETS
    template_name = "metrics/targets.html"

    def get(self, request):
        return self._render(TargetsForm(current=targets()))

    def post(self, request):
        form = TargetsForm(request.POST, current=targets())
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            changed = targets_update(values=form.targets())
        except TargetErrors as refused:
            for error in refused.errors:
                form.add_error(error.field if error.field in form.fields else None, str(error))
            return self._render(form, status=400)
        if changed:
            now = targets()
            messages.success(
                request,
                _("Targets saved: %(list)s.")
                % {
                    "list": ", ".join(
                        f"{BY_KEY[key].label} {with_unit(key, shown(key, now[key]))}"
                        for key in changed
                    )
                },
            )
        else:
            messages.info(request, _("No target changed."))
        return redirect("metrics:targets")

    def _render(self, form, status=200):
        context = {
            "form": form,
            "rows": [form[key] for key in TARGET_FIGURES],
            "custom": targets_custom(),
        }
        return render(self.request, self.template_name, context, status=status)


# metrics.md, quoted: what each figure counts. `backticks` name an event or field.
DEFINITIONS = {
    "panel": gettext_lazy(
        "Patients with `registered_on` on or before the end of the month, and `deactivated_on` "
        "empty or after the end of the month."
    ),
    "enrolled": gettext_lazy(
        "Panel patients whose first `portal_activated` event is at or before the end of the month."
    ),
    "enrollment_rate": gettext_lazy("Enrolled / panel."),
    "new_enrollments": gettext_lazy(
        "Patients whose first `portal_activated` event falls in the month."
    ),
    "active_users": gettext_lazy("Enrolled patients with at least one `login` event in the month."),
    "active_user_rate": gettext_lazy("Active users / enrolled."),
    "multi_feature_users": gettext_lazy(
        "Active users who used at least two of these five features in the month: messaging "
        "(`message_from_patient`), self-scheduling (`appointment_booked` with channel `portal` "
        "or `app`), results (`result_viewed`), payments (`payment` with channel `portal` or "
        "`app`), records (`record_viewed`)."
    ),
    "multi_feature_share": gettext_lazy("Multi-feature users, as a share of active users."),
    "app_install_rate": gettext_lazy(
        "Enrolled patients with an `app_installed` event at or before the end of the month / "
        "enrolled."
    ),
    "messages_received": gettext_lazy("`message_from_patient` events in the month."),
    "messages_sent": gettext_lazy("`message_to_patient` events in the month."),
    "messages_per_active_user": gettext_lazy("(Received + sent) / active users."),
    "appointments_self_scheduled": gettext_lazy(
        "`appointment_booked` events in the month with channel `portal` or `app`."
    ),
    "self_scheduled_share": gettext_lazy(
        "Self-scheduled / all `appointment_booked` events in the month."
    ),
    "results_viewed": gettext_lazy(
        "Results (distinct `object_id`) whose first `result_viewed` event falls in the month."
    ),
    "same_day_view_share": gettext_lazy(
        "Of the results viewed (above) that have a `result_released` event, those whose first "
        "view is on the same local calendar day as the release."
    ),
    "viewed_before_contact_share": gettext_lazy(
        "Of results released in the month, those first viewed by the patient before any "
        "`result_communicated` event for that result (or never contacted but viewed)."
    ),
    "portal_payments": gettext_lazy(
        "Sum of `amount` of `payment` events in the month with channel `portal` or `app`."
    ),
    "portal_payment_share": gettext_lazy(
        "Portal payments / sum of `amount` of all `payment` events in the month."
    ),
    "phone_calls": gettext_lazy("`phone_call` events in the month."),
    "phone_calls_change": gettext_lazy(
        "The change in phone calls against the month before, in percent."
    ),
    "avg_response_hours": gettext_lazy(
        "Over patient messages (`message_from_patient`) whose first response falls in the "
        "month: the mean of response time minus message time, in hours, wall clock, one "
        "decimal. The first response to a message is the earliest event, at or after the "
        "message, of the same patient that names the message in `reply_to` and is either a "
        "`message_to_patient` (a portal reply) or a `response_by_phone` (staff called the "
        "patient back). Every view of response time, here and in the messaging reports, "
        "uses this one definition."
    ),
    "median_response_hours": gettext_lazy(
        "The median of the same response times as the average response time, in hours."
    ),
    "response_within_target_share": gettext_lazy(
        "Of the same first responses, the share made within the practice's internal response "
        "target: by the end of the business day, or by noon of the next business day for a "
        "message that came in after hours."
    ),
    "responses_by_phone": gettext_lazy(
        "Of the same messages, those whose first response was a `response_by_phone`: "
        "answered by calling the patient. A call that answers a message is neither a "
        "message sent nor a phone call."
    ),
    "after_hours_avg_response_hours": gettext_lazy(
        "The average response time over only the messages that arrived while the practice "
        "was closed on its business calendar: outside opening hours on an open day, or on a "
        "closed day (weekend, federal holiday, practice closure). In hours, one decimal."
    ),
    "after_hours_median_response_hours": gettext_lazy(
        "The median of the same evening and weekend response times, in hours."
    ),
    "annual_exam_self_scheduled_share": gettext_lazy(
        "`appointment_booked` events in the month with `appointment_type` `annual_exam` and "
        "channel `portal` or `app` / all `appointment_booked` events in the month with "
        "`appointment_type` `annual_exam`. No data when the feed sends no appointment types."
    ),
    "satisfaction": gettext_lazy(
        "Mean `score` of `survey_response` events in the month from patients enrolled at the "
        "time of the response, one decimal, out of 5."
    ),
}
GENERAL_RULES = [
    gettext_lazy(
        "A month is a calendar month in the practice's time zone. Each figure can be shown "
        "for the whole practice, one location or one primary provider."
    ),
    gettext_lazy(
        # xgettext:no-python-format (the percent signs are literal, never %-formatted)
        "Rates change by percentage points: 65% in December and 68% in January is “+3 pts”. "
        "Counts and money change in percent."
    ),
    gettext_lazy("A figure with a zero denominator is “no data”, not 0% and not an error."),
    gettext_lazy(
        "Response time has one definition: from the patient's message to its first "
        "response, a portal reply or a call back, whichever came first."
    ),
    gettext_lazy(
        "Key opportunities are the figures furthest below their target (largest shortfall "
        "relative to the target), at most three, each with one action from the playbook."
    ),
]
CODE = re.compile(r"`([^`]*)`")


def _pieces(text: str) -> list[tuple[str, bool]]:
    """'`login` events' -> [('login', True), (' events', False)]: code set apart."""
    parts = CODE.split(str(text))
    return [(part, index % 2 == 1) for index, part in enumerate(parts) if part]


class DefinitionsView(DashboardPermissionView):
    """How each figure is computed (metrics.md), one anchor per figure key."""

    def get(self, request):
        current = targets()
        sections = [
            {
                "title": title,
                "figures": [
                    {
                        "key": figure.key,
                        "label": figure.label,
                        "pieces": _pieces(DEFINITIONS[figure.key]),
                        "target": with_unit(figure.key, shown(figure.key, current[figure.key]))
                        if figure.key in current
                        else None,
                        "lower_is_better": not figure.higher_is_better,
                    }
                    for figure in FIGURES
                    if figure.section == key
                ],
            }
            for key, title in SECTIONS
        ]
        context = {
            "sections": sections,
            "rules": GENERAL_RULES,
            "forecast_model": MODEL_STATEMENT,
            "funnel_definition": FUNNEL_DEFINITION,
        }
        return render(request, "metrics/definitions.html", context)
