"""manage.py rollup_metrics [--month YYYY-MM] [--all]: the nightly rollup's code, by hand."""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.models import MonthlyRollup
from metrics.services import (
    changes_since_last_rollup_mark,
    practice_today,
    rollup_all,
    rollup_month,
    rollup_nightly,
)


class Command(BaseCommand):
    help = gettext_lazy(
        "Recompute the monthly dashboard figures for every scope (practice, locations, "
        "providers). Without options: yesterday's month, the current month and every "
        "month marked stale, as the nightly job does."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--month", metavar="YYYY-MM", help=_("Recompute this month only, e.g. 2026-01.")
        )
        which.add_argument(
            "--all",
            action="store_true",
            help=_("Rebuild every month from the earliest event's to the current one."),
        )
        which.add_argument(
            "--night",
            metavar="YYYY-MM-DD",
            help=_("Run the nightly set as on this night (what manage.py nightly --date uses)."),
        )

    def handle(self, *args, month=None, all=False, night=None, **options):
        started = time.perf_counter()
        if month is not None:
            chosen = _parse_month(month)
            # Late events and roster changes stay marked for the next night.
            changes_since_last_rollup_mark()
            rollup_month(chosen)
            months = [chosen]
        elif all:
            months = rollup_all()
        else:
            months = rollup_nightly(_parse_night(night) if night else None)
        rows = MonthlyRollup.objects.filter(month__in=months).count()
        self.stdout.write(
            _("Rolled up %(months)d month(s) (%(range)s): %(rows)d scope rows in %(seconds).1f s")
            % {
                "months": len(months),
                "range": _range(months),
                "rows": rows,
                "seconds": time.perf_counter() - started,
            }
        )


def _parse_night(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("--night must be a date written YYYY-MM-DD, not “%(value)s”.") % {"value": value}
        ) from None


def _parse_month(value: str) -> dt.date:
    try:
        month = dt.datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        raise CommandError(
            _("--month must be a month written YYYY-MM, for example 2026-01 (got %(value)r).")
            % {"value": value}
        ) from None
    today = practice_today()
    if month > today.replace(day=1):
        raise CommandError(
            _("--month cannot be after the current month (%(current)s).")
            % {"current": f"{today:%Y-%m}"}
        )
    return month


def _range(months: list[dt.date]) -> str:
    if not months:
        return "-"
    if len(months) == 1:
        return f"{months[0]:%Y-%m}"
    return f"{months[0]:%Y-%m} … {months[-1]:%Y-%m}"
