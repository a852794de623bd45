"""The managers' feed upload page and its results."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View

from patients.feed import EVENT_FIELDS, PATIENT_FIELDS
from patients.forms import FeedUploadForm
from patients.import_services import (
    import_upload_accept,
    upload_limit_bytes,
    upload_too_large_message,
)
from patients.models import ImportRun, ImportStatus
from patients.selectors import (
    import_rejections,
    import_run_rejected_patients,
    import_runs_recent,
    rejected_record_patients,
)
from portal_adoption.csv_export import csv_streaming_download
from portal_adoption.middleware import background_poll
from portal_adoption.models import AccessAction
from portal_adoption.permissions import StaffPermissionRequiredMixin
from portal_adoption.roles import IMPORT_FEED
from portal_adoption.services import access_log_record, access_log_record_list

SHOWN_REJECTIONS = 200
# Room for the form's other fields around the file in a multipart body.
FORM_OVERHEAD_BYTES = 64 * 1024


class ImportUploadView(StaffPermissionRequiredMixin, View):
    """Upload a file: it is stored and imported by a worker; its page shows the progress."""

    permission_required = IMPORT_FEED
    template_name = "patients/import_upload.html"

    def get(self, request):
        return self._render(FeedUploadForm())

    def post(self, request):
        declared = _declared_length(request)
        if declared > upload_limit_bytes() + FORM_OVERHEAD_BYTES:
            # Refused before the body is read: a 2 GB upload is not spooled to disk first.
            messages.error(request, upload_too_large_message(declared))
            return self._render(FeedUploadForm(), status=413)
        form = FeedUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form, status=400)
        run = import_upload_accept(
            kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"], user=request.user
        )
        run.refresh_from_db()  # without a task queue the worker ran already, in-process
        if run.status == ImportStatus.FAILED:
            messages.error(request, _("Nothing was imported. %(reason)s") % {"reason": run.failure})
            return self._render(form, status=400)
        _flash_outcome(request, run)
        return redirect("patients:import_detail", pk=run.pk)

    def _render(self, form, status=200):
        context = {"form": form, "runs": import_runs_recent()}
        return render(self.request, self.template_name, context, status=status)


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _flash_outcome(request, run: ImportRun) -> None:
    counts = {
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "rejected": run.rejected,
    }
    if run.in_progress:
        messages.info(
            request,
            _(
                "The file is being imported: this page shows how far it has got. You may "
                "leave it; the import goes on."
            ),
        )
    elif run.rejected:
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


@method_decorator(background_poll, name="dispatch")
class ImportProgressView(StaffPermissionRequiredMixin, View):
    """The progress bar of one import, polled by its page every two seconds (htmx).

    A background poll, not activity: the idle sign-out must not count it
    (`background_poll`). When the import ends, htmx reloads the page, which
    then shows the result.
    """

    permission_required = IMPORT_FEED

    def get(self, request, pk):
        run = get_object_or_404(ImportRun, pk=pk)
        response = render(request, "patients/includes/import_progress.html", {"run": run})
        if not run.in_progress and request.htmx:
            response["HX-Refresh"] = "true"
        return response


class ImportDetailView(StaffPermissionRequiredMixin, View):
    permission_required = IMPORT_FEED
    template_name = "patients/import_detail.html"

    def get(self, request, pk):
        run = get_object_or_404(ImportRun.objects.select_related("started_by"), pk=pk)
        rejections = list(import_rejections(run.pk)[:SHOWN_REJECTIONS])
        if rejections:
            # Rejected records name patients (MRNs): reading them is logged, with
            # each patient shown who is on the roster, so an MRN filter finds it.
            access_log_record(
                request=request,
                action=AccessAction.VIEW,
                resource="import_rejections",
                object_id=run.pk,
            )
            access_log_record_list(
                request=request,
                resource="import_rejections",
                patients=rejected_record_patients(r.record for r in rejections),
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
        access_log_record_list(
            request=request,
            resource="import_rejections_export",
            patients=import_run_rejected_patients(run.pk),
        )
        return csv_streaming_download(
            _rejection_rows(run), filename=f"import-{run.pk}-rejected.csv"
        )


def _columns_in_feed_order(record: dict) -> list[str]:
    # PostgreSQL's jsonb keeps no key order: put the feed's columns back in theirs.
    known = [name for name in (*PATIENT_FIELDS, *EVENT_FIELDS) if name in record]
    return known + sorted(name for name in record if name not in known)


def _rejection_rows(run: ImportRun):
    rejections = import_rejections(run.pk)
    first = rejections.first()
    fields = _columns_in_feed_order(first.record) if first else []
    yield ["line", "field", "reason", *fields]
    for rejection in rejections.iterator():
        values = [rejection.record.get(name, "") for name in fields]
        yield [rejection.position, rejection.field, rejection.reason, *values]
