"""The CMS electronic-access measure for managers: the page and the CSV of patients not counted.

Both list named patients, so both write the access log: the page the
patients it shows, the CSV every patient in the file (one row per list,
portal_adoption.services.access_log_record_list). The period is two dates in
the query string, never anything about a patient.
"""

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.electronic_access.forms import PerformancePeriodForm
from metrics.electronic_access.selectors import (
    electronic_access,
    period_default,
    period_last_90_days,
)
from metrics.views import DashboardPermissionView
from portal_adoption.csv_export import csv_download
from portal_adoption.dates import practice_zone
from portal_adoption.services import access_log_record_list

# The page shows this many patients not counted; the CSV has them all.
PAGE_LIMIT = 200


def _period(request):
    """The form, and (start, end) when it is valid; no query at all is this year."""
    data = request.GET if ("start" in request.GET or "end" in request.GET) else None
    if data is None:
        start, end = period_default()
        data = {"start": start.isoformat(), "end": end.isoformat()}
    form = PerformancePeriodForm(data)
    if not form.is_valid():
        return form, None
    return form, (form.cleaned_data["start"], form.cleaned_data["end"])


def _query(start, end) -> str:
    return urlencode({"start": start.isoformat(), "end": end.isoformat()})


def _presets() -> list[dict]:
    today = timezone.localdate()
    this_year = period_default(today)
    last_year = (
        this_year[0].replace(year=today.year - 1),
        this_year[1].replace(year=today.year - 1),
    )
    return [
        {"label": _("This year"), "query": _query(*this_year)},
        {"label": _("Last year"), "query": _query(*last_year)},
        {"label": _("The last 90 days"), "query": _query(*period_last_90_days(today))},
    ]


class ElectronicAccessView(DashboardPermissionView):
    """The rate, its definition and the patients not counted with their visit days."""

    template_name = "metrics/electronic_access.html"

    def get(self, request):
        form, period = _period(request)
        context = {"form": form, "presets": _presets(), "report_page": "electronic_access"}
        if period is None:
            return render(request, self.template_name, context, status=400)
        measure = electronic_access(*period)
        shown = measure.not_counted[:PAGE_LIMIT]
        access_log_record_list(
            request=request, resource="electronic_access", patients=[r.patient for r in shown]
        )
        context.update(
            {
                "measure": measure,
                "rate_percent": measure.rate * 100 if measure.rate is not None else None,
                "shown": shown,
                "more": len(measure.not_counted) - len(shown),
                "query": _query(*period),
                "in_progress": period[1] >= timezone.localdate(),
            }
        )
        return render(request, self.template_name, context)


class ElectronicAccessCsvView(DashboardPermissionView):
    """Every patient not counted, to act on: one row each, with their visit days."""

    def get(self, request):
        form, period = _period(request)
        if period is None:
            return HttpResponse(
                " ".join(str(e) for errors in form.errors.values() for e in errors),
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        measure = electronic_access(*period)
        access_log_record_list(
            request=request,
            resource="electronic_access_export",
            patients=[r.patient for r in measure.not_counted],
        )
        rows = [
            [
                _("MRN"),
                _("Family name"),
                _("Given name"),
                _("Visits in the period"),
                _("Last day for access"),
                _("First access"),
                _("Still in time"),
            ]
        ]
        zone = practice_zone()
        for row in measure.not_counted:
            rows.append(
                [
                    row.patient.external_id,
                    row.patient.family_name,
                    row.patient.given_name,
                    " ".join(day.isoformat() for day in row.visits),
                    row.deadline.isoformat(),
                    row.access_at.astimezone(zone).date().isoformat() if row.access_at else "",
                    _("yes") if row.still_in_time else _("no"),
                ]
            )
        start, end = period
        return csv_download(
            rows,
            filename=f"electronic-access-not-counted-{start.isoformat()}-{end.isoformat()}.csv",
        )
