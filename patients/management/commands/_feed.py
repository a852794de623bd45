"""What the feed import commands share: open the file, run, print, exit 1 on rejections."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from patients.feed_import import FeedFileInvalid, ImportReport
from patients.selectors import import_rejections
from portal_adoption.management.base import Command as ProjectCommand


class FeedImportCommand(ProjectCommand):
    label = ""

    def rejection_line(self, rejection) -> str:
        return _("line %(line)d: %(field)s: %(reason)s") % {
            "line": rejection.position,
            "field": rejection.field,
            "reason": rejection.reason,
        }

    def summary_line(self, report: ImportReport, file_name: str) -> str:
        return _(
            "%(label)s from %(file)s: received %(received)d, created %(created)d, "
            "updated %(updated)d, unchanged %(unchanged)d, rejected %(rejected)d"
        ) % {"label": self.label, "file": file_name, **report.counts()}

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help=_("The file to import."))

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(_("%(file)s is not a file.") % {"file": file})
        try:
            with file.open("rb") as stream:
                report = self.run_import(stream, file.name)
        except FeedFileInvalid as error:
            raise CommandError(str(error)) from None
        self.print_report(report, file.name)
        if report.rejected:
            raise CommandError(
                _(
                    "%(count)d records were rejected: fix them and import the file again; "
                    "records already imported are not duplicated."
                )
                % {"count": report.rejected},
                returncode=1,
            )

    def run_import(self, stream, file_name: str) -> ImportReport:
        raise NotImplementedError

    def print_report(self, report: ImportReport, file_name: str) -> None:
        for rejection in import_rejections(report.run_id).iterator():
            self.stderr.write(self.rejection_line(rejection))
        self.stdout.write(self.summary_line(report, file_name))
