"""Every figure of metrics.md for one month and one scope, by SQL aggregation.

The definitions are taken literally (metrics.md):

- A month is a calendar month in PRACTICE_TIME_ZONE: [local midnight of the
  1st, local midnight of the 1st of the next month). "End of M" is the last
  instant before that second midnight, so "at or before end of M" is
  `occurred_at < end`. A date (`registered_on`, `deactivated_on`) is "<= end
  of M" when it is on or before the month's last day, and "> end of M" when
  it is after it.
- Scope is the patient's CURRENT `location` / `primary_provider`: a figure
  for a location counts the roster rows and the events of the patients that
  location has today.
- Event figures (messages, appointments, results, payments, calls) count the
  events of every patient in scope, whether or not the patient is on the
  panel; only the adoption figures and satisfaction are about the panel.
- A result is one `object_id` of one patient (a result belongs to one
  patient). Events without an `object_id` are not results.
- Response time has one definition (metrics.md, "average response time"),
  the one the messaging reports use too: the first response to a patient
  message is the earliest event of the same patient, at or after the
  message, that names it in `reply_to` and is a `message_to_patient` or a
  `response_by_phone` (patients.rules.RESPONSE_TYPES). A call that answers
  a message is an answer; it is neither a message sent nor a phone call.
  `responses_by_phone` counts the first responses that were calls.
- "Evening/weekend" is the business calendar's (portal_adoption/
  business_calendar.py): a message that arrived outside opening hours on an
  open day, or on a closed day (weekend, holiday, closure).
- `annual_exam_self_scheduled_share` counts only bookings whose
  `appointment_type` is `annual_exam`; a feed that sends no types gives no
  data (None), never 0%.
- "First" events are ordered by `occurred_at`, then by row id.
- Events outside the event window of portal_adoption/dates.py (before
  1900, or more than a day ahead of now) count for nothing: the feed refuses
  them today, but rows stored before it did (or written around it) hold
  times like year 0001 that turn into year 0 in the practice's zone and would
  break every query that reads them. `patients.selectors.plausible_events` is
  the event log for every query here, in metrics.services and in messaging.
- Rates and shares are fractions from 0 to 1, unrounded; `portal_payments` is
  a decimal string with two places; hours and satisfaction are rounded half
  up to one decimal; `phone_calls_change` is in percent, unrounded; a figure
  whose denominator is zero is None.

How it is computed: one query per group of figures, each grouped by the
patient's (location, provider) pair, gives additive tallies (counts, sums, and
the list of message/reply pairs). A scope's figures are the sum of the
tallies of its pairs, so `month_figures` for one scope and the nightly rollup
of every scope (metrics.services.rollup_month, one pass) run the same code and
give the same numbers. The queries are written for the event log's indexes
((type, occurred_at), (type, object_id), (patient, occurred_at)) and for plans
PostgreSQL runs set-wise (semi- and anti-joins, IN over an aggregate), and
for SQLite, which keeps no statistics and picks an index by the shape of the
WHERE; each helper says why it is shaped as it is. The only rows read into
Python are the month's message/response pairs (see `_response_tallies`):
the business calendar (holidays from the `holidays` package, opening hours
in local wall-clock time, the practice's closures) lives in Python, so the
within-target and evening/weekend checks are made there, both in that one
loop, asking the calendar once per local day (`MessageTiming`).
Nothing reads the history before M in bulk: "first activated" and "app
installed by the end of M" are each patient's PatientFirsts row (kept as the
events arrive), and what else looks back (a result's first view and release,
a message's first time, whether it was answered before M) is a probe per row
of the month, of ObjectFirsts. The nightly rollup reads the results' tallies
on a second connection beside the others (portal_adoption.db.second_connection)
and shares the month's response pairs with the response-time report
(portal_adoption.rollup_hooks.MonthReads). For 100,000 patients and 10
million events, bench/README.md ("rollup") has the figures; the
demo of `make run` (2,000 patients, 49 months) takes about 0.1 s a month on
SQLite (bench/first_run.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, TruncDate

from metrics.figures import FIGURE_KEYS
from patients.models import AppointmentType, Channel, EventType, ObjectFirsts, Patient
from patients.selectors import (
    event_time_in_window,
    first_responses_in,
    object_firsts_of,
    plausible_events,
)
from portal_adoption.business_calendar import BusinessCalendar, MessageTiming
from portal_adoption.dates import event_window, next_month, practice_zone, previous_month
from portal_adoption.db import Submit, run_here
from portal_adoption.rollup_hooks import MonthlyRollupHook, MonthReads

SELF_SERVICE = (Channel.PORTAL, Channel.APP)
ONE_DECIMAL = Decimal("0.1")
CENTS = Decimal("0.01")
MICROSECONDS_PER_HOUR = 3_600_000_000

# A scope key: the patient's (location_id, primary_provider_id), either may be None.
Pair = tuple[int | None, int | None]


# --- Months in the practice's time zone ---------------------------------------------


def month_of(moment: dt.datetime | dt.date) -> dt.date:
    """The month (its first day) that a moment or a date falls in, in practice time."""
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            raise ValueError("month_of needs an aware datetime")
        moment = moment.astimezone(practice_zone()).date()
    return moment.replace(day=1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end): local midnight of the 1st to local midnight of the next 1st."""
    zone = practice_zone()
    first = month.replace(day=1)
    return (
        dt.datetime.combine(first, dt.time.min, tzinfo=zone),
        dt.datetime.combine(next_month(first), dt.time.min, tzinfo=zone),
    )


# --- Tallies ------------------------------------------------------------------------


class Response(NamedTuple):
    """A patient message and its first response (one per message answered in M)."""

    micros: int  # response minus message, wall clock
    within_target: bool  # by the business calendar's internal due time
    by_phone: bool  # the first response was a response_by_phone
    after_hours: bool  # the message arrived while the practice was closed


@dataclass
class Tally:
    """The additive parts of the figures for one (location, provider) pair."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    payments_portal: Decimal = Decimal(0)
    payments_all: Decimal = Decimal(0)
    score_sum: int = 0
    score_count: int = 0
    responses: list[Response] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for key, value in other.counts.items():
            self.counts[key] += value
        self.payments_portal += other.payments_portal
        self.payments_all += other.payments_all
        self.score_sum += other.score_sum
        self.score_count += other.score_count
        self.responses.extend(other.responses)


def month_figures(
    month: dt.date, *, location_id: int | None = None, provider_id: int | None = None
) -> dict:
    """Every figure of metrics.md for `month`: the practice, a location and/or a provider."""
    tallies = month_tallies(month, location_id=location_id, provider_id=provider_id)
    return figures_from(tallies.values())


def month_tallies(
    month: dt.date,
    *,
    location_id: int | None = None,
    provider_id: int | None = None,
    calendar: BusinessCalendar | None = None,
    reads: MonthReads | None = None,
    beside: Submit | None = None,
    hooks: Iterable[MonthlyRollupHook] = (),
) -> dict[Pair, Tally]:
    """The month's tallies per (location, provider) pair of the patients in scope.

    `reads` (the whole practice only) keeps what the report hooks can reuse.
    `beside` (the nightly rollup's portal_adoption.db.second_connection) reads
    the results' tallies on a second connection while the rest are read on
    this one; without it, everything is read here, in turn. The report
    `hooks`' own reads follow on that connection (into `reads`): the results
    come first, as this needs them first.
    """
    if reads is not None and (location_id is not None or provider_id is not None):
        raise ValueError("a month's reads are kept for the whole practice only")
    month = month.replace(day=1)
    window = _Window(month)
    patients = Patient.objects.order_by()
    events = plausible_events()
    if location_id is not None:
        patients = patients.filter(location_id=location_id)
        events = events.filter(patient__location_id=location_id)
    if provider_id is not None:
        patients = patients.filter(primary_provider_id=provider_id)
        events = events.filter(patient__primary_provider_id=provider_id)

    reading_beside = beside is not None and beside is not run_here

    def results_tallies() -> dict[Pair, Tally]:
        results: dict[Pair, Tally] = defaultdict(Tally)
        with transaction.atomic(savepoint=False):
            rollup_session(beside=reading_beside)
            _results_viewed_tallies(results, patients, window)
            _results_released_tallies(results, events, window)
        return results

    results = (beside or run_here)(results_tallies)
    if reads is not None:
        reads.start_hook_reads(hooks, beside or run_here)
    tallies: dict[Pair, Tally] = defaultdict(Tally)
    with transaction.atomic(savepoint=False):
        rollup_session(beside=reading_beside)
        _adoption_tallies(tallies, patients, window)
        _event_tallies(tallies, events, window)
        _satisfaction_tallies(tallies, events, window)
        _response_tallies(tallies, events, window, calendar or BusinessCalendar(), reads)
    for pair, tally in results.result().items():
        tallies[pair].add(tally)
    return dict(tallies)


# Memory for one sort or hash of the rollup's queries (PostgreSQL's default is 4 MB).
ROLLUP_WORK_MEM = "128MB"


def rollup_session(*, beside: bool) -> None:
    """PostgreSQL only: the rollup's settings for the rest of this transaction.

    More memory per sort and hash: the adoption query asks "logged in this
    month?" of every patient through a hashed set of the month's logins. With
    the default 4 MB, PostgreSQL gives up hashing once a month holds some
    300,000 logins (a 30-million-event log) and scans the set again for every
    patient: over 30 minutes instead of a second. One rollup runs at a time,
    at night.

    With a second connection reading `beside` this one
    (portal_adoption.db.second_connection), no parallel workers: the two
    connections already keep the cores busy, and workers on top compete for
    them (one month at 10 million events, 2 cores: about a tenth faster
    without). SQLite: nothing to set.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{ROLLUP_WORK_MEM}'")
        if beside:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


@dataclass(frozen=True)
class _Window:
    month: dt.date

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return month_bounds(self.month)

    @property
    def start(self) -> dt.datetime:
        return self.bounds[0]

    @property
    def end(self) -> dt.datetime:
        return self.bounds[1]

    @property
    def last_day(self) -> dt.date:
        return next_month(self.month) - dt.timedelta(days=1)

    @property
    def previous_start(self) -> dt.datetime:
        return month_bounds(previous_month(self.month))[0]

    def q(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}occurred_at__gte": self.start, f"{prefix}occurred_at__lt": self.end})


PATIENT_PAIR = ("location_id", "primary_provider_id")
EVENT_PAIR = ("patient__location_id", "patient__primary_provider_id")


def _grouped(queryset: QuerySet, pair: tuple[str, str], **aggregates) -> Iterable[tuple]:
    """Rows of (pair, {aggregate: value}) grouped by the patient's location and provider."""
    for row in queryset.values(*pair).annotate(**aggregates).order_by():
        yield (row[pair[0]], row[pair[1]]), {name: row[name] for name in aggregates}


def _add_counts(tallies: dict[Pair, Tally], rows: Iterable[tuple]) -> None:
    for pair, values in rows:
        for name, value in values.items():
            tallies[pair].counts[name] += value or 0


def _adoption_tallies(tallies: dict[Pair, Tally], patients: QuerySet, window: _Window) -> None:
    """Panel, enrolled, app installs, active, multi-feature, new enrollments.

    One query over the roster rows in scope, grouped by (location, provider),
    every figure a FILTER of one count. "First activation" and "app install at
    or before end of M" are the patient's PatientFirsts row (kept as events
    arrive), so nothing here reads the history before M: the only events read
    are the month's logins and feature uses, `pk IN (SELECT patient_id FROM
    events ... GROUP BY patient_id HAVING ...)` through the (type, occurred_at)
    index, which PostgreSQL hashes once and SQLite materializes once.

    The firsts hold times from the event window's first day on; its last day
    moves with the clock, so a first at or after it is "none yet" (every other
    event of that type is later still), hence `_before`.
    """
    start = window.start
    end = _before(window.end)
    adoption = _adoption_filters(window)
    in_panel, activated = adoption.panel, adoption.activated
    installed = Q(firsts__app_installed_at__lt=end)
    logged_in = Q(type=EventType.LOGIN, occurred_at__gte=start, occurred_at__lt=end)
    features_used = Q(type__in=FEATURE_TYPES, occurred_at__gte=start, occurred_at__lt=end)
    # Grouped by `patient_id + 0`, not the column: PostgreSQL would otherwise walk the
    # month's partition in patient order through the (patient) index, a heap
    # visit per event (1.3 s at 10M events), where a hash of the (type,
    # occurred_at) index's rows takes a tenth of that.
    multi_feature_ids = multi_feature_uses(
        plausible_events(), logged_in=logged_in, features_used=features_used
    ).values("patient_key")
    enrolled = adoption.enrolled
    rows = _grouped(
        patients,
        PATIENT_PAIR,
        panel=Count("pk", filter=in_panel),
        enrolled=Count("pk", filter=enrolled),
        app_installed=Count("pk", filter=enrolled & installed),
        active_users=Count("pk", filter=adoption.active),
        multi_feature_users=Count("pk", filter=enrolled & Q(pk__in=multi_feature_ids)),
        # Literally "patients whose first portal_activated event falls in M": the
        # panel is not asked (a patient who enrolled and left in M is counted).
        new_enrollments=Count("pk", filter=activated & Q(firsts__activated_at__gte=start)),
    )
    _add_counts(tallies, rows)


class AdoptionFilters(NamedTuple):
    """metrics.md's panel, enrolled and active users of a month, as filters of Patient rows.

    The rollup counts them per (location, provider); metrics.equity.selectors counts the
    same patients per language and age band: one definition for both.
    """

    panel: Q
    activated: Q
    enrolled: Q
    active: Q  # enrolled, with a `login` event in the month


def adoption_filters(month: dt.date) -> AdoptionFilters:
    return _adoption_filters(_Window(month.replace(day=1)))


def _adoption_filters(window: _Window) -> AdoptionFilters:
    last_day, end = window.last_day, _before(window.end)
    in_panel = Q(registered_on__lte=last_day) & (
        Q(deactivated_on__isnull=True) | Q(deactivated_on__gt=last_day)
    )
    activated = Q(firsts__activated_at__lt=end)
    logged_in = Q(type=EventType.LOGIN, occurred_at__gte=window.start, occurred_at__lt=end)
    logged_in_ids = plausible_events().filter(logged_in).values("patient_id")
    enrolled = in_panel & activated
    return AdoptionFilters(in_panel, activated, enrolled, enrolled & Q(pk__in=logged_in_ids))


def _before(moment: dt.datetime) -> dt.datetime:
    """`moment`, or the end of the event window if that is earlier (see PatientFirsts)."""
    return min(moment, event_window().utc_bounds()[1])


FEATURE_TYPES = [
    EventType.MESSAGE_FROM_PATIENT,
    EventType.APPOINTMENT_BOOKED,
    EventType.RESULT_VIEWED,
    EventType.PAYMENT,
    EventType.RECORD_VIEWED,
]
# The five features of "multi-feature users", each as the events that use it.
FEATURE_USES = {
    "messaging": Q(type=EventType.MESSAGE_FROM_PATIENT),
    "scheduling": Q(type=EventType.APPOINTMENT_BOOKED, channel__in=SELF_SERVICE),
    "results": Q(type=EventType.RESULT_VIEWED),
    "payments": Q(type=EventType.PAYMENT, channel__in=SELF_SERVICE),
    "records": Q(type=EventType.RECORD_VIEWED),
}
# How many of the five a patient's events used: a MAX of 0/1 per feature, summed.
# A COUNT(DISTINCT feature) would sort the month's events; this hashes them.
FEATURES_USED = sum(
    (Max(Case(When(uses, then=Value(1)), default=Value(0))) for uses in FEATURE_USES.values()),
    start=Value(0),
)


def multi_feature_uses(
    events: QuerySet, *, logged_in: Q, features_used: Q, **per: object
) -> QuerySet:
    """metrics.md's multi-feature use: `patient_key` (and each of `per`, e.g. a month)
    where the patient logged in (`logged_in`) and used at least two of the five
    features (`features_used` says which events, and when). The dashboard asks it of
    one month; the enrollment funnel (metrics.funnel) of each month after activation.
    """
    return (
        events.filter(logged_in | features_used)
        .values(patient_key=F("patient_id") + 0, **per)
        .annotate(logins=Count("pk", filter=logged_in), features=FEATURES_USED)
        .filter(logins__gt=0, features__gte=2)
    )


def _event_tallies(tallies: dict[Pair, Tally], events: QuerySet, window: _Window) -> None:
    """Messages, appointments (annual exams among them), phone calls (and the month
    before's), payments.

    One pass over the month's events of these types through the (type,
    occurred_at) index, every count a FILTER of the same aggregate: the annual
    exams are two more filters on rows read anyway, not another query.
    """
    in_month = Q(occurred_at__gte=window.start)
    self_service = Q(channel__in=SELF_SERVICE)
    annual_exam = Q(type=EventType.APPOINTMENT_BOOKED, appointment_type=AppointmentType.ANNUAL_EXAM)
    rows = _grouped(
        events.filter(
            window.q()
            & Q(
                type__in=[
                    EventType.MESSAGE_FROM_PATIENT,
                    EventType.MESSAGE_TO_PATIENT,
                    EventType.APPOINTMENT_BOOKED,
                    EventType.PHONE_CALL,
                    EventType.PAYMENT,
                ]
            )
            | Q(
                type=EventType.PHONE_CALL,
                occurred_at__gte=window.previous_start,
                occurred_at__lt=window.start,
            )
        ),
        EVENT_PAIR,
        messages_received=Count("pk", filter=Q(type=EventType.MESSAGE_FROM_PATIENT)),
        messages_sent=Count("pk", filter=Q(type=EventType.MESSAGE_TO_PATIENT)),
        appointments=Count("pk", filter=Q(type=EventType.APPOINTMENT_BOOKED)),
        appointments_self_scheduled=Count(
            "pk", filter=Q(type=EventType.APPOINTMENT_BOOKED) & self_service
        ),
        annual_exams=Count("pk", filter=annual_exam),
        annual_exams_self_scheduled=Count("pk", filter=annual_exam & self_service),
        phone_calls=Count("pk", filter=Q(type=EventType.PHONE_CALL) & in_month),
        phone_calls_before=Count("pk", filter=Q(type=EventType.PHONE_CALL) & ~in_month),
        payments_all=Sum("amount", filter=Q(type=EventType.PAYMENT)),
        payments_portal=Sum("amount", filter=Q(type=EventType.PAYMENT) & self_service),
    )
    for pair, values in rows:
        tally = tallies[pair]
        tally.payments_all += values.pop("payments_all") or 0
        tally.payments_portal += values.pop("payments_portal") or 0
        for name, value in values.items():
            tally.counts[name] += value


def _results_viewed_tallies(
    tallies: dict[Pair, Tally], patients: QuerySet, window: _Window
) -> None:
    """Results whose first view is in M; those with a release; those viewed the same day.

    Each result is counted by its first view (a second view of one result is
    not a second result). "The release" is the result's first
    `result_released` event; days are local calendar days.

    One aggregate over the month's rows of ObjectFirsts (the first view of
    each result, kept as events arrive) joined to their patients' location and
    provider, each with two probes of the result's first release (released at
    all; released on the day of the view): no event is read, and no time comes
    into Python.
    """
    zone = practice_zone()
    release = object_firsts_of(EventType.RESULT_RELEASED)
    released_that_day = release.annotate(day=TruncDate("first_at", tzinfo=zone)).filter(
        day=OuterRef("viewed_day")
    )
    rows = (
        ObjectFirsts.objects.filter(
            event_time_in_window("first_at"),
            type=EventType.RESULT_VIEWED,
            first_at__gte=window.start,
            first_at__lt=window.end,
            patient__in=patients,
        )
        .alias(viewed_day=TruncDate("first_at", tzinfo=zone))
        .values(location=F("patient__location_id"), provider=F("patient__primary_provider_id"))
        .annotate(
            results_viewed=Count("pk"),
            results_viewed_released=Count("pk", filter=Exists(release)),
            results_viewed_same_day=Count("pk", filter=Exists(released_that_day)),
        )
        .order_by()
    )
    for row in rows:
        counts = tallies[(row.pop("location"), row.pop("provider"))].counts
        for name, value in row.items():
            counts[name] += value


def _results_released_tallies(
    tallies: dict[Pair, Tally], events: QuerySet, window: _Window
) -> None:
    """Results released in M, and those first viewed before any contact about them.

    "First viewed before any contact": some view of the result with no
    `result_communicated` event for it at or before that view's time; that
    is the first view, so: viewed, and not contacted at or before the first
    view. A result released twice in M counts once: the counts are of
    distinct (patient, result) keys, in SQL.
    """
    contacted_by_then = object_firsts_of(EventType.RESULT_COMMUNICATED).filter(
        first_at__lte=OuterRef("first_at")
    )
    viewed_before_contact = object_firsts_of(EventType.RESULT_VIEWED).exclude(
        Exists(contacted_by_then)
    )
    released = (
        events.filter(window.q(), type=EventType.RESULT_RELEASED)
        .exclude(object_id="")
        .alias(result=Concat(Cast("patient_id", CharField()), Value(":"), "object_id"))
    )
    rows = _grouped(
        released,
        EVENT_PAIR,
        results_released=Count("result", distinct=True),
        results_viewed_before_contact=Count(
            "result", distinct=True, filter=Exists(viewed_before_contact)
        ),
    )
    _add_counts(tallies, rows)


def _satisfaction_tallies(tallies: dict[Pair, Tally], events: QuerySet, window: _Window) -> None:
    """Survey scores in M from patients enrolled at the time of the response.

    Enrolled at that moment: on the panel that day (registered on or before
    it, not deactivated on or before it) and first activated at or before it
    (the patient's PatientFirsts row: no activation before M is read).
    """
    responses = (
        events.filter(window.q(), type=EventType.SURVEY_RESPONSE)
        .annotate(day=TruncDate("occurred_at", tzinfo=practice_zone()))
        .filter(patient__registered_on__lte=F("day"))
        .filter(Q(patient__deactivated_on__isnull=True) | Q(patient__deactivated_on__gt=F("day")))
        .filter(patient__firsts__activated_at__lte=F("occurred_at"))
    )
    for pair, values in _grouped(
        responses, EVENT_PAIR, score_sum=Sum("score"), score_count=Count("score")
    ):
        tallies[pair].score_sum += values["score_sum"] or 0
        tallies[pair].score_count += values["score_count"]


def _response_tallies(
    tallies: dict[Pair, Tally],
    events: QuerySet,
    window: _Window,
    calendar: BusinessCalendar,
    reads: MonthReads | None = None,
) -> None:
    """Patient messages whose first response is in M: the response time, whether it was
    within target, by phone, and whether the message came in after hours.

    A response is a `message_to_patient` or a `response_by_phone`
    (RESPONSE_TYPES) at or after the patient's message (`message_from_patient`
    of the same patient whose `object_id` is the response's `reply_to`; the
    earliest if it came twice): a row that claims to answer a message not yet
    sent is not its answer. The first response to a message is its earliest
    response by (occurred_at, id), of either type: a reply sent after a call
    that answered the message is not one, nor is a call after a reply. It
    counts in M when it is in M.

    The pairs are patients.selectors.first_responses_in's, the same reading as
    the response-time report's: the responses in M, a probe of ObjectFirsts
    for each one's message and, for a message sent before M, of its span up to
    M for an earlier answer. Nothing else before M is read.

    The internal target and "the practice was closed" are the business
    calendar's, which lives in Python (holidays come from a package), so the
    month's pairs (thousands of rows, not the event log) are read and
    checked one by one here; that loop is deliberate (see MessageTiming).

    `reads`, when given (metrics' rollup of the whole practice), keeps the pairs
    for the report hooks, which would otherwise read them again.
    """
    pairs = list(first_responses_in(events, window.start, window.end, *EVENT_PAIR))
    if reads is not None:
        reads.first_responses = pairs
    timing = MessageTiming(calendar)
    for pair in pairs:
        took = pair.response_at - pair.message_at
        micros = (took.days * 86_400 + took.seconds) * 1_000_000 + took.microseconds
        _local, in_hours, due = timing.place(pair.message_at)
        tallies[pair.extra].responses.append(
            Response(
                micros,
                pair.response_at <= due,
                pair.response_type == EventType.RESPONSE_BY_PHONE,
                not in_hours,
            )
        )


# --- From tallies to figures ----------------------------------------------------------


def figures_from(tallies: Iterable[Tally]) -> dict:
    """The figures of the sum of some tallies (a scope's (location, provider) pairs)."""
    total = Tally()
    for tally in tallies:
        total.add(tally)
    c = total.counts
    received, sent, active = c["messages_received"], c["messages_sent"], c["active_users"]
    figures = {
        "panel": c["panel"],
        "enrolled": c["enrolled"],
        "enrollment_rate": _ratio(c["enrolled"], c["panel"]),
        "new_enrollments": c["new_enrollments"],
        "active_users": active,
        "active_user_rate": _ratio(active, c["enrolled"]),
        "multi_feature_users": c["multi_feature_users"],
        "multi_feature_share": _ratio(c["multi_feature_users"], active),
        "app_install_rate": _ratio(c["app_installed"], c["enrolled"]),
        "messages_received": received,
        "messages_sent": sent,
        "messages_per_active_user": _ratio(received + sent, active),
        "appointments_self_scheduled": c["appointments_self_scheduled"],
        "self_scheduled_share": _ratio(c["appointments_self_scheduled"], c["appointments"]),
        "results_viewed": c["results_viewed"],
        "same_day_view_share": _ratio(c["results_viewed_same_day"], c["results_viewed_released"]),
        "viewed_before_contact_share": _ratio(
            c["results_viewed_before_contact"], c["results_released"]
        ),
        "portal_payments": str(total.payments_portal.quantize(CENTS)),
        "portal_payment_share": (
            float(total.payments_portal / total.payments_all) if total.payments_all else None
        ),
        "phone_calls": c["phone_calls"],
        "phone_calls_change": (
            (c["phone_calls"] - c["phone_calls_before"]) * 100 / c["phone_calls_before"]
            if c["phone_calls_before"]
            else None
        ),
        **_response_figures(total.responses),
        "annual_exam_self_scheduled_share": _ratio(
            c["annual_exams_self_scheduled"], c["annual_exams"]
        ),
        "satisfaction": (
            _one_decimal(Decimal(total.score_sum) / Decimal(total.score_count))
            if total.score_count
            else None
        ),
    }
    assert list(figures) == FIGURE_KEYS, "figures out of step with metrics.figures"
    return figures


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _one_decimal(value: Decimal) -> float:
    return float(value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP))


def _response_figures(responses: list[Response]) -> dict:
    """Response time over every first response, and over those to evening/weekend
    messages; the share within target and the count answered by phone."""
    after_hours = [response for response in responses if response.after_hours]
    return {
        **_hours_figures(responses, "avg_response_hours", "median_response_hours"),
        "response_within_target_share": (
            sum(response.within_target for response in responses) / len(responses)
            if responses
            else None
        ),
        "responses_by_phone": sum(response.by_phone for response in responses),
        **_hours_figures(
            after_hours, "after_hours_avg_response_hours", "after_hours_median_response_hours"
        ),
    }


def _hours_figures(responses: list[Response], mean_key: str, median_key: str) -> dict:
    """Mean and median response time in hours, one decimal; None for both without any."""
    if not responses:
        return {mean_key: None, median_key: None}
    # In whole microseconds, divided once: the same one-decimal figures as dividing
    # each time first (a rounding in the 28th digit cannot cross a half-tenth, which
    # these quotients reach only exactly), for a tenth of the work.
    micros = sorted(response.micros for response in responses)
    count, half = len(micros), len(micros) // 2
    middle = Decimal(micros[half]) if count % 2 else Decimal(micros[half - 1] + micros[half]) / 2
    return {
        mean_key: _one_decimal(Decimal(sum(micros)) / count / MICROSECONDS_PER_HOUR),
        median_key: _one_decimal(middle / MICROSECONDS_PER_HOUR),
    }
