from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.feed_import import ImportReport
from patients.fhir import fhir_import_file
from patients.management.commands._feed import FeedImportCommand


class Command(FeedImportCommand):
    help = gettext_lazy(
        "Import a FHIR R4 Bundle (JSON) of patients, appointments, messages, results, visits "
        "and statements "
        "(activity-feed.md)."
    )
    label = gettext_lazy("FHIR Bundle")

    def run_import(self, stream, file_name):
        return fhir_import_file(stream, file_name=file_name)

    def rejection_line(self, rejection) -> str:
        # A Bundle's records are placed by entry index, not by line.
        return _("entry %(index)d: %(field)s: %(reason)s") % {
            "index": rejection.position,
            "field": rejection.field,
            "reason": rejection.reason,
        }

    def summary_line(self, report: ImportReport, file_name: str) -> str:
        return _("%(counts)s, skipped %(skipped)d entries") % {
            "counts": super().summary_line(report, file_name),
            "skipped": report.skipped,
        }

    def print_report(self, report: ImportReport, file_name: str) -> None:
        for skipped in report.skipped_entries:
            self.stdout.write(_skipped_line(skipped))
        super().print_report(report, file_name)


def _skipped_line(skipped: dict) -> str:
    if skipped["index"] is None:
        return _("skipped %(count)d %(type)s entries: %(reason)s") % {
            "count": skipped["count"],
            "type": skipped["resource_type"],
            "reason": skipped["reason"],
        }
    return _("skipped entry %(index)d (%(type)s): %(reason)s") % {
        "index": skipped["index"],
        "type": skipped["resource_type"] or "?",
        "reason": skipped["reason"],
    }
