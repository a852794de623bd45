"""manage.py demo_logins: a fresh password per demo role, printed where a newcomer looks.

`make run` calls it last, just before the server starts, so the logins sit beside
"Serving on http://…" instead of above the migrate and rollup output.
"""

from django.utils.translation import gettext_lazy

from patients.demo import demo_staff_ensure
from patients.management.commands.demo_data import print_logins
from portal_adoption.management.base import Command as ProjectCommand


class Command(ProjectCommand):
    help = gettext_lazy(
        "Reset the demo staff logins (one per role, new passwords and recovery codes) "
        "and print them."
    )

    def handle(self, *args, **options):
        print_logins(self.stdout, demo_staff_ensure())
