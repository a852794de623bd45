"""manage.py rebuild_patient_firsts: every patient's firsts again from the whole event log.

Imports and app events keep PatientFirsts current as they write, and a trigger
keeps ObjectFirsts (the first times of results and messages), StatementFirsts
(each statement's first recorded event) and PatientLatest (the latest invitation or
activation and login); this is for a log
written around them (a restore, a bulk load). Idempotent.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.services import (
    object_firsts_rebuild,
    patient_firsts_rebuild,
    patient_latest_rebuild,
    statement_firsts_rebuild,
)
from portal_adoption.management.base import Command as ProjectCommand


class Command(ProjectCommand):
    help = gettext_lazy(
        "Rebuild each patient's first invitation, activation, login, app install and "
        "message from the whole event log."
    )

    def handle(self, *args, **options):
        patients = patient_firsts_rebuild()
        self.stdout.write(
            _("Patient firsts rebuilt: %(patients)d patients with at least one.")
            % {"patients": patients}
        )
        objects = object_firsts_rebuild()
        self.stdout.write(
            _("First times of results and messages rebuilt: %(objects)d.") % {"objects": objects}
        )
        statements = statement_firsts_rebuild()
        self.stdout.write(
            _("First events of statements rebuilt: %(statements)d.") % {"statements": statements}
        )
        latest = patient_latest_rebuild()
        self.stdout.write(
            _("Latest invitations and logins rebuilt: %(patients)d patients with either.")
            % {"patients": latest}
        )
