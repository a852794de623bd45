"""What the nightly jobs share: each step guarded, each failure recorded, the rest goes on.

The nightly rollup (metrics) and the outreach run (messaging) work through
many independent steps: a month, a rule, a patient, a message to send. One
bad row (an event stored with a time at the edge of the calendar, before
the feed checked such times) or one bug must fail its own step only:

1. Each step runs in `NightlyFailures.guard(...)`: inside a savepoint, so a
   database error rolls back that step alone and the connection stays usable.
2. A step that raises is recorded as a NightlyFailure (where: month and
   scope, rule, patient by internal id; what: the exception's class and a
   message without patient data) and logged the same way, with the stack but
   without the exception's text; then the job goes on with the next step.
3. The caller reports how many steps failed; the commands exit non-zero
   after doing everything else, and the managers' nightly page lists them.

A time limit (Celery's SoftTimeLimitExceeded) is not a failed step: it ends
the job, as it must.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.core.management.base import CommandError
from django.db import DatabaseError, DataError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal_adoption.models import NightlyFailure

log = logging.getLogger(__name__)

RECENT_DAYS = 7


def failure_message(error: BaseException) -> str:
    """A message about `error` that holds no patient data.

    An exception's text can quote the values it choked on (a database error
    quotes the row, a ValueError the string), so it is kept only for errors
    that declare their text free of patient data (`patient_free = True`, as
    messaging.channels.DeliveryError does) and for arithmetic errors, whose
    texts are fixed phrases ("date value out of range").
    """
    if getattr(error, "patient_free", False) or isinstance(error, ArithmeticError):
        return str(error)[:300]
    if isinstance(error, DataError):
        return _(
            "The database refused a value (often a date far in the past or future); "
            "its text is not kept as it may hold patient data."
        )
    if isinstance(error, DatabaseError):
        return _("A database error; its text is not kept as it may hold patient data.")
    return _(
        "An unexpected error; its text is not kept as it may hold patient data. "
        "The worker's log has where it happened."
    )


def nightly_failure_record(
    *,
    job: str,
    night: dt.date,
    step: str,
    error: BaseException,
    month: dt.date | None = None,
    scope: str = "",
    rule: str = "",
    patient_id: int | None = None,
) -> NightlyFailure:
    """Record one failed step, and log it with its stack but not the exception's text."""
    failure = NightlyFailure.objects.create(
        night=night,
        job=job,
        step=step[:200],
        month=month,
        scope=scope[:32],
        rule=rule[:32],
        patient_id=patient_id,
        error_class=type(error).__name__[:120],
        message=failure_message(error)[:300],
    )
    # The frames say where; the exception's own text might quote a patient's data.
    stack = "".join(traceback.format_tb(error.__traceback__))
    log.warning(
        "nightly %s failed at %s (month %s, scope %s, rule %s, patient id %s): %s: %s\n%s",
        job,
        failure.step,
        f"{month:%Y-%m}" if month else "-",
        scope or "-",
        rule or "-",
        patient_id if patient_id is not None else "-",
        failure.error_class,
        failure.message,
        stack,
    )
    return failure


@dataclass
class Step:
    """What `guard` yields: after the block, `failed` says whether the step failed."""

    failed: bool = False


class NightlyFailures:
    """The failures of one job on one night; `guard` runs a step and records its failure."""

    def __init__(self, *, job: str, night: dt.date):
        self.job = job
        self.night = night
        self.recorded: list[NightlyFailure] = []

    def __len__(self) -> int:
        return len(self.recorded)

    @contextmanager
    def guard(
        self,
        step: str,
        *,
        month: dt.date | None = None,
        scope: str = "",
        rule: str = "",
        patient_id: int | None = None,
        atomic: bool = True,
    ) -> Iterator[Step]:
        """Run the block as one step: a failure is recorded and swallowed.

        `atomic=False` for a step that calls a provider: it holds its own
        short transactions and must not keep one open around slow I/O.
        """
        outcome = Step()
        try:
            if atomic:
                with transaction.atomic():
                    yield outcome
            else:
                yield outcome
        except SoftTimeLimitExceeded:
            raise
        except Exception as error:
            outcome.failed = True
            self.recorded.append(
                nightly_failure_record(
                    job=self.job,
                    night=self.night,
                    step=step,
                    error=error,
                    month=month,
                    scope=scope,
                    rule=rule,
                    patient_id=patient_id,
                )
            )


class StepsFailed(CommandError):
    """A command did everything it could, but some steps failed: exit 1, saying how many."""

    def __init__(self, count: int):
        self.count = count
        super().__init__(
            _(
                "%(count)d step(s) failed and were skipped; the rest was done. "
                "The managers' nightly page lists them."
            )
            % {"count": count}
        )


def nightly_failures_recent(*, days: int = RECENT_DAYS) -> QuerySet[NightlyFailure]:
    """Failures recorded in the last `days` days, newest first (the nightly page)."""
    since = timezone.now() - dt.timedelta(days=days)
    return NightlyFailure.objects.filter(recorded_at__gte=since)
