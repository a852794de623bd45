"""Reads of the roster and the event log."""

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import NamedTuple

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat

from patients.models import (
    ActivityEvent,
    EventKey,
    EventType,
    ImportRejection,
    ImportRun,
    ObjectFirsts,
    Patient,
    PatientLatest,
)
from patients.rules import RESPONSE_TYPES
from portal_adoption.contact import ContactInvalid, phone_to_e164
from portal_adoption.dates import event_window
from portal_adoption.db import one_of, value_batches

SEARCH_LIMIT = 50
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]+$")
# The roster's order (patient_list), written so that the database sorts the
# matches instead of walking patient_name_idx in name order and filtering it.
# PostgreSQL picks that walk for a common name prefix, assuming the matches are
# spread evenly; for "Smith" or "Wright" it then reads most of the index first
# (up to 400 ms at 200,000 patients; finding the matches with the search indexes
# of migration patients 0005 and sorting them takes under 50 ms, see
# bench/checkin_search.py). `name || ''` sorts exactly as the name does, but no
# index can supply that order.
SEARCH_ORDER = (
    Concat("family_name", Value("")),
    Concat("given_name", Value("")),
    "external_id",
)


def patient_list() -> QuerySet[Patient]:
    return Patient.objects.select_related("location", "primary_provider").order_by(
        "family_name", "given_name", "external_id"
    )


def patient_search(query: str) -> QuerySet[Patient]:
    """Patients matching an MRN, a birth date, a phone number, or words of the name.

    A birth date may be typed 1980-03-14 or 3/14/1980; a phone number in any
    usual form (it is compared in E.164). Each word of a name must match the
    start of the given or the family name.
    """
    query = query.strip()
    patients = patient_list().order_by(*SEARCH_ORDER)
    if not query:
        return patients.none()
    birth_date = _parse_date(query)
    if birth_date:
        return patients.filter(birth_date=birth_date)
    phone = _parse_phone(query)
    if phone:
        return patients.filter(Q(mobile_phone=phone) | Q(external_id__iexact=query))
    by_name = Q()
    for word in query.split():
        by_name &= Q(given_name__istartswith=word) | Q(family_name__istartswith=word)
    return patients.filter(Q(external_id__iexact=query) | by_name)


def _parse_phone(text: str) -> str | None:
    # Only digits and phone punctuation, with enough digits to be a number.
    if not PHONE_LIKE.match(text) or sum(c.isdigit() for c in text) < 7:
        return None
    try:
        return phone_to_e164(text)
    except ContactInvalid:
        return None


def _parse_date(text: str) -> date | None:
    try:
        if ISO_DATE.match(text):
            return date.fromisoformat(text)
        match = US_DATE.match(text)
        if match:
            month, day, year = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


def event_time_in_window(field: str = "occurred_at") -> Q:
    """Events whose time is inside the event window (portal_adoption/dates.py).

    The feed refuses any other time, but rows stored before it checked may
    hold one, and a time in year 0 or 10000 (UTC) cannot even be read into
    Python. Pages filter with this, or read such rows through
    patient_recent_events, which marks them instead of reading their time.
    """
    start, end = event_window().utc_bounds()
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def plausible_events() -> QuerySet[ActivityEvent]:
    """THE event log for figures, reminders and response times: only events inside the
    event window count (a row like 0001-01-01 is not evidence that anything happened)."""
    return ActivityEvent.objects.order_by().filter(event_time_in_window())


def object_firsts_of(event_type: str, object_field: str = "object_id") -> QuerySet[ObjectFirsts]:
    """For an outer row (an event, or another ObjectFirsts row): the ObjectFirsts row of
    its patient's events of `event_type` whose object_id is the outer row's
    `object_field` (a result, or the message a reply names), inside the event
    window; at most one (use in Exists or Subquery). One probe of its unique
    index."""
    return ObjectFirsts.objects.filter(
        event_time_in_window("first_at"),
        type=event_type,
        object_id=OuterRef(object_field),
        patient_id=OuterRef("patient_id"),
    )


def object_first_time(event_type: str, object_field: str = "object_id") -> Subquery:
    """For an outer event: the first time of its patient's events of `event_type`
    whose object_id is the outer row's `object_field`; None if there is none.

    One probe of ObjectFirsts (kept by a trigger on the log), where a MIN over
    the log would probe every month's partition on PostgreSQL.
    """
    return Subquery(object_firsts_of(event_type, object_field).values("first_at")[:1])


class FirstResponseRow(NamedTuple):
    """A patient message whose first response is in the period, with that response."""

    extra: tuple  # the caller's `values`, read from the response's row
    patient_id: int
    message_object_id: str
    message_at: datetime
    response_at: datetime
    response_type: str


def first_responses_in(
    responses: QuerySet[ActivityEvent], start: datetime, end: datetime, *values: str
) -> Iterator[FirstResponseRow]:
    """The patient messages whose first response falls in [start, end), read from
    `responses` (plausible_events(), narrowed to a scope or annotated by the caller).

    metrics.md: a response is a `message_to_patient` or `response_by_phone`
    (RESPONSE_TYPES) at or after the patient's message (the first
    `message_from_patient` of the same patient whose `object_id` is the
    response's `reply_to`); a message's first response is its earliest by
    (occurred_at, id), of either type. THE one reading for the dashboard's
    rollup and the response-time report.

    One query: the responses in the period, each with its message's first time
    (one probe of ObjectFirsts) and, for a message sent before `start`, whether
    it was answered before `start` (a probe of (patient, occurred_at) from the
    message's time to `start`, which reads only those months' partitions). A
    message answered before has no first response in the period; of the rest,
    the earliest of its responses in the period is its first, picked here.
    Nothing before `start` is read but those probes: an anti-join over "any
    earlier response" hashed every response of the log, every month.
    """
    answered_before = Exists(
        plausible_events().filter(
            patient_id=OuterRef("patient_id"),
            type__in=RESPONSE_TYPES,
            reply_to=OuterRef("reply_to"),
            occurred_at__gte=OuterRef("message_at"),
            occurred_at__lt=start,
        )
    )
    rows = (
        responses.filter(occurred_at__gte=start, occurred_at__lt=end, type__in=RESPONSE_TYPES)
        .exclude(reply_to="")
        .annotate(message_at=object_first_time(EventType.MESSAGE_FROM_PATIENT, "reply_to"))
        .annotate(
            answered_before=Case(
                When(message_at__lt=start, then=answered_before), default=Value(False)
            )
        )
        .values_list(
            *values,
            "patient_id",
            "reply_to",
            "message_at",
            "occurred_at",
            "pk",
            "type",
            "answered_before",
        )
    )
    width = len(values)
    firsts: dict[tuple[int, str], tuple] = {}
    for row in rows:
        extra, (patient_id, reply_to, message_at, at, pk, kind, before) = row[:width], row[width:]
        if message_at is None or at < message_at or before:
            continue
        key = (patient_id, reply_to)
        if key not in firsts or (at, pk) < firsts[key][:2]:
            firsts[key] = (at, pk, extra, message_at, kind)
    for (patient_id, reply_to), (at, _pk, extra, message_at, kind) in firsts.items():
        yield FirstResponseRow(extra, patient_id, reply_to, message_at, at, kind)


OFFER_TYPES = (EventType.PORTAL_INVITED, EventType.PORTAL_ACTIVATED)


def with_latest_offer(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """`patients` with `offered_at`, the latest invitation or activation inside the
    event window (None if none), and `logged_in_since`, whether a login inside the
    window came at or after it: "invited and not logged in since" (the follow-up
    list, the no-login reminder).

    Read from PatientLatest (kept by a trigger on the log): one row per patient
    instead of the latest of each kind looked up in every month's partition, for
    every patient on the roster. A kept time past the window's other edge (a row
    stored before the feed checked) does not say which earlier time is the
    latest inside the window: while any patient has one, everyone is read from
    the log, as before (one indexed look-up says whether any has).
    """
    end = event_window().utc_bounds()[1]
    if PatientLatest.objects.filter(Q(offered_at__gte=end) | Q(login_at__gte=end)).exists():
        offers = (
            plausible_events()
            .filter(patient=OuterRef("pk"), type__in=OFFER_TYPES)
            .order_by("-occurred_at")
        )
        logins_since = plausible_events().filter(
            patient=OuterRef("pk"), type=EventType.LOGIN, occurred_at__gte=OuterRef("offered_at")
        )
        return patients.annotate(offered_at=Subquery(offers.values("occurred_at")[:1])).annotate(
            logged_in_since=Exists(logins_since)
        )
    return patients.annotate(
        offered_at=F("latest__offered_at"),
        logged_in_since=ExpressionWrapper(
            Q(latest__login_at__isnull=False, latest__login_at__gte=F("latest__offered_at")),
            output_field=BooleanField(),
        ),
    )


def logged_in_since(moment) -> Q | Exists:
    """A filter of patients: a login inside the event window at or after `moment`.

    From PatientLatest's latest login, as with_latest_offer(); while any kept
    login is past the window's other edge, from the log for everyone.
    """
    end = event_window().utc_bounds()[1]
    if PatientLatest.objects.filter(login_at__gte=end).exists():
        return Exists(
            plausible_events().filter(
                patient=OuterRef("pk"), type=EventType.LOGIN, occurred_at__gte=moment
            )
        )
    return Q(latest__login_at__gte=moment, latest__login_at__lt=end)


def patient_recent_events(patient: Patient, *, limit: int = 50) -> list[ActivityEvent]:
    """The latest events, each with `shown_at`: its time, or None when it is out of range.

    An event out of range also has `stored_time`, its time as the database
    writes it, to show it as stored; its occurred_at is never read.
    """
    in_window = event_time_in_window()
    events = (
        patient.events.defer("occurred_at")
        .annotate(
            shown_at=Case(
                When(in_window, then=F("occurred_at")), default=None, output_field=DateTimeField()
            ),
            stored_time=Case(
                When(in_window, then=Value("")),
                default=Cast("occurred_at", TextField()),
                output_field=TextField(),
            ),
        )
        .order_by("-occurred_at", "-id")
    )
    return list(events[:limit])


def patient_event_counts(patient: Patient) -> dict[str, int]:
    rows = patient.events.values("type").annotate(count=Count("id"))
    return {row["type"]: row["count"] for row in rows}


def events_stored(event_ids: list[str]) -> dict[str, ActivityEvent]:
    """The events already in the log among these event_ids, by event_id.

    On PostgreSQL the log is partitioned by month: each event_id is looked up
    in the key table (one index), then its event by (event_id, occurred_at),
    which reads one partition rather than probing every month's index.
    """
    if not event_ids:
        return {}
    if connection.vendor != "postgresql":
        return ActivityEvent.objects.in_bulk(event_ids, field_name="event_id")
    events = ActivityEvent.objects.raw(
        f"SELECT e.* FROM unnest(%s::text[]) AS wanted (event_id) "
        f"JOIN {EventKey._meta.db_table} k ON k.event_id = wanted.event_id "
        f"CROSS JOIN LATERAL (SELECT * FROM {ActivityEvent._meta.db_table} x "
        "WHERE x.event_id = k.event_id AND x.occurred_at = k.occurred_at LIMIT 1) e",
        [list(event_ids)],
    )
    return {event.event_id: event for event in events}


def event_exists(event_id: str) -> bool:
    # Through the key table on PostgreSQL: one index, not one per month of the log.
    return bool(events_stored([event_id]))


def import_rejections(run_id: int | None) -> QuerySet[ImportRejection]:
    return ImportRejection.objects.filter(run_id=run_id).order_by("position", "id")


# The fields of a feed record that name a patient (roster and event records).
PATIENT_NAMING_FIELDS = ("external_id", "patient_external_id")
PATIENT_LOOKUP_BATCH = 5000


def rejected_record_patients(records: Iterable[dict]) -> list[Patient]:
    """The roster patients that rejected records name, each once, for the access log.

    A rejected record may name no one, someone not on the roster, or hold a
    value that is not an id at all: only patients that exist are returned.
    """
    external_ids = sorted({_named_patient(record) for record in records} - {""})
    found: list[Patient] = []
    for batch in value_batches(external_ids):
        found.extend(Patient.objects.filter(one_of("external_id", batch)).order_by("pk"))
    return found


def import_run_rejected_patients(run_id: int) -> list[Patient]:
    """The patients every rejected record of a run names (its whole download)."""
    records = ImportRejection.objects.filter(run_id=run_id).values_list("record", flat=True)
    return rejected_record_patients(records.iterator(chunk_size=PATIENT_LOOKUP_BATCH))


def _named_patient(record) -> str:
    if not isinstance(record, dict):
        return ""
    for name in PATIENT_NAMING_FIELDS:
        value = record.get(name)
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return str(value).strip()
    return ""


def import_runs_recent(*, limit: int = 20) -> list[ImportRun]:
    return list(ImportRun.objects.select_related("started_by")[:limit])
