"""manage.py nightly: the whole nightly job at once, synchronously."""

from datetime import date

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.outreach import outreach_run


class Command(BaseCommand):
    help = gettext_lazy("Run the nightly job now: rollups, reminders and campaigns.")

    def add_arguments(self, parser):
        parser.add_argument("--date", help=_("The night to run for, YYYY-MM-DD (today)."))

    def handle(self, *args, date: str | None = None, **options):
        today = _parse(date) if date else timezone.localdate()
        # The metrics app is reached by its command name only: nothing imports it.
        if "rollup_metrics" in get_commands():
            call_command("rollup_metrics", night=today.isoformat(), stdout=self.stdout)
        run = outreach_run(today=today, job="nightly command", synchronous=True)
        sent = sum(c["claimed"] for c in run.counts.values())
        self.stdout.write(
            _("Nightly %(day)s: %(sent)d messages claimed, %(failed)d failed; %(detail)s")
            % {
                "day": today.isoformat(),
                "sent": sent,
                "failed": len(run.failures),
                "detail": ", ".join(f"{rule} {c['claimed']}" for rule, c in run.counts.items()),
            }
        )


def _parse(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _("--date must be written YYYY-MM-DD, not “%(text)s”.") % {"text": text}
        ) from None
