"""manage.py demo_program: the demo practice's adoption program (run after demo_data)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.demo import practice_today
from portal_adoption.management.base import Command as ProjectCommand
from program.demo import load_program_demo


class Command(ProjectCommand):
    help = gettext_lazy(
        "Give the demo practice its adoption program: a rollout plan in week 9, "
        "training partly complete, and a portal champion."
    )

    def handle(self, *args, **options):
        load_program_demo(practice_today())
        self.stdout.write(_("Demo adoption program loaded."))
