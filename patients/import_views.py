"""The managers' feed upload page and its results."""

import csv

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from patients.feed import EVENT_FIELDS, PATIENT_FIELDS
from patients.feed_csv import event_rows, patient_rows
from patients.feed_import import FeedFileInvalid, events_import, patients_import
from patients.fhir import bundle_read, fhir_import
from patients.forms import FeedUploadForm
from patients.models import EventSource, ImportRun
from patients.selectors import import_rejections, import_runs_recent
from portal_adoption.models import AccessAction
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import IMPORT_FEED
from portal_adoption.services import access_log_record

SHOWN_REJECTIONS = 200
CSV_IMPORTERS = {
    "patients": (patient_rows, patients_import),
    "events": (event_rows, events_import),
}


def run_upload(kind: str, upload, user):
    if kind == "fhir":
        return fhir_import(bundle_read(upload.file), user=user, file_name=upload.name)
    rows, importer = CSV_IMPORTERS[kind]
    return importer(
        rows(upload.file), source=EventSource.FEED_CSV, file_name=upload.name, user=user
    )


class ImportUploadView(StaffPermissionRequiredMixin, View):
    permission_required = IMPORT_FEED
    template_name = "patients/import_upload.html"

    def get(self, request):
        return self._render(FeedUploadForm())

    def post(self, request):
        form = FeedUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            report = run_upload(form.cleaned_data["kind"], form.cleaned_data["file"], request.user)
        except FeedFileInvalid as error:
            messages.error(request, _("Nothing was imported. %(reason)s") % {"reason": error})
            return self._render(form, status=400)
        _flash_outcome(request, report)
        return redirect("patients:import_detail", pk=report.run_id)

    def _render(self, form, status=200):
        context = {"form": form, "runs": import_runs_recent()}
        return render(self.request, self.template_name, context, status=status)


def _flash_outcome(request, report) -> None:
    counts = report.counts()
    if report.rejected:
        messages.warning(
            request,
            _(
                "Imported with %(rejected)d rejected records: download them, fix them and "
                "send them again."
            )
            % counts,
        )
    else:
        messages.success(
            request,
            _("Imported: %(created)d new, %(updated)d updated, %(unchanged)d already here.")
            % counts,
        )


class ImportDetailView(StaffPermissionRequiredMixin, View):
    permission_required = IMPORT_FEED
    template_name = "patients/import_detail.html"

    def get(self, request, pk):
        run = get_object_or_404(ImportRun.objects.select_related("started_by"), pk=pk)
        rejections = list(import_rejections(run.pk)[:SHOWN_REJECTIONS])
        if rejections:
            # Rejected records name patients (MRNs): reading them is logged.
            access_log_record(
                request=request,
                action=AccessAction.VIEW,
                resource="import_rejections",
                object_id=run.pk,
            )
        context = {"run": run, "rejections": rejections, "shown_limit": SHOWN_REJECTIONS}
        return render(request, self.template_name, context)


class ImportRejectionsCsvView(StaffPermissionRequiredMixin, View):
    """The rejected records with their reasons, for the sender to fix and resend."""

    permission_required = IMPORT_FEED

    def get(self, request, pk):
        run = get_object_or_404(ImportRun, pk=pk)
        access_log_record(
            request=request,
            action=AccessAction.EXPORT,
            resource="import_rejections",
            object_id=run.pk,
        )
        response = StreamingHttpResponse(_rejection_lines(run), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-rejected.csv"'
        return response


def _columns_in_feed_order(record: dict) -> list[str]:
    # PostgreSQL's jsonb keeps no key order: put the feed's columns back in theirs.
    known = [name for name in (*PATIENT_FIELDS, *EVENT_FIELDS) if name in record]
    return known + sorted(name for name in record if name not in known)


class _Echo:
    def write(self, value):
        return value


def _rejection_lines(run: ImportRun):
    writer = csv.writer(_Echo())
    rejections = import_rejections(run.pk)
    first = rejections.first()
    fields = _columns_in_feed_order(first.record) if first else []
    yield writer.writerow(["line", "field", "reason", *fields])
    for rejection in rejections.iterator():
        values = [rejection.record.get(name, "") for name in fields]
        yield writer.writerow([rejection.position, rejection.field, rejection.reason, *values])
