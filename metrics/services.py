"""The monthly rollups: compute, store, and keep them fresh (architecture.md).

`rollup_month` recomputes one month for every scope (the practice, each
location, each provider) and replaces that month's rows in one transaction.
On PostgreSQL the transaction first takes an advisory lock for the month, so
two runs of the same month (the nightly task and `manage.py rollup_metrics`,
or a task redelivered after a crash) never interleave: the second waits and
then writes the same rows again. SQLite allows one writer at a time anyway.

Keeping old months fresh: late events and roster changes
---------------------------------------------------------
`rollup_nightly` recomputes yesterday's month and the current month, plus
every month marked stale. Before that, it marks stale what changed since the
last full look (`changes_since_last_rollup_mark`: `stale_months_mark(since=...)`;
`manage.py rollup_metrics --month` marks first too). "Since" is the
RollupCheckpoint of the last run that marked every change or recomputed
every month (`--all`): its start, or an hour (LATE_MARGIN) before it if
events or roster rows recorded in that hour have appeared since (an import
whose transaction was still open then). Without a checkpoint (a database
rolled up before there were any), it is the newest `MonthlyRollup.computed_at`
less LATE_MARGIN. Before checkpoints, a load followed at once by `--all`
(`make run`) made the next night take the whole load as late and recompute
every month.

- events recorded since then that occurred before the current month (an
  import of last month's data): their month, and every month after it up to
  the month before the current one, because the later months' "as of the end
  of the month" and "first ... falls in M" figures (enrolled, app installs,
  new enrollments, first view of a result, first reply) depend on them too;
- for results with an event recorded since then, the months of that result's
  release and views (a view recorded today changes "viewed before contact"
  for the month the result was released);
- patients added or changed on the roster since then (scope is the patient's
  current location and provider; panel dates): every month from the patient's
  registration or first event, whichever is earlier.

LATE_MARGIN covers an import whose transaction was still open (its events
already stamped `recorded_at`, not yet visible) while the last rollup ran; a
month marked twice is only computed again. `manage.py rollup_metrics --all`
rebuilds every month from the earliest event's.

One failing month never stops the night
---------------------------------------
`rollup_nightly`, `rollup_all`, `rollup_stale` and `rollup_one` run each
month, and the marking before them, as a guarded step
(portal_adoption.nightly): a month that fails is recorded for the managers'
nightly page, keeps its previous rows, and is marked stale so the next night
tries it again; the other months are computed. They return a RollupRun: the
months done and the steps that failed. Events outside the event window never
reach a query (patients.selectors.plausible_events), which removes the one
failure we know of; the guard is for the ones we do not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from functools import partial

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.compute import (
    figures_from,
    month_bounds,
    month_of,
    month_tallies,
    practice_zone,
    rollup_session,
)
from metrics.funnel.services import funnel_months_all, funnel_months_nightly, funnel_rollup
from metrics.models import MonthlyRollup, RollupCheckpoint, ScopeKind, StaleMonth
from patients.models import ActivityEvent, EventType, Location, Patient, Provider
from patients.partitions import event_partitions_ensure
from patients.selectors import plausible_events
from portal_adoption.business_calendar import BusinessCalendar
from portal_adoption.dates import months_between, previous_month
from portal_adoption.db import second_connection
from portal_adoption.models import NightlyFailure, NightlyJob
from portal_adoption.nightly import NightlyFailures
from portal_adoption.rollup_hooks import MonthReads, monthly_rollups

__all__ = [
    "LATE_MARGIN",
    "RollupRun",
    "changes_since_last_rollup_mark",
    "month_bounds",
    "month_of",
    "practice_today",
    "rollup_all",
    "rollup_month",
    "rollup_nightly",
    "rollup_one",
    "rollup_stale",
    "stale_months_mark",
]

logger = logging.getLogger(__name__)

LATE_MARGIN = dt.timedelta(hours=1)
# pg_advisory_xact_lock(key1, key2): key1 names "metrics rollup", key2 the month.
ROLLUP_LOCK_NAMESPACE = 0x504D_4D52  # "PMMR"
RESULT_TYPES = (EventType.RESULT_RELEASED, EventType.RESULT_VIEWED, EventType.RESULT_COMMUNICATED)


def practice_today() -> dt.date:
    return timezone.localdate(timezone=practice_zone())


def rollup_month(month: dt.date) -> int:
    """Recompute `month` for the practice, every location and every provider.

    Returns the number of rows written. Deletes and re-creates the month's
    rows, and clears its stale mark, in one transaction under the month's lock.
    Callers outside the nightly run call `changes_since_last_rollup_mark`
    first (see the module docstring).
    """
    month = month.replace(day=1)
    with transaction.atomic():
        _lock(month)
        started = timezone.now()
        # Hooks that read on the second connection go last: their reads have the
        # longest to finish while the others run here.
        hooks = sorted(monthly_rollups(), key=lambda hook: hook.read is not None)
        with second_connection(prepare=partial(rollup_session, beside=True)) as beside:
            reads = MonthReads(month)
            tallies = month_tallies(
                month, calendar=BusinessCalendar(), reads=reads, beside=beside, hooks=hooks
            )
            rows = _rollup_rows(month, tallies, started)
            MonthlyRollup.objects.filter(month=month).delete()
            MonthlyRollup.objects.bulk_create(rows)
            # The other apps' report tallies of the month (portal_adoption.rollup_hooks).
            for hook in hooks:
                hook.rollup(month, reads)
        # A mark made while this ran (after `started`) stays for the next run.
        StaleMonth.objects.filter(month=month, marked_at__lte=started).delete()
    logger.info("metrics rollup %s: %d rows", f"{month:%Y-%m}", len(rows))
    return len(rows)


def _rollup_rows(month: dt.date, tallies: dict, started: dt.datetime) -> list[MonthlyRollup]:
    """The month's rows: the practice, each location and each provider."""

    def row(kind: str, scope_id: int, pairs) -> MonthlyRollup:
        return MonthlyRollup(
            month=month,
            scope_kind=kind,
            scope_id=scope_id,
            figures=figures_from(tallies[pair] for pair in pairs),
            computed_at=started,
        )

    rows = [row(ScopeKind.PRACTICE, 0, tallies)]
    rows += [
        row(ScopeKind.LOCATION, pk, [pair for pair in tallies if pair[0] == pk])
        for pk in Location.objects.order_by("pk").values_list("pk", flat=True)
    ]
    rows += [
        row(ScopeKind.PROVIDER, pk, [pair for pair in tallies if pair[1] == pk])
        for pk in Provider.objects.order_by("pk").values_list("pk", flat=True)
    ]
    return rows


def _lock(month: dt.date) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [ROLLUP_LOCK_NAMESPACE, month.year * 100 + month.month],
            )


@dataclass
class RollupRun:
    """What a rollup run did: the months recomputed, and the steps that failed."""

    months: list[dt.date] = field(default_factory=list)
    failures: list[NightlyFailure] = field(default_factory=list)


def rollup_stale(*, today: dt.date | None = None) -> RollupRun:
    """Recompute every month marked stale (up to the current month)."""
    today = today or practice_today()
    current = month_of(today)
    months = sorted(
        StaleMonth.objects.filter(month__lte=current).values_list("month", flat=True).distinct()
    )
    failures = _failures(today)
    run = _rollup_guarded(months, failures)
    _rollup_funnel(run.months, failures)
    return run


def rollup_all(*, today: dt.date | None = None) -> RollupRun:
    """Recompute every month from the earliest event's to the current one."""
    today = today or practice_today()
    current = month_of(today)
    failures = _failures(today)
    first = current
    checkpoint = _checkpoint_take()
    with failures.guard(_("finding the earliest event")) as step:
        earliest = plausible_events().aggregate(first=Min("occurred_at"))["first"]
        first = min(month_of(earliest), current) if earliest else current
    run = _rollup_guarded(months_between(first, current), failures)
    _rollup_funnel(funnel_months_all(today), failures)
    if not step.failed:  # every month was recomputed, or marked stale for a retry
        _checkpoint_save(checkpoint)
    return run


def rollup_nightly(today: dt.date | None = None) -> RollupRun:
    """The nightly job: create the event log's partitions ahead (patients.partitions),
    mark what changed since the last rollup, then recompute yesterday's month, the
    current month and every stale month."""
    today = today or practice_today()
    failures = _failures(today)
    # First, on its own: it must not wait behind tonight's figures, nor they on it.
    # Each month commits on its own (atomic=False): a lock held no longer than that.
    with failures.guard(
        _("creating the event log's partitions for the months ahead"), atomic=False
    ):
        event_partitions_ensure(today)
    checkpoint = _checkpoint_take()
    with failures.guard(_("marking the months that late events changed")) as step:
        changes_since_last_rollup_mark(today=today)
    current = month_of(today)
    stale = set(StaleMonth.objects.filter(month__lte=current).values_list("month", flat=True))
    months = sorted({month_of(today - dt.timedelta(days=1)), current} | stale)
    run = _rollup_guarded(months, failures)
    _rollup_open_months(today, set(months), failures)
    _rollup_funnel(funnel_months_nightly(today, run.months), failures)
    if not step.failed:
        _checkpoint_save(checkpoint)
    return run


def rollup_one(month: dt.date, *, today: dt.date | None = None) -> RollupRun:
    """One month by hand (`rollup_metrics --month`), marking late changes first."""
    failures = _failures(today or practice_today())
    checkpoint = _checkpoint_take()
    # Late events and roster changes stay marked for the next night.
    with failures.guard(_("marking the months that late events changed")) as step:
        changes_since_last_rollup_mark(today=today)
    run = _rollup_guarded([month.replace(day=1)], failures)
    _rollup_funnel(run.months, failures)
    if not step.failed:
        _checkpoint_save(checkpoint)
    return run


def _rollup_funnel(months: list[dt.date], failures: NightlyFailures) -> None:
    """The enrollment funnel's cohorts of `months` (metrics.funnel.services), as one
    guarded step: a failure keeps the cohorts' previous rows, and the next night's
    rollup computes the last 13 cohorts again."""
    if not months:
        return
    with failures.guard(
        _("computing the enrollment funnel's cohorts from %(first)s to %(last)s")
        % {"first": f"{months[0]:%Y-%m}", "last": f"{months[-1]:%Y-%m}"},
        scope=_("every scope"),
    ):
        funnel_rollup(months=months)


def _failures(today: dt.date) -> NightlyFailures:
    return NightlyFailures(job=NightlyJob.ROLLUP, night=today)


def _rollup_guarded(months: list[dt.date], failures: NightlyFailures) -> RollupRun:
    """Each month as its own step: a failed month keeps its old rows and stays stale."""
    run = RollupRun(failures=failures.recorded)
    for month in months:
        # One pass computes every scope of a month, so a month fails as a whole.
        with failures.guard(
            _("computing the figures of %(month)s") % {"month": f"{month:%Y-%m}"},
            month=month,
            scope=_("every scope"),
        ) as step:
            rollup_month(month)
        if step.failed:
            _mark_for_retry(month)
        else:
            run.months.append(month)
    return run


def _rollup_open_months(today: dt.date, done: set[dt.date], failures: NightlyFailures) -> None:
    """The months a report hook says still move with the clock (its `open_months`), for
    that hook only; a month computed whole tonight already ran every hook."""
    for hook in monthly_rollups():
        if hook.open_months is None:
            continue
        for month in sorted(set(hook.open_months(today)) - done):
            with failures.guard(
                _("computing the report %(report)s of %(month)s")
                % {"report": hook.name, "month": f"{month:%Y-%m}"},
                month=month,
                scope=_("every scope"),
            ) as step:
                hook.rollup(month, None)
            if step.failed:
                _mark_for_retry(month)


def _mark_for_retry(month: dt.date) -> None:
    StaleMonth.objects.update_or_create(month=month, defaults={"marked_at": timezone.now()})


def changes_since_last_rollup_mark(*, today: dt.date | None = None) -> list[dt.date]:
    """Mark stale what changed since the last full look (see the module docstring);
    nothing if there is no rollup yet."""
    since = _changes_since()
    if since is None:
        return []
    return stale_months_mark(since=since, today=today)


def _changes_since() -> dt.datetime | None:
    """Where the next look at changes starts: the checkpoint's time if nothing
    recorded in the hour before it has appeared since, else that hour's start."""
    checkpoint = RollupCheckpoint.objects.order_by("-taken_at").first()
    if checkpoint is None:
        last = MonthlyRollup.objects.aggregate(last=Max("computed_at"))["last"]
        return None if last is None else last - LATE_MARGIN
    if _margin_contents(checkpoint.taken_at) == (
        checkpoint.events_in_margin,
        checkpoint.roster_in_margin,
    ):
        return checkpoint.taken_at
    return checkpoint.taken_at - LATE_MARGIN


def _margin_contents(until: dt.datetime) -> tuple[int, str]:
    """What is visible now of the hour before `until`: the number of events recorded
    in it (the event log is append-only, so the count only grows), and a digest of
    the ids and change times of the roster rows changed in it."""
    since = until - LATE_MARGIN
    events = ActivityEvent.objects.filter(recorded_at__gte=since, recorded_at__lt=until).count()
    digest = hashlib.sha256()
    for pk, updated_at in (
        Patient.objects.filter(updated_at__gte=since, updated_at__lt=until)
        .order_by("pk")
        .values_list("pk", "updated_at")
        .iterator(chunk_size=5000)
    ):
        digest.update(f"{pk} {updated_at.isoformat()}\n".encode())
    return events, digest.hexdigest()


def _checkpoint_take() -> RollupCheckpoint:
    """A checkpoint at the start of a run (saved by _checkpoint_save once the run
    has marked or recomputed what changed before it)."""
    taken_at = timezone.now()
    events, roster = _margin_contents(taken_at)
    return RollupCheckpoint(taken_at=taken_at, events_in_margin=events, roster_in_margin=roster)


def _checkpoint_save(checkpoint: RollupCheckpoint) -> None:
    """Keep the latest checkpoint only; an older run finishing last does not win."""
    with transaction.atomic():
        latest = RollupCheckpoint.objects.select_for_update().order_by("-taken_at").first()
        if latest is not None and latest.taken_at >= checkpoint.taken_at:
            return
        RollupCheckpoint.objects.all().delete()
        checkpoint.save()


def stale_months_mark(*, since: dt.datetime, today: dt.date | None = None) -> list[dt.date]:
    """Mark stale the months that what was recorded at or after `since` changes.

    Only months before the current one are marked: the nightly run
    recomputes the current month anyway. See the module docstring for what
    counts. Returns the months marked.
    """
    current = month_of(today or practice_today())
    current_start = month_bounds(current)[0]
    last_marked = previous_month(current)
    months: set[dt.date] = set()
    earliest_event = plausible_events().aggregate(first=Min("occurred_at"))["first"]
    history_start = month_of(earliest_event) if earliest_event else current

    # Late events: their month and every month after it.
    late = plausible_events().filter(recorded_at__gte=since, occurred_at__lt=current_start)
    earliest_late = late.aggregate(first=Min("occurred_at"))["first"]
    if earliest_late is not None:
        months.update(months_between(month_of(earliest_late), last_marked))

    # Results touched since: the months of their release and views.
    touched = (
        plausible_events()
        .filter(type__in=RESULT_TYPES, recorded_at__gte=since)
        .exclude(object_id="")
    )
    linked = (
        plausible_events()
        .filter(
            type__in=[EventType.RESULT_RELEASED, EventType.RESULT_VIEWED],
            occurred_at__lt=current_start,
        )
        .filter(
            Exists(touched.filter(patient=OuterRef("patient"), object_id=OuterRef("object_id")))
        )
        .annotate(month=TruncMonth("occurred_at", tzinfo=practice_zone()))
        .order_by()
        .values_list("month", flat=True)
        .distinct()
    )
    months.update(_as_month(value) for value in linked)

    # Roster changes: the whole history of the patient.
    changed = Patient.objects.filter(updated_at__gte=since)
    registered = changed.aggregate(first=Min("registered_on"))["first"]
    if registered is not None:
        first_event = (
            plausible_events()
            .filter(patient__in=changed.values("pk"))
            .aggregate(first=Min("occurred_at"))["first"]
        )
        first = month_of(registered)
        if first_event is not None:
            first = min(first, month_of(first_event))
        months.update(months_between(max(first, history_start), last_marked))

    # What only the other apps' reports see (portal_adoption.rollup_hooks).
    for hook in monthly_rollups():
        if hook.changed_months is not None:
            months.update(month.replace(day=1) for month in hook.changed_months(since))

    months = {month for month in months if month < current}
    if months:
        now = timezone.now()
        StaleMonth.objects.bulk_create(
            [StaleMonth(month=month, marked_at=now) for month in sorted(months)],
            update_conflicts=True,
            update_fields=["marked_at"],
            unique_fields=["month"],
        )
    return sorted(months)


def _as_month(value: dt.date | dt.datetime) -> dt.date:
    # TruncMonth gives a datetime in the practice's zone (a date on some backends).
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value, practice_zone()) if timezone.is_aware(value) else value
        value = value.date()
    return value.replace(day=1)
