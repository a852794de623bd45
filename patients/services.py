"""Writes to the roster and the event log."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patients.models import (
    FIRSTS_COLUMNS,
    LATEST_COLUMNS,
    OBJECT_FIRSTS_TYPES,
    ActivityEvent,
    EventSource,
    EventType,
    ObjectFirsts,
    Patient,
    PatientFirsts,
    PatientLatest,
    StatementFirsts,
)
from patients.rules import EventData, FieldError, event_errors
from patients.selectors import events_stored
from portal_adoption.dates import event_window

# The fields that make two events with one event_id "the same event".
EVENT_CONTENT_FIELDS = (
    "type",
    "occurred_at",
    "channel",
    "object_id",
    "reply_to",
    "appointment_type",
    "amount",
    "score",
    "due_date",
)


class EventInvalid(ValueError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class EventConflict(ValueError):
    """The event_id is stored already, with different content."""

    def __init__(self, event_id: str, fields: list[str]):
        self.event_id = event_id
        self.fields = fields
        super().__init__(f"event_id {event_id} is stored with different {', '.join(fields)}")


@dataclass(frozen=True)
class EventRecordResult:
    event: ActivityEvent
    created: bool


def event_record(
    *, patient: Patient, data: EventData, source: str = EventSource.APPLICATION
) -> EventRecordResult:
    """Store one event, at most once per event_id.

    1. Refuse invalid data with every reason (EventInvalid).
    2. Insert in a savepoint; the unique event_id decides races between writers.
    3. If the id was stored already, the same content is a harmless repeat
       (created=False) and different content is a conflict (EventConflict):
       the stored event is never changed.
    """
    errors = event_errors(data)
    if data.patient_external_id and data.patient_external_id != patient.external_id:
        errors.append(
            FieldError("patient_external_id", _("does not match the patient the event is for."))
        )
    if errors:
        raise EventInvalid(errors)
    candidate = event_from_data(data, source=source, patient=patient)
    try:
        with transaction.atomic():
            candidate.save(force_insert=True)
            patient_firsts_record(events=[(patient.pk, candidate.type, candidate.occurred_at)])
        return EventRecordResult(event=candidate, created=True)
    except IntegrityError:
        stored = events_stored([data.event_id]).get(data.event_id)
        if stored is None:  # the insert failed for another reason
            raise
    differing = event_differences(stored, candidate)
    if differing:
        raise EventConflict(data.event_id, differing)
    return EventRecordResult(event=stored, created=False)


def event_from_data(data: EventData, *, source: str, **fields) -> ActivityEvent:
    """The unsaved event `data` describes, from `source`; `fields` name its patient
    (patient or patient_id) and may set recorded_at. Every writer builds it here."""
    content = {name: getattr(data, name) for name in EVENT_CONTENT_FIELDS}
    return ActivityEvent(event_id=data.event_id, **content, source=source, **fields)


def event_differences(stored: ActivityEvent, candidate: ActivityEvent) -> list[str]:
    """The names of the fields in which two events with one event_id differ."""
    differing = [
        name for name in EVENT_CONTENT_FIELDS if getattr(stored, name) != getattr(candidate, name)
    ]
    if stored.patient_id != candidate.patient_id:
        differing.insert(0, "patient_external_id")
    return differing


def patient_contact_update(
    *, patient: Patient, email: str, mobile_phone: str, notification_channel: str = ""
) -> list[str]:
    """Store contact details collected from the patient; returns the fields changed.

    The values must already be checked (portal_adoption.contact). The feed
    does not carry the notification channel, so later imports keep it.
    """
    changes = {"email": email, "mobile_phone": mobile_phone}
    if notification_channel:
        changes["notification_channel"] = notification_channel
    changed = [name for name, value in changes.items() if getattr(patient, name) != value]
    for name in changed:
        setattr(patient, name, changes[name])
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
    return changed


def patient_set_phone_preference(*, patient: Patient, prefers_phone: bool) -> None:
    """Whether the patient wants clinical matters by phone rather than a portal reply."""
    Patient.objects.filter(pk=patient.pk).update(
        prefers_phone_for_clinical=prefers_phone, updated_at=timezone.now()
    )
    patient.prefers_phone_for_clinical = prefers_phone


# --- Each patient's firsts (PatientFirsts) -------------------------------------------

# Rows per upsert statement: 6 parameters a row stays under SQLite's 999.
FIRSTS_UPSERT_ROWS = 150


def patient_firsts_keep_earlier(table: str) -> str:
    """The ON CONFLICT clause of an upsert into `table` (PatientFirsts' quoted name):
    per column, the earlier of the stored and the new time (NULL is "none yet").

    A patient whose stored firsts are all as early is left alone: most batches of a
    big import bring later logins of known patients, and rewriting their rows
    cost more than the insert of the events.
    """
    quote = connection.ops.quote_name
    columns = [quote(c) for c in dict.fromkeys(FIRSTS_COLUMNS.values())]
    keep_earlier = ", ".join(
        f"{c} = CASE WHEN {table}.{c} IS NULL OR excluded.{c} < {table}.{c} "
        f"THEN excluded.{c} ELSE {table}.{c} END"
        for c in columns
    )
    any_earlier = " OR ".join(
        f"(excluded.{c} IS NOT NULL AND ({table}.{c} IS NULL OR excluded.{c} < {table}.{c}))"
        for c in columns
    )
    return f"ON CONFLICT ({quote('patient_id')}) DO UPDATE SET {keep_earlier} WHERE {any_earlier}"


def patient_firsts_record(*, events: Iterable[tuple[int, str, dt.datetime]]) -> int:
    """Fold newly stored events, as (patient_id, type, occurred_at), into their
    patients' firsts; returns how many patients the events had a first for.

    Every writer of the event log calls it in the transaction of its insert
    (event_record, the feed import after each batch, the demo), so the firsts
    are never behind the log a reader sees.

    1. The batch's earliest time per patient and column, in Python: only the
       types of FIRSTS_COLUMNS, only times on or after the event window's first
       day (a year-0001 row is not evidence; see PatientFirsts).
    2. One INSERT ... ON CONFLICT DO UPDATE per FIRSTS_UPSERT_ROWS patients,
       keeping the earlier of the stored and the new time per column (NULL
       is "none yet"), and writing a row only when one of its times moves back;
       the same SQL on PostgreSQL and SQLite. Patients go in id
       order, so two writers lock rows in one order and cannot deadlock.
    """
    earliest = event_window().utc_bounds()[0]
    columns = list(dict.fromkeys(FIRSTS_COLUMNS.values()))
    position = {column: index for index, column in enumerate(columns)}
    firsts: dict[int, list[dt.datetime | None]] = {}
    for patient_id, event_type, occurred_at in events:
        column = FIRSTS_COLUMNS.get(event_type)
        if column is None or occurred_at < earliest:
            continue
        row = firsts.setdefault(patient_id, [None] * len(columns))
        index = position[column]
        if row[index] is None or occurred_at < row[index]:
            row[index] = occurred_at
    if not firsts:
        return 0
    quote = connection.ops.quote_name
    table = quote(PatientFirsts._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    patients = sorted(firsts)
    with connection.cursor() as cursor:
        for start in range(0, len(patients), FIRSTS_UPSERT_ROWS):
            chunk = patients[start : start + FIRSTS_UPSERT_ROWS]
            values = ", ".join(["(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"] * len(chunk))
            parameters = []
            for patient_id in chunk:
                parameters.append(patient_id)
                parameters.extend(adapt(value) for value in firsts[patient_id])
            cursor.execute(
                f"INSERT INTO {table} ({quote('patient_id')}, "
                f"{', '.join(quote(c) for c in columns)}) VALUES {values} "
                f"{patient_firsts_keep_earlier(table)}",
                parameters,
            )
    return len(firsts)


def patient_firsts_rebuild() -> int:
    """Every patient's firsts again from the whole event log, in one transaction;
    returns how many patients have any. For a log written around the services
    (a restore, a bulk load); imports and app events keep the table current.

    One INSERT ... SELECT grouped by patient over the events of FIRSTS_COLUMNS'
    types, with the same rules as patient_firsts_record.
    """
    quote = connection.ops.quote_name
    columns = list(dict.fromkeys(FIRSTS_COLUMNS.values()))
    minima = ", ".join(
        f"MIN(CASE WHEN {quote('type')} = %s THEN {quote('occurred_at')} END)" for _ in columns
    )
    types = {column: event_type for event_type, column in FIRSTS_COLUMNS.items()}
    parameters = [str(types[column]) for column in columns]
    parameters += [str(event_type) for event_type in types.values()]
    parameters.append(connection.ops.adapt_datetimefield_value(event_window().utc_bounds()[0]))
    with transaction.atomic():
        PatientFirsts.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(PatientFirsts._meta.db_table)} ({quote('patient_id')}, "
                f"{', '.join(quote(c) for c in columns)}) "
                f"SELECT {quote('patient_id')}, {minima} "
                f"FROM {quote(ActivityEvent._meta.db_table)} "
                f"WHERE {quote('type')} IN ({', '.join(['%s'] * len(columns))}) "
                f"AND {quote('occurred_at')} >= %s "
                f"GROUP BY {quote('patient_id')}",
                parameters,
            )
        return PatientFirsts.objects.count()


def _derived_rebuild(model, columns: str, select: str, parameters: list) -> int:
    """Empty a table derived from the event log and fill it again with one INSERT ...
    SELECT over the log (`{log}` in `select`), in one transaction; returns its rows."""
    quote = connection.ops.quote_name
    with transaction.atomic():
        model.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
                + select.format(log=quote(ActivityEvent._meta.db_table)),
                parameters,
            )
        return model.objects.count()


def _window_start() -> object:
    return connection.ops.adapt_datetimefield_value(event_window().utc_bounds()[0])


def object_firsts_rebuild() -> int:
    """Every object's first times (ObjectFirsts) again from the whole event log, in one
    transaction; returns how many there are. For a log written around its
    triggers (a bulk load in replica mode); every insert keeps the table current.
    """
    types = [str(event_type) for event_type in OBJECT_FIRSTS_TYPES]
    return _derived_rebuild(
        ObjectFirsts,
        "type, object_id, patient_id, first_at",
        "SELECT type, object_id, patient_id, MIN(occurred_at) FROM {log} "
        f"WHERE type IN ({', '.join(['%s'] * len(types))}) AND object_id <> '' "
        "AND occurred_at >= %s GROUP BY type, object_id, patient_id",
        [*types, _window_start()],
    )


def statement_firsts_rebuild() -> int:
    """Each statement's first recorded event (StatementFirsts) again from the whole event
    log, in one transaction; returns how many statements there are. For a log written
    around its triggers; every insert keeps the table current.
    """
    kind = str(EventType.STATEMENT_ISSUED)
    # The lowest id of each (object_id, patient): the event that stands for it.
    return _derived_rebuild(
        StatementFirsts,
        "object_id, patient_id, event_pk, issued_at",
        "SELECT e.object_id, e.patient_id, e.id, e.occurred_at FROM {log} e "
        "JOIN (SELECT MIN(id) AS id FROM {log} WHERE type = %s AND object_id <> '' "
        "AND occurred_at >= %s GROUP BY object_id, patient_id) f ON e.id = f.id "
        "WHERE e.type = %s",
        [kind, _window_start(), kind],
    )


def patient_latest_rebuild() -> int:
    """Every patient's latest invitation or activation and latest login (PatientLatest)
    again from the whole event log, in one transaction; returns how many patients have
    either. For a log written around its trigger; every insert keeps the table current.
    """
    columns = list(dict.fromkeys(LATEST_COLUMNS.values()))
    types = {column: [t for t, c in LATEST_COLUMNS.items() if c == column] for column in columns}
    maxima = ", ".join(
        f"MAX(CASE WHEN type IN ({', '.join(['%s'] * len(types[column]))}) THEN occurred_at END)"
        for column in columns
    )
    return _derived_rebuild(
        PatientLatest,
        f"patient_id, {', '.join(columns)}",
        f"SELECT patient_id, {maxima} FROM {{log}} "
        f"WHERE type IN ({', '.join(['%s'] * len(LATEST_COLUMNS))}) "
        "AND occurred_at >= %s GROUP BY patient_id",
        [
            *(str(t) for column in columns for t in types[column]),
            *(str(t) for t in LATEST_COLUMNS),
            _window_start(),
        ],
    )
