"""manage.py patient_messages: bring the patient-text catalogues in step with the code."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal_adoption import catalogs
from portal_adoption.management.base import Command as ProjectCommand


class Command(ProjectCommand):
    help = gettext_lazy(
        "Add the patient texts the code marks (context “patient”) to the Chinese, Vietnamese "
        "and locale/patient-texts catalogues, and drop the ones it no longer has."
    )

    def handle(self, *args, **options):
        counts = catalogs.patient_catalogues_update(catalogs.extract())
        added = sum(a for a, _d in counts.values())
        dropped = sum(d for _a, d in counts.values())
        self.stdout.write(
            _("Patient texts: %(added)d added, %(dropped)d dropped, in %(count)d catalogues.")
            % {"added": added, "dropped": dropped, "count": len(counts)}
        )
