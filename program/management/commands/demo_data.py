"""manage.py demo_data: load a believable demo practice and print staff logins.

It lives in the adoption program's app because it is the one app that may use
all three (architecture.md): patients generates the roster and the events,
enrollment and messaging replay through their own services what their flows
write (patients/demo.py, "What the services write instead of the generator").
"""

import argparse
import dataclasses
from datetime import date

from django.core.checks import Tags
from django.core.management.base import CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.demo import demo_desk_history
from messaging.demo import demo_message_history
from patients.demo import (
    DemoConfig,
    DemoOutcome,
    DemoRefused,
    demo_load,
    patient_prefix,
    practice_today,
)
from patients.management.commands.demo_logins import print_logins
from patients.models import ActivityEvent
from portal_adoption.management.base import Command as ProjectCommand

MAX_PATIENTS = 100_000
MAX_MONTHS = 60


class Command(ProjectCommand):
    # Only the models' checks: the full set imports every view (matplotlib's PDF backend
    # among them), a second of each demo command, and make run's migrate ran them already.
    requires_system_checks = [Tags.models]

    help = gettext_lazy(
        "Load a demo practice (locations, providers, patients and a year of portal "
        "events) into an empty database, and reset one demo login per staff role."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--patients", type=int, default=2000, help=_("Patients on the roster (2000).")
        )
        parser.add_argument(
            "--months", type=int, default=12, help=_("Months of portal events (12).")
        )
        parser.add_argument(
            "--seed", type=int, default=42, help=_("Seed: the same seed gives the same data.")
        )
        parser.add_argument(
            "--no-logins",
            action="store_true",
            help=_(
                "Reset the demo logins but do not print them (make run prints them last, "
                "with demo_logins, beside the address to open)."
            ),
        )
        parser.add_argument(
            "--until",
            type=_iso_date,
            default=None,
            help=_("Last day of events, YYYY-MM-DD (today in the practice's time zone)."),
        )

    def handle(self, *args, patients, months, seed, until, no_logins, **options):
        today = practice_today()
        until = until or today
        if not 1 <= patients <= MAX_PATIENTS:
            raise CommandError(_("--patients must be from 1 to %(max)d.") % {"max": MAX_PATIENTS})
        if not 1 <= months <= MAX_MONTHS:
            raise CommandError(_("--months must be from 1 to %(max)d.") % {"max": MAX_MONTHS})
        if until > today:
            raise CommandError(
                _("--until cannot be in the future (today is %(today)s).")
                % {"today": today.isoformat()}
            )
        self.stdout.write(_("Loading the demo practice…"))
        try:
            with transaction.atomic():
                outcome = demo_load(
                    DemoConfig(patients, months, seed, until), passwords=not no_logins
                )
                desk = demo_desk_history(outcome.replay.desk_signups, seed=seed)
                messages = demo_message_history(outcome.replay.messages, seed=seed)
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        if outcome.created:
            self.stdout.write(
                _(
                    "Through the application's services: %(enrollments)d desk enrollments, "
                    "%(declines)d declines, %(messages)d portal messages (%(open)d open)"
                )
                % {
                    "enrollments": desk.enrollments,
                    "declines": desk.declines,
                    "messages": messages.received,
                    "open": messages.open,
                }
            )
            events = ActivityEvent.objects.filter(
                patient__external_id__startswith=patient_prefix(seed)
            )
            outcome = dataclasses.replace(outcome, events=events.count())
        self._report(outcome, seed)
        if not no_logins:
            print_logins(self.stdout, outcome.logins)

    def _report(self, outcome: DemoOutcome, seed: int) -> None:
        if not outcome.created:
            self.stdout.write(
                _("Demo data for seed %(seed)d is already loaded: nothing was added.")
                % {"seed": seed}
            )
        state = _("created") if outcome.created else _("already loaded")
        self.stdout.write(
            _(
                "Demo practice: %(locations)d locations, %(providers)d providers, "
                "%(patients)d patients, %(events)d events (%(state)s)"
            )
            % {
                "locations": outcome.locations,
                "providers": outcome.providers,
                "patients": outcome.patients,
                "events": outcome.events,
                "state": state,
            }
        )


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        # argparse turns this into a usage error (a CommandError under call_command).
        raise argparse.ArgumentTypeError(
            _("--until must be a date written YYYY-MM-DD, not “%(text)s”.") % {"text": text}
        ) from None
