"""manage.py demo_program: the demo practice's adoption program (run after demo_data)."""

from django.core.checks import Tags
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.demo import practice_today
from portal_adoption.management.base import Command as ProjectCommand
from program.demo import load_program_demo


class Command(ProjectCommand):
    # Only the models' checks: the full set imports every view (matplotlib's PDF backend
    # among them), a second of each demo command, and make run's migrate ran them already.
    requires_system_checks = [Tags.models]

    help = gettext_lazy(
        "Give the demo practice its adoption program: a rollout plan in week 9, "
        "training partly complete, and a portal champion."
    )

    def handle(self, *args, **options):
        # One transaction: on SQLite each row would otherwise wait for its own commit.
        with transaction.atomic():
            load_program_demo(practice_today())
        self.stdout.write(_("Demo adoption program loaded."))
