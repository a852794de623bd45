"""manage.py nightly: the whole nightly job at once, synchronously."""

from datetime import date

from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.outreach import outreach_run
from portal_adoption.dates import date_window_error, filter_window
from portal_adoption.management.base import Command as ProjectCommand
from portal_adoption.nightly import StepsFailed


class Command(ProjectCommand):
    help = gettext_lazy(
        "Run the nightly job now: rollups, reminders and campaigns. A month, rule or "
        "patient that fails is recorded for the managers' nightly page and skipped; "
        "everything else is done, then the command exits with status 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help=_("The night to run for, YYYY-MM-DD (today)."))

    def handle(self, *args, date: str | None = None, **options):
        today = _parse(date) if date else timezone.localdate()
        failed = 0
        # The metrics app is reached by its command name only: nothing imports it.
        if "rollup_metrics" in get_commands():
            try:
                call_command(
                    "rollup_metrics",
                    night=today.isoformat(),
                    stdout=self.stdout,
                    stderr=self.stderr,
                )
            except StepsFailed as rollup_failed:
                # The figures' failures are recorded; the reminders still go out.
                failed += rollup_failed.count
        run = outreach_run(today=today, job="nightly command", synchronous=True)
        failed += run.failed
        sent = sum(c["claimed"] for c in run.counts.values())
        self.stdout.write(
            _("Nightly %(day)s: %(sent)d messages claimed, %(failed)d failed; %(detail)s")
            % {
                "day": today.isoformat(),
                "sent": sent,
                "failed": run.failed,
                "detail": ", ".join(f"{rule} {c['claimed']}" for rule, c in run.counts.items()),
            }
        )
        if failed:
            raise StepsFailed(failed)


def _parse(text: str) -> date:
    try:
        night = date.fromisoformat(text)
    except ValueError:
        night = None
    if night is None or date_window_error(night, field="--date", window=filter_window()):
        raise CommandError(
            _("--date must be a date written YYYY-MM-DD %(window)s, not “%(text)s”.")
            % {"text": text, "window": filter_window().describe()}
        )
    return night
