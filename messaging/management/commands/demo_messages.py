from django.core.checks import Tags
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.demo import (
    demo_bill_reminders_load,
    demo_feedback_load,
    demo_messages_load,
    demo_results_education,
)
from portal_adoption.management.base import Command as ProjectCommand


class Command(ProjectCommand):
    # Only the models' checks: the full set imports every view (matplotlib's PDF backend
    # among them), a second of each demo command, and make run's migrate ran them already.
    requires_system_checks = [Tags.models]

    help = gettext_lazy(
        "Put open patient messages in every queue of the demo practice, and its past bill-pay "
        "reminders and results-education messages."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=40)

    def handle(self, *args, count, **options):
        # One transaction: on SQLite each of the thousands of rows would otherwise wait
        # for its own commit to reach the disk.
        with transaction.atomic():
            self._load(count)

    def _load(self, count):
        created = demo_messages_load(count=count)
        self.stdout.write(_("Demo messages: %(n)d created") % {"n": created})
        reminders = demo_bill_reminders_load()
        self.stdout.write(_("Demo bill-pay reminders: %(n)d created") % {"n": reminders})
        educated = demo_results_education()
        self.stdout.write(_("Demo results education: %(n)d messages sent") % {"n": educated})
        # The feedback page's comments, tags and one published change (issue 13).
        comments = demo_feedback_load()
        self.stdout.write(_("Demo survey comments: %(n)d written") % {"n": comments})
