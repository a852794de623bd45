"""manage.py create_event_partitions [--since YYYY-MM]: the event log's monthly partitions.

The nightly rollup creates this month's partition and the next three
(patients.partitions); this is for an operator about to import a history
older than the partitions there are: run it first, with the history's first
month, so that those events go to their months rather than to the DEFAULT
partition. PostgreSQL only; idempotent.
"""

import datetime as dt

from django.core.management.base import CommandError
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.partitions import event_partitions_ensure
from portal_adoption.management.base import Command as ProjectCommand


def _month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as error:
        raise CommandError(_("--since must be a month written YYYY-MM.")) from error


class Command(ProjectCommand):
    help = gettext_lazy(
        "Create the event log's monthly partitions from a month on (PostgreSQL), and the "
        "months ahead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", type=_month, help=gettext_lazy("first month, YYYY-MM"))

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write(_("The event log is partitioned on PostgreSQL only: nothing to do."))
            return
        created = event_partitions_ensure(since=options["since"])
        self.stdout.write(_("Event log partitions created: %(count)d.") % {"count": len(created)})
