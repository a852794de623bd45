from django.utils.translation import gettext_lazy as _

from patients.feed_csv import patient_rows
from patients.feed_import import patients_import
from patients.management.commands._feed import FeedImportCommand
from patients.models import EventSource


class Command(FeedImportCommand):
    help = _("Import the patient roster from a CSV file (activity-feed.md).")
    label = _("Patients")

    def run_import(self, stream, file_name):
        return patients_import(
            patient_rows(stream), source=EventSource.FEED_CSV, file_name=file_name
        )
