"""manage.py rollup_metrics [--month YYYY-MM] [--all]: the nightly rollup's code, by hand."""

import datetime as dt
import time

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.drawings import drawings_prerender
from metrics.models import MonthlyRollup
from metrics.selectors import month_parse
from metrics.services import practice_today, rollup_all, rollup_nightly, rollup_one
from portal_adoption.dates import date_window_error, filter_window
from portal_adoption.management.base import Command as ProjectCommand
from portal_adoption.nightly import StepsFailed


class Command(ProjectCommand):
    help = gettext_lazy(
        "Recompute the monthly dashboard figures for every scope (practice, locations, "
        "providers). Without options: yesterday's month, the current month and every "
        "month marked stale, as the nightly job does. A month that fails is reported and "
        "skipped; the others are done, then the command exits with status 1."
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
            run = rollup_one(_parse_month(month))
        elif all:
            run = rollup_all()
        else:
            run = rollup_nightly(_parse_night(night) if night else None)
        rows = MonthlyRollup.objects.filter(month__in=run.months).count()
        self.stdout.write(
            _("Rolled up %(months)d month(s) (%(range)s): %(rows)d scope rows in %(seconds).1f s")
            % {
                "months": len(run.months),
                "range": _range(run.months),
                "rows": rows,
                "seconds": time.perf_counter() - started,
            }
        )
        # Redraw the stored PDFs and charts of the current and last month that this
        # run changed, rather than on their next request (metrics.drawings).
        drawings_prerender(months=run.months)
        for failure in run.failures:
            self.stderr.write(
                _("Failed: %(step)s: %(error)s: %(message)s")
                % {"step": failure.step, "error": failure.error_class, "message": failure.message}
            )
        if run.failures:
            raise StepsFailed(len(run.failures))


def _parse_night(value: str) -> dt.date:
    try:
        night = dt.date.fromisoformat(value)
    except ValueError:
        night = None
    if night is None or date_window_error(night, field="--night", window=filter_window()):
        raise CommandError(
            _("--night must be a date written YYYY-MM-DD %(window)s, not “%(value)s”.")
            % {"value": value, "window": filter_window().describe()}
        )
    return night


def _parse_month(value: str) -> dt.date:
    try:
        month = month_parse(value.strip(), field="--month")
    except ValueError as error:
        raise CommandError(str(error)) from None
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
