"""Writing feed records to the roster and the event log (activity-feed.md).

Every way in (CSV, REST, FHIR) ends here, so the same records give the same
rows whichever way they came.

How an import runs:

1. An ImportRun row is written first, in its own transaction, so a failed
   import is still on record.
2. Everything else happens in one transaction, holding the feed lock, so
   two imports never interleave and a crash or a killed process leaves the
   roster and the log exactly as before.
3. Records are read in batches (memory stays flat however long the file);
   each is parsed and checked whole: fields, references (patient, location,
   provider), repeats inside the file, and events already stored. Events on
   PostgreSQL are checked a batch at a time on a staging table
   (patients.feed_staging), with the same results and the same reasons.
4. Accepted records are written batch by batch (one INSERT ... SELECT from
   the staging table on PostgreSQL, bulk inserts elsewhere); rejected ones are
   listed with their line or index, field and reason, and stored with the run
   for download.
"""

import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from patients import feed_staging
from patients.feed import (
    PatientRecord,
    parse_event,
    parse_patient,
    storable_text,
    storable_value,
)
from patients.models import (
    ActivityEvent,
    ImportKind,
    ImportRejection,
    ImportRun,
    ImportStatus,
    Location,
    Patient,
    Provider,
)
from patients.rules import EventData, FieldError
from patients.selectors import events_stored
from patients.services import EVENT_CONTENT_FIELDS, event_from_data, patient_firsts_record

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
# Rejections kept in memory for the answer; all of them are stored with the run.
MAX_LISTED_REJECTIONS = 10_000
FEED_LOCK_ID = 7_351_001  # any constant: the advisory lock that serialises imports

Position = int
RawRecord = dict[str, Any]


@dataclass(frozen=True)
class Rejection:
    position: Position
    field: str
    reason: str


@dataclass
class ImportReport:
    run_id: int | None = None
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    skipped_entries: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


@dataclass(frozen=True)
class MalformedRecord:
    """A record that could not even be read as fields (a broken CSV row, a JSON non-object)."""

    errors: list[FieldError]
    record: dict


class FeedFileInvalid(ValueError):
    """The file as a whole cannot be read (header, encoding, emptiness).

    Its message may quote the file, and is shown on pages, answered in JSON
    and stored with the run: what no page or column can hold is replaced.
    """

    def __init__(self, message: str):
        super().__init__(storable_text(str(message)))


class _RejectionSink:
    """Keeps the first rejections for the answer and stores every one with the run.

    A rejected record may hold anything: a NUL, a lone surrogate, a field name
    of its own. Reasons quote values and name fields, so the field, the reason
    and the record are made storable here, for the answer, the page and the
    table alike; the record is refused, never the request.
    """

    def __init__(self, report: ImportReport, run: ImportRun | None, progress=None):
        self.report = report
        self.run = run
        self.progress = progress or ImportProgress(None)
        self.pending: list[ImportRejection] = []

    def reject(self, position: Position, errors: list[FieldError], raw: RawRecord) -> None:
        self.report.rejected += 1
        record = _jsonable(raw)
        for error in errors:
            field_name, reason = storable_text(error.field), storable_text(error.message)
            if len(self.report.rejections) < MAX_LISTED_REJECTIONS:
                self.report.rejections.append(Rejection(position, field_name, reason))
            if self.run is not None:
                self.pending.append(
                    ImportRejection(
                        run=self.run,
                        position=position,
                        field=field_name[:64],
                        reason=reason,
                        record=record,
                    )
                )
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            ImportRejection.objects.bulk_create(self.pending)
            self.pending = []

    def batch_done(self) -> None:
        self.progress.beat(self.report)


def _jsonable(raw: RawRecord) -> dict:
    """The record as a flat JSON object any database stores: nested values and
    numbers JSON cannot write (1e999 reads as infinity) are kept as text."""
    return {storable_text(str(k)): _jsonable_value(v) for k, v in raw.items()}


def _jsonable_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return storable_value(value)
    return storable_text(str(value))


def batched(records: Iterable, size: int | None = None) -> Iterator[list]:
    size = size or BATCH_SIZE
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _refused_unread(position: Position, raw, sink: _RejectionSink) -> bool:
    if not isinstance(raw, MalformedRecord):
        return False
    sink.reject(position, raw.errors, raw.record)
    return True


# --- Runs -----------------------------------------------------------------------


def import_run_start(*, kind: str, source: str, file_name: str = "", user=None) -> ImportRun:
    with transaction.atomic():
        return ImportRun.objects.create(
            kind=kind,
            source=source,
            file_name=storable_text(file_name)[:255],
            started_by=user,
            status=ImportStatus.RUNNING,
            heartbeat_at=timezone.now(),
        )


def import_run_finish(*, run: ImportRun, report: ImportReport) -> None:
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.COMPLETED,
        finished_at=timezone.now(),
        failure="",
        skipped=report.skipped,
        **report.counts(),
    )


def import_run_fail(*, run: ImportRun, error: Exception) -> None:
    # The message of a FeedFileInvalid is ours; anything else may quote data.
    failure = str(error) if isinstance(error, FeedFileInvalid) else type(error).__name__
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.FAILED, finished_at=timezone.now(), failure=failure[:300]
    )


class ImportProgress:
    """How far an import has got, written where the progress bar and the sweep see it.

    The import runs in one transaction that nobody else sees until it commits,
    so its progress and its heartbeat go through a database connection of
    their own, at most once a PROGRESS_INTERVAL. SQLite allows one writer at
    a time, so nothing is written there: a first run on SQLite imports
    in-process, within the upload's request, and needs no progress bar.

    `done` measures the work: bytes of the file read when the file size is the
    `total`, else records read (`total` 0 when unknown).
    """

    def __init__(
        self,
        run_id: int | None,
        *,
        done: Callable[[ImportReport], int] | None = None,
        total: int = 0,
    ):
        self.run_id = run_id
        self.done = done or (lambda report: report.received)
        self.total = total
        # The run starts with a heartbeat: an import over within the first
        # interval (a REST request) never needs a connection of its own.
        self._last_beat = time.monotonic()
        self._connection = None
        self._retry_at = 0.0  # after a failed write: not before this time
        self._failing = False

    def beat(self, report: ImportReport | None) -> None:
        """Say the run is alive, and how far it has got when `report` is given."""
        if self.run_id is None or connection.vendor != "postgresql":
            return
        now = time.monotonic()
        if now - self._last_beat < PROGRESS_INTERVAL or now < self._retry_at:
            return
        self._last_beat = now
        fields = {"heartbeat_at": timezone.now()}
        if report is not None:
            fields |= {"progress_done": self.done(report), "progress_total": self.total}
        self._write(fields)

    def _write(self, fields: dict) -> None:
        columns = ", ".join(f"{name} = %s" for name in fields)
        table = ImportRun._meta.db_table
        try:
            if self._connection is None:
                self._connection = connections.create_connection(DEFAULT_DB_ALIAS)
            with self._connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET {columns} WHERE id = %s", [*fields.values(), self.run_id]
                )
        except DatabaseError as error:
            # A progress bar is not worth an import: go on, and try a fresh
            # connection later (not at every batch), well before the sweep
            # would take the silent run for a dead one. Said once, not each time.
            if not self._failing:
                logger.warning("import run %s: progress not written: %s", self.run_id, type(error))
            self._failing = True
            self._retry_at = time.monotonic() + PROGRESS_RETRY_SECONDS
            self.close()
            return
        if self._failing:
            logger.info("import run %s: progress written again", self.run_id)
            self._failing = False

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DatabaseError):  # a broken one: nothing left to close
                self._connection.close()
            self._connection = None


PROGRESS_INTERVAL = 1.0  # seconds between two progress writes
PROGRESS_RETRY_SECONDS = 30.0  # after a failed progress write; the sweep waits minutes
LOCK_POLL_SECONDS = 0.25


def feed_import(
    *,
    kind: str,
    source: str,
    work: Callable[[ImportReport, _RejectionSink], None],
    file_name: str = "",
    user=None,
    run: ImportRun | None = None,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Run `work` as one import: recorded, locked, all or nothing.

    `run` is a run recorded already (an upload waiting for its worker);
    without one, a run is recorded here.
    """
    run = run or import_run_start(kind=kind, source=source, file_name=file_name, user=user)
    report = ImportReport(run_id=run.pk)
    progress = progress or ImportProgress(run.pk)
    progress.run_id = run.pk
    try:
        with transaction.atomic():
            _lock_feed(progress)
            sink = _RejectionSink(report, run, progress)
            work(report, sink)
            sink.flush()
            import_run_finish(run=run, report=report)
    except Exception as error:
        import_run_fail(run=run, error=error)
        raise
    finally:
        progress.close()
    return report


def _lock_feed(progress: ImportProgress) -> None:
    """Serialise imports. SQLite allows one writer at a time already.

    Waiting for the import ahead is not a stall: the run says it is alive
    while it waits, so the sweep of stalled runs leaves it alone.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FEED_LOCK_ID])
            if cursor.fetchone()[0]:
                return
            progress.beat(None)
            time.sleep(LOCK_POLL_SECONDS)


# --- Patients -------------------------------------------------------------------


def patients_import(
    records: Iterable[tuple[Position, RawRecord]],
    *,
    source: str,
    file_name: str = "",
    user=None,
    run: ImportRun | None = None,
    progress: ImportProgress | None = None,
) -> ImportReport:
    def work(report, sink):
        write_patients(records, report=report, sink=sink, source=source)

    return feed_import(
        kind=ImportKind.PATIENTS,
        source=source,
        work=work,
        file_name=file_name,
        user=user,
        run=run,
        progress=progress,
    )


def write_patients(records, *, report: ImportReport, sink: _RejectionSink, source: str) -> None:
    codes = _ReferenceCodes()
    for batch in batched(records):
        accepted: dict[str, PatientRecord] = {}
        for position, raw in batch:
            report.received += 1
            if _refused_unread(position, raw, sink):
                continue
            record, errors = parse_patient(raw)
            errors += codes.errors(record) if record else []
            if errors:
                sink.reject(position, errors, raw)
            elif record.external_id in accepted:
                # A second record with the same id updates the first (activity-feed.md).
                report.unchanged += accepted[record.external_id] == record
                report.updated += accepted[record.external_id] != record
                accepted[record.external_id] = record
            else:
                accepted[record.external_id] = record
        _store_patients(accepted, codes, report)
        sink.batch_done()


class _ReferenceCodes:
    """Location and provider codes, read once per import (small tables)."""

    def __init__(self):
        self.locations = dict(Location.objects.values_list("code", "pk"))
        self.providers = dict(Provider.objects.values_list("code", "pk"))
        self.providers.update(Provider.objects.exclude(npi="").values_list("npi", "pk"))

    def errors(self, record: PatientRecord) -> list[FieldError]:
        errors = []
        if record.location and record.location not in self.locations:
            errors.append(
                FieldError(
                    "location",
                    _(
                        "location “%(code)s” is not a known clinic site: add it under "
                        "Administration → Locations, or correct the code."
                    )
                    % {"code": record.location},
                )
            )
        if record.primary_provider and record.primary_provider not in self.providers:
            errors.append(
                FieldError(
                    "primary_provider",
                    _(
                        "primary_provider “%(code)s” is not a known provider code or NPI: add "
                        "the provider under Administration → Providers, or correct it."
                    )
                    % {"code": record.primary_provider},
                )
            )
        return errors

    def columns(self, record: PatientRecord) -> dict:
        return {
            "external_id": record.external_id,
            "given_name": record.given_name,
            "family_name": record.family_name,
            "birth_date": record.birth_date,
            "email": record.email,
            "mobile_phone": record.mobile_phone,
            "preferred_language": record.preferred_language,
            "location_id": self.locations.get(record.location),
            "primary_provider_id": self.providers.get(record.primary_provider),
            "registered_on": record.registered_on,
            "deactivated_on": record.deactivated_on,
        }


PATIENT_COLUMNS = (
    "given_name",
    "family_name",
    "birth_date",
    "email",
    "mobile_phone",
    "preferred_language",
    "location_id",
    "primary_provider_id",
    "registered_on",
    "deactivated_on",
)


def _store_patients(accepted: dict[str, PatientRecord], codes, report: ImportReport) -> None:
    stored = Patient.objects.in_bulk(list(accepted), field_name="external_id")
    new, changed = [], []
    for external_id, record in accepted.items():
        columns = codes.columns(record)
        patient = stored.get(external_id)
        if patient is None:
            new.append(Patient(**columns))
            continue
        differing = [c for c in PATIENT_COLUMNS if getattr(patient, c) != columns[c]]
        if not differing:
            report.unchanged += 1
            continue
        for column in differing:
            setattr(patient, column, columns[column])
        changed.append(patient)
    Patient.objects.bulk_create(new, batch_size=1000)
    if changed:
        for patient in changed:
            patient.updated_at = timezone.now()
        Patient.objects.bulk_update(changed, [*PATIENT_COLUMNS, "updated_at"], batch_size=1000)
    report.created += len(new)
    report.updated += len(changed)


# --- Events ---------------------------------------------------------------------


def events_import(
    records: Iterable[tuple[Position, RawRecord]],
    *,
    source: str,
    file_name: str = "",
    user=None,
    run: ImportRun | None = None,
    progress: ImportProgress | None = None,
) -> ImportReport:
    def work(report, sink):
        write_events(records, report=report, sink=sink, source=source)

    return feed_import(
        kind=ImportKind.EVENTS,
        source=source,
        work=work,
        file_name=file_name,
        user=user,
        run=run,
        progress=progress,
    )


def write_events(records, *, report: ImportReport, sink: _RejectionSink, source: str) -> None:
    if _checks_on_server():
        _write_events_staged(records, report=report, sink=sink, source=source)
    else:
        _write_events_per_record(records, report=report, sink=sink, source=source)


def _checks_on_server() -> bool:
    """PostgreSQL checks a batch as a set; SQLite (a first run) record by record."""
    return connection.vendor == "postgresql"


def _write_events_per_record(
    records, *, report: ImportReport, sink: _RejectionSink, source: str
) -> None:
    writer = _event_writer(source)
    for batch in batched(records):
        accepted = _parse_events(batch, report, sink)
        patients = _patient_ids({data.patient_external_id for _pos, _raw, data in accepted})
        stored = _stored_events([data.event_id for _pos, _raw, data in accepted])
        new_rows = []
        for position, raw, data in accepted:
            patient_id = patients.get(data.patient_external_id)
            errors = _reference_errors(data, patient_id, stored.get(data.event_id))
            if errors is None:
                report.unchanged += 1
            elif errors:
                sink.reject(position, errors, raw)
            else:
                new_rows.append((data, patient_id))
        writer(new_rows)
        patient_firsts_record(events=((p, data.type, data.occurred_at) for data, p in new_rows))
        report.created += len(new_rows)
        sink.batch_done()


def _write_events_staged(
    records, *, report: ImportReport, sink: _RejectionSink, source: str
) -> None:
    """PostgreSQL: the same results as the per-record path, the checks run on a set.

    Each batch goes to a staging table (patients.feed_staging); Python reads
    only the records the server's checks do not pass, and words every reason.
    Rejections are listed in the order of the per-record path: first what
    reading finds (fields, a repeated event_id), then the references (patient,
    stored event), each by position.
    """
    writer = _event_writer(source)
    feed_staging.stage_create()
    reading = _ReadAhead(records)
    for batch, lines, others in reading:
        report.received += len(batch)
        read: list[tuple] = []  # (ordinal, errors, record) found while reading
        trusted = []
        for ordinal in others:
            _read_event_record(ordinal, batch[ordinal][1], read, trusted)
        feed_staging.stage_load(lines, trusted)
        unsure, all_new = feed_staging.stage_unsure()
        if unsure:
            refused_before, trusted = len(read), []
            for ordinal in unsure:
                _read_event_record(ordinal, batch[ordinal][1], read, trusted)
            feed_staging.stage_settle([r[0] for r in read[refused_before:]], trusted)
        new = _StagedEvents(all_new=all_new and not unsure)
        reading.while_writing()
        writer(new)
        report.created += len(new)
        references: list[tuple] = []  # (ordinal, errors, record) found in the database
        for ordinal, outcome, detail, event_id in new.others:
            raw = batch[ordinal][1]
            if outcome == feed_staging.SAME_AS_EARLIER:
                report.unchanged += 1
            elif outcome == feed_staging.REPEAT:
                read.append((ordinal, [_repeat_error(batch[int(detail)][0])], raw))
            elif outcome == feed_staging.UNKNOWN_PATIENT:
                references.append((ordinal, [_not_on_roster_error(detail)], raw))
            elif detail:
                references.append((ordinal, [_conflict_error(event_id, detail.split(","))], raw))
            else:
                report.unchanged += 1
        for ordinal, errors, record in sorted(read, key=itemgetter(0)) + sorted(
            references, key=itemgetter(0)
        ):
            sink.reject(batch[ordinal][0], errors, record)
        sink.batch_done()


class _ReadAhead:
    """(batch, its lines for the staging COPY, ordinals of the other records), a batch ahead.

    A thread of its own reads the next batch (the CSV file, say) while the
    server writes this one (`while_writing`): reading waits for no query, and
    the server for no reading. The thread reads only then, so that it does
    not hold Python's lock while this thread talks to the server. At most two
    batches wait, so memory stays flat. Python reads the records that are not
    plain lines (parse_event) in the caller's thread, so that their reasons
    are worded in the caller's language.
    """

    def __init__(self, records):
        self.records = records
        self.ahead: queue.Queue = queue.Queue(maxsize=1)
        self.stop = threading.Event()
        self.may_read = threading.Event()
        self.may_read.set()  # the first batch at once
        self.language = translation.get_language()

    def __iter__(self) -> Iterator[tuple[list, list[str], list[int]]]:
        reader = threading.Thread(target=self._read, name="event-import-reader", daemon=True)
        reader.start()
        try:
            while (item := self.ahead.get()) is not _READ_TO_THE_END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stop.set()
            self.may_read.set()
            reader.join()

    def while_writing(self) -> None:
        """The server is about to write a batch: read the next one meanwhile."""
        self.may_read.set()

    def _read(self) -> None:
        # Wordings made here (a line with too many values) use the caller's language.
        if self.language:
            translation.activate(self.language)
        else:
            translation.deactivate_all()
        try:
            for batch in batched(self.records):
                lines, others = [], []
                for ordinal, (_position, raw) in enumerate(batch):
                    line = feed_staging.plain_line(ordinal, raw)
                    if line is None:
                        others.append(ordinal)
                    else:
                        lines.append(line)
                if not self._hand_over((batch, lines, others)):
                    return
            self._hand_over(_READ_TO_THE_END)
        except BaseException as error:  # handed to the caller, raised there
            self._hand_over(error)

    def _hand_over(self, item) -> bool:
        """Wait for the caller's turn to read, then put `item` in its queue."""
        self.may_read.wait()
        self.may_read.clear()
        while not self.stop.is_set():
            try:
                self.ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


_READ_TO_THE_END = object()


def _read_event_record(ordinal: int, raw, refused: list, trusted: list) -> None:
    """One record through the per-record reader: refused with its reasons, or staged as read."""
    if isinstance(raw, MalformedRecord):
        refused.append((ordinal, raw.errors, raw.record))
        return
    data, errors = parse_event(raw)
    if errors:
        refused.append((ordinal, errors, raw))
    else:
        trusted.append(feed_staging.trusted_row(ordinal, data))


class _StagedEvents:
    """The batch staged for the insert; once written, how many were, and what became of the rest."""

    def __init__(self, *, all_new: bool):
        # Every record passed the server's checks, and their event_ids are all new.
        self.all_new = all_new
        self.written = 0
        self.others: list[tuple[int, str, str | None, str]] = []

    def __len__(self) -> int:
        return self.written


def _patient_ids(external_ids: set[str]) -> dict[str, int]:
    """external_id -> pk of the roster patients among these."""
    if not external_ids:
        return {}
    return dict(
        Patient.objects.filter(external_id__in=external_ids).values_list("external_id", "pk")
    )


def _stored_events(event_ids: list[str]) -> dict[str, ActivityEvent]:
    """The events already in the log among these event_ids, by event_id."""
    return events_stored(event_ids)


def _parse_events(batch, report: ImportReport, sink) -> list[tuple[Position, RawRecord, EventData]]:
    """Parsed events of a batch; a repeated event_id in the batch is checked here."""
    first_seen: dict[str, tuple[Position, EventData]] = {}
    accepted = []
    for position, raw in batch:
        report.received += 1
        if _refused_unread(position, raw, sink):
            continue
        data, errors = parse_event(raw)
        if errors:
            sink.reject(position, errors, raw)
            continue
        earlier = first_seen.get(data.event_id)
        if earlier is None:
            first_seen[data.event_id] = (position, data)
            accepted.append((position, raw, data))
        elif earlier[1] == data:
            report.unchanged += 1
        else:
            sink.reject(position, [_repeat_error(earlier[0])], raw)
    return accepted


def _repeat_error(earlier: Position) -> FieldError:
    return FieldError(
        "event_id",
        _(
            "the same event_id appears earlier (at %(earlier)d) with different values: "
            "give each event its own event_id."
        )
        % {"earlier": earlier},
    )


def _reference_errors(
    data: EventData, patient_id: int | None, stored: ActivityEvent | None
) -> list[FieldError] | None:
    """[] to write the event, None when it is stored already, else the reasons."""
    if patient_id is None:
        return [_not_on_roster_error(data.patient_external_id)]
    if stored is None:
        return []
    differing = [f for f in EVENT_CONTENT_FIELDS if getattr(stored, f) != getattr(data, f)]
    if stored.patient_id != patient_id:
        differing.insert(0, "patient_external_id")
    if not differing:
        return None
    return [_conflict_error(data.event_id, differing)]


def _not_on_roster_error(patient_external_id: str) -> FieldError:
    return FieldError(
        "patient_external_id",
        _("patient “%(id)s” is not on the roster: import the patient first.")
        % {"id": patient_external_id},
    )


def _conflict_error(event_id: str, differing: list[str]) -> FieldError:
    return FieldError(
        "event_id",
        _(
            "conflict: event_id “%(id)s” is stored already with a different %(fields)s; "
            "the stored event is kept. Send a new event_id for a new event."
        )
        % {"id": event_id, "fields": ", ".join(differing)},
    )


def _event_writer(source: str) -> Callable[[list[tuple[EventData, int]] | _StagedEvents], None]:
    """What writes a batch's new events: a list of (data, patient id), or the staged batch."""
    recorded_at = timezone.now()

    def write(rows):
        if isinstance(rows, _StagedEvents):
            insert = (
                feed_staging.staged_new_insert
                if rows.all_new
                else feed_staging.staged_events_insert
            )
            rows.written, rows.others = insert(source=source, recorded_at=recorded_at)
            return
        ActivityEvent.objects.bulk_create(
            [
                event_from_data(data, source=source, patient_id=patient_id, recorded_at=recorded_at)
                for data, patient_id in rows
            ],
            batch_size=1000,
        )

    return write
