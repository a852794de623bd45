from django.utils.translation import gettext_lazy as _

from patients.feed_csv import event_rows
from patients.feed_import import events_import
from patients.management.commands._feed import FeedImportCommand
from patients.models import EventSource


class Command(FeedImportCommand):
    help = _("Import portal events from a CSV file (activity-feed.md).")
    label = _("Events")

    def run_import(self, stream, file_name):
        return events_import(event_rows(stream), source=EventSource.FEED_CSV, file_name=file_name)
