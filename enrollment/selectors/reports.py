"""Managers' enrollment reports: staff credit by month, decline reasons, incentive cohorts.

Aggregates only: no patient is named in what these return. Every figure is
computed by the database (Count, Exists, window functions); Python only
arranges the few rows that come back. Months and "since" dates are
calendar days in the practice's time zone (PRACTICE_TIME_ZONE).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.models import (
    CohortTally,
    CohortTallyMonth,
    Decline,
    DeclineReason,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStep,
    IncentiveKind,
    QrInvitation,
    SkipReason,
    Step,
)
from patients.models import ActivityEvent, EventType
from portal_adoption.dates import local_midnight, months_between, practice_zone, previous_month
from portal_adoption.db import medians

# The playbook's figure for an enrollment at the desk (workflows.md).
TARGET_SECONDS = 120
# ... and for QR self-enrollment: from the code shown to the patient's consent.
QR_TARGET_SECONDS = 90
# "Active at N days": at least one login in the ACTIVE_WINDOW ending on day N.
ACTIVE_WINDOW = dt.timedelta(days=30)
COHORT_DAYS = (30, 90)


def month_starts(months: int, *, now: dt.datetime | None = None) -> list[dt.date]:
    """The first days of the last `months` months, oldest first, this month last."""
    first = timezone.localtime(now or timezone.now(), practice_zone()).date().replace(day=1)
    starts = [first]
    for _n in range(months - 1):
        starts.append(previous_month(starts[-1]))
    return starts[::-1]


def _share(part: int, whole: int) -> float | None:
    """A fraction from 0 to 1, or None ("no data") when there is nothing to divide."""
    return part / whole if whole else None


def _percent(part: int, whole: int) -> float | None:
    share = _share(part, whole)
    return None if share is None else share * 100


def _staff_name(first: str, last: str, username: str) -> str:
    return " ".join(part for part in (first, last) if part) or username


# --- Enrollments per member of staff ---------------------------------------------------


@dataclass(frozen=True)
class StaffRow:
    """One member of staff: completed enrollments per month and how long they took."""

    user_id: int | None
    name: str
    counts: list[int]
    total: int
    timed: int
    under_target: int
    median_seconds: float | None

    @property
    def under_target_percent(self) -> float | None:
        return _percent(self.under_target, self.timed)

    @property
    def median_clock(self) -> str:
        """The median as minutes:seconds ("1:42"), or "" when nothing was timed."""
        return _clock(self.median_seconds)


@dataclass(frozen=True)
class StepRow:
    """One checklist step over the completed enrollments: done, skipped (and why), not recorded.

    not_recorded: enrollments completed before every step had to be answered,
    which left the step blank.
    """

    number: int
    step: str
    label: str
    done: int
    skipped: int
    not_recorded: int
    reasons: list[tuple[str, int]]

    @property
    def done_percent(self) -> float | None:
        return _percent(self.done, self.done + self.skipped + self.not_recorded)

    @property
    def skipped_percent(self) -> float | None:
        return _percent(self.skipped, self.done + self.skipped + self.not_recorded)


def _clock(seconds: float | None) -> str:
    """Seconds as minutes:seconds ("1:42"), or "" when there is nothing to show."""
    if seconds is None:
        return ""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


@dataclass(frozen=True)
class QrRow:
    """QR codes one member of staff showed: how many led to consent, and how fast."""

    user_id: int | None
    name: str
    shown: int
    consented: int
    under_target: int
    median_seconds: float | None

    @property
    def under_target_percent(self) -> float | None:
        return _percent(self.under_target, self.consented)

    @property
    def median_clock(self) -> str:
        return _clock(self.median_seconds)


@dataclass(frozen=True)
class QrReport:
    rows: list[QrRow]
    everyone: QrRow
    target_seconds: int = QR_TARGET_SECONDS


@dataclass(frozen=True)
class StaffReport:
    months: list[dt.date]
    rows: list[StaffRow]
    everyone: StaffRow
    target_seconds: int = TARGET_SECONDS
    steps: list[StepRow] = field(default_factory=list)
    qr: QrReport | None = None


def enrollments_by_staff(months: int = 6, *, now: dt.datetime | None = None) -> StaffReport:
    """Completed enrollments per member of staff per month, for the last `months` months.

    1. Months are calendar months in the practice's time zone, this month
       (so far) included; the credit goes to whoever completed the
       enrollment, as on the front desk's home page.
    2. Over the whole period, per person: the median time from the first
       tick to completion, and how many took under two minutes (the
       playbook's target), out of those with a recorded time.
    3. Per checklist step, over the same enrollments: how often it was done
       and how often skipped, and for which reasons (checklist_use).
    4. The QR codes shown in the same months: the median time from the code
       shown to the patient's consent, and how many took under 90 seconds
       (qr_consent_times).
    """
    now = now or timezone.now()
    starts = month_starts(months, now=now)
    completed = Enrollment.objects.filter(
        status=EnrollmentStatus.COMPLETED,
        completed_by__isnull=False,
        completed_at__gte=local_midnight(starts[0]),
        completed_at__lte=now,
    )
    people = (
        completed.values(
            "completed_by",
            "completed_by__first_name",
            "completed_by__last_name",
            "completed_by__username",
        )
        .annotate(
            total=Count("pk"),
            timed=Count("pk", filter=Q(duration_seconds__isnull=False)),
            under_target=Count("pk", filter=Q(duration_seconds__lt=TARGET_SECONDS)),
        )
        .order_by()
    )
    per_month = (
        completed.annotate(month=TruncMonth("completed_at", tzinfo=practice_zone()))
        .values("completed_by", "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[int, dict[dt.date, int]] = {}
    for row in per_month:
        month = row["month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        counts.setdefault(row["completed_by"], {})[month] = row["n"]
    timed = completed.filter(duration_seconds__isnull=False)
    duration = F("duration_seconds")
    middle = medians(timed, duration, group="completed_by")
    rows = [
        StaffRow(
            user_id=person["completed_by"],
            name=_staff_name(
                person["completed_by__first_name"],
                person["completed_by__last_name"],
                person["completed_by__username"],
            ),
            counts=[counts.get(person["completed_by"], {}).get(m, 0) for m in starts],
            total=person["total"],
            timed=person["timed"],
            under_target=person["under_target"],
            median_seconds=_float(middle.get(person["completed_by"])),
        )
        for person in people
    ]
    rows.sort(key=lambda r: (-r.total, r.name.casefold()))
    everyone = StaffRow(
        user_id=None,
        name=str(_("Everyone")),
        counts=[sum(r.counts[i] for r in rows) for i in range(len(starts))],
        total=sum(r.total for r in rows),
        timed=sum(r.timed for r in rows),
        under_target=sum(r.under_target for r in rows),
        median_seconds=_float(medians(timed, duration).get(None)),
    )
    return StaffReport(
        months=starts,
        rows=rows,
        everyone=everyone,
        steps=checklist_use(completed),
        qr=qr_consent_times(since=local_midnight(starts[0]), now=now),
    )


def checklist_use(completed: QuerySet[Enrollment]) -> list[StepRow]:
    """How each of the nine steps was answered in these completed enrollments.

    A step is done (no skip reason) or skipped for a reason; an enrollment
    with no answer for the step (completed before every step was required)
    counts as "not recorded", so the three add up to the enrollments.
    """
    total = completed.count()
    answers = (
        EnrollmentStep.objects.filter(enrollment__in=completed)
        .values("step", "skip_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = {}
    for row in answers:
        counts.setdefault(row["step"], {})[row["skip_reason"]] = row["n"]
    reason_labels = dict(SkipReason.choices)
    rows = []
    for number, (step, label) in enumerate(Step.choices, start=1):
        by_reason = counts.get(step, {})
        done = by_reason.pop("", 0)
        reasons = [
            (str(reason_labels[reason]), by_reason[reason])
            for reason in reason_labels
            if by_reason.get(reason)
        ]
        skipped = sum(by_reason.values())
        rows.append(
            StepRow(
                number=number,
                step=step,
                label=str(label),
                done=done,
                skipped=skipped,
                not_recorded=max(total - done - skipped, 0),
                reasons=reasons,
            )
        )
    return rows


def qr_consent_times(*, since: dt.datetime, now: dt.datetime) -> QrReport:
    """The playbook's 90 seconds: QR codes shown from `since` to now, per member of staff.

    1. A code counts for whoever showed it (created_by) when it was shown
       (created_at) in the period.
    2. consented: codes the patient used, which means consent was given
       (used_at); the time taken is used_at - created_at.
    3. The median and the count under 90 seconds are over consented codes;
       a code that expired unused has no time and is only in "shown".
    """
    shown = QrInvitation.objects.filter(created_at__gte=since, created_at__lte=now)
    taken = ExpressionWrapper(F("used_at") - F("created_at"), output_field=DurationField())
    under = Q(used_at__lt=F("created_at") + dt.timedelta(seconds=QR_TARGET_SECONDS))
    figures = {
        "shown": Count("pk"),
        "consented": Count("pk", filter=Q(used_at__isnull=False)),
        "under_target": Count("pk", filter=under),
    }
    people = (
        shown.values(
            "created_by", "created_by__first_name", "created_by__last_name", "created_by__username"
        )
        .annotate(**figures)
        .order_by()
    )
    consented = shown.filter(used_at__isnull=False)
    middle = medians(consented, taken, group="created_by")
    rows = [
        QrRow(
            user_id=person["created_by"],
            name=_staff_name(
                person["created_by__first_name"],
                person["created_by__last_name"],
                person["created_by__username"],
            ),
            shown=person["shown"],
            consented=person["consented"],
            under_target=person["under_target"],
            median_seconds=_seconds(middle.get(person["created_by"])),
        )
        for person in people
    ]
    rows.sort(key=lambda r: (-r.shown, r.name.casefold()))
    everyone = QrRow(
        user_id=None,
        name=str(_("Everyone")),
        **shown.aggregate(**figures),
        median_seconds=_seconds(medians(consented, taken).get(None)),
    )
    return QrReport(rows=rows, everyone=everyone)


def _seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _float(value) -> float | None:
    return None if value is None else float(value)


# --- Decline reasons ------------------------------------------------------------------


@dataclass(frozen=True)
class DeclineRow:
    """One reason: how often it was given, by how many patients, and how many enrolled since."""

    reason: str
    label: str
    declines: int
    patients: int
    enrolled_later: int

    @property
    def enrolled_later_percent(self) -> float | None:
        return _percent(self.enrolled_later, self.patients)


@dataclass(frozen=True)
class DeclineReport:
    since: dt.date
    rows: list[DeclineRow]
    total: DeclineRow


def decline_reasons(since: dt.date, *, now: dt.datetime | None = None) -> DeclineReport:
    """Declines recorded from `since` (local midnight) to now, per reason.

    1. declines: how many times the reason was recorded.
    2. patients: how many different patients gave it (a patient who said
       no twice for the same reason counts once).
    3. enrolled_later: of those patients, how many have a portal_activated
       event after one of their declines for that reason, however long
       after (up to now). An activation before the decline does not count.

    The total row counts each patient once, whatever reasons they gave.
    Reasons nobody gave are left out; the most frequent comes first.
    """
    now = now or timezone.now()
    activated_after = ActivityEvent.objects.filter(
        patient=OuterRef("patient"),
        type=EventType.PORTAL_ACTIVATED,
        occurred_at__gt=OuterRef("recorded_at"),
    )
    declines = Decline.objects.filter(
        recorded_at__gte=local_midnight(since), recorded_at__lte=now
    ).annotate(enrolled_after=Exists(activated_after))
    figures = {
        "declines": Count("pk"),
        "patients": Count("patient", distinct=True),
        "enrolled_later": Count("patient", distinct=True, filter=Q(enrolled_after=True)),
    }
    labels = dict(DeclineReason.choices)
    rows = [
        DeclineRow(
            reason=row["reason"],
            label=str(labels.get(row["reason"], row["reason"])),
            declines=row["declines"],
            patients=row["patients"],
            enrolled_later=row["enrolled_later"],
        )
        for row in declines.values("reason").annotate(**figures).order_by()
    ]
    rows.sort(
        key=lambda r: (-r.declines, list(labels).index(r.reason) if r.reason in labels else 99)
    )
    total = declines.aggregate(**figures)
    return DeclineReport(
        since=since,
        rows=rows,
        total=DeclineRow(reason="", label=str(_("All reasons")), **total),
    )


# --- Incentive cohorts ------------------------------------------------------------------


@dataclass(frozen=True)
class CohortRow:
    """A cohort of enrollments and how many of its patients were active 30 and 90 days on.

    due_N: enrollments whose day N has passed (only they can be judged);
    active_N: of those, the ones with a login in the 30 days ending on day N.
    """

    key: str
    label: str
    enrolled: int = 0
    due_30: int = 0
    active_30: int = 0
    due_90: int = 0
    active_90: int = 0

    @property
    def active_30_percent(self) -> float | None:
        return _percent(self.active_30, self.due_30)

    @property
    def active_90_percent(self) -> float | None:
        return _percent(self.active_90, self.due_90)

    def plus(self, other: "CohortRow", *, key: str, label: str) -> "CohortRow":
        return CohortRow(
            key=key,
            label=label,
            enrolled=self.enrolled + other.enrolled,
            due_30=self.due_30 + other.due_30,
            active_30=self.active_30 + other.active_30,
            due_90=self.due_90 + other.due_90,
            active_90=self.active_90 + other.active_90,
        )


@dataclass(frozen=True)
class IncentiveReport:
    since: dt.date
    incentivised: CohortRow
    others: CohortRow
    by_kind: list[CohortRow] = field(default_factory=list)
    # Read from the rollup: when (None: computed live), and the months not rolled up yet.
    as_of: dt.datetime | None = None
    pending: tuple[dt.date, ...] = ()


def _day(n: int):
    """Day n of an enrollment: n x 24 hours after its completion."""
    return ExpressionWrapper(F("completed_at") + dt.timedelta(days=n), output_field=DateTimeField())


def incentive_cohorts(since: dt.date, *, now: dt.datetime | None = None) -> IncentiveReport:
    """Enrollments completed from `since` (local midnight) to now: incentivised or not.

    1. Day N of an enrollment is N x 24 hours after its completion.
    2. "Active at 30 days": a login after completion and at or before day 30;
       "active at 90 days": a login after day 60 and at or before day 90
       (the 30 days ending on day N). The first login helped at the desk
       comes before completion and does not count.
    3. Only enrollments whose day N has passed (day N <= now) are in the
       denominator of "active at N days"; the others are too recent to judge.
    4. An enrollment is one row: a patient enrolled twice counts twice.
    5. Per incentive kind as well; "others" are enrollments without an incentive.
    """
    now = now or timezone.now()
    cohort = cohort_enrollments(local_midnight(since), now, now=now)
    rows = cohort.values("incentive__kind").annotate(**cohort_figures(now)).order_by()
    return _incentive_report(since, {row.pop("incentive__kind"): row for row in rows})


def cohort_enrollments(
    start: dt.datetime, end: dt.datetime, *, now: dt.datetime, include_end: bool = True
) -> QuerySet[Enrollment]:
    """Enrollments completed from `start` to `end` (and by `now`), with login_by_30 and
    login_by_90 (see incentive_cohorts); the monthly rollup (enrollment.rollups)
    reads the same rows per day."""
    logins = ActivityEvent.objects.filter(patient=OuterRef("patient"), type=EventType.LOGIN)
    days, active = {}, {}
    for n in COHORT_DAYS:
        start_day = n - ACTIVE_WINDOW.days
        days[f"day_{n}"] = _day(n)
        if start_day:
            days[f"day_{start_day}"] = _day(start_day)
        window = logins.filter(
            occurred_at__gt=OuterRef(f"day_{start_day}" if start_day else "completed_at"),
            occurred_at__lte=OuterRef(f"day_{n}"),
        )
        active[f"login_by_{n}"] = Exists(window)
    until = Q(completed_at__lte=end) if include_end else Q(completed_at__lt=end)
    return (
        Enrollment.objects.filter(
            until,
            status=EnrollmentStatus.COMPLETED,
            completed_at__gte=start,
            completed_at__lte=now,
        )
        .annotate(**days)
        .annotate(**active)
    )


def cohort_figures(now: dt.datetime) -> dict:
    """The counts of CohortRow over cohort_enrollments, judged at `now`."""
    figures = {"enrolled": Count("pk")}
    for n in COHORT_DAYS:
        due = Q(completed_at__lte=now - dt.timedelta(days=n))
        figures[f"due_{n}"] = Count("pk", filter=due)
        figures[f"active_{n}"] = Count("pk", filter=due & Q(**{f"login_by_{n}": True}))
    return figures


def _incentive_report(since: dt.date, found: dict, **extra) -> "IncentiveReport":
    """The report from the counts per incentive kind (None: without an incentive)."""
    kinds = dict(IncentiveKind.choices)
    by_kind = [
        CohortRow(key=kind, label=str(label), **found[kind])
        for kind, label in kinds.items()
        if kind in found
    ]
    incentivised = CohortRow(key="incentivised", label=str(_("With an incentive")))
    for row in by_kind:
        incentivised = incentivised.plus(row, key=incentivised.key, label=incentivised.label)
    others = CohortRow(key="none", label=str(_("Without an incentive")), **found.get(None, {}))
    return IncentiveReport(
        since=since, incentivised=incentivised, others=others, by_kind=by_kind, **extra
    )


def rolled_incentive_cohorts(since: dt.date, *, today: dt.date | None = None) -> IncentiveReport:
    """incentive_cohorts from `since`, read from the monthly rollup (enrollment.rollups):
    one grouped query over the day rows, whatever the number of enrollments.

    The figures are judged as of each month's rollup; the nightly run
    recomputes every month whose enrollments are not yet 90 days old, so all
    of them are as of the last nightly run (`as_of`, the current month's).
    """
    today = today or timezone.localtime(timezone.now(), practice_zone()).date()
    months = months_between(since, today)
    computed = dict(
        CohortTallyMonth.objects.filter(month__in=months).values_list("month", "computed_at")
    )
    sums = {name: Sum(name) for name in ("enrolled", "due_30", "active_30", "due_90", "active_90")}
    rows = CohortTally.objects.filter(day__gte=since).values("kind").annotate(**sums).order_by()
    found = {row.pop("kind") or None: row for row in rows}
    return _incentive_report(
        since,
        found,
        as_of=computed.get(months[-1]) if months else None,
        pending=tuple(month for month in months if month not in computed),
    )
