"""A manager imports a large events file: PostgreSQL checks it a batch at a time.

The checks run on a staging table (patients/feed_staging.py); what the server
cannot vouch for is read by the per-record reader. Whichever way a record is
checked, the import answers the same: the same counts, the same rejections
with the same reasons in the same order, the same events stored.
"""

import csv
import datetime as dt
import io

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients import feed, feed_import, feed_staging
from patients.feed import EVENT_FIELDS
from patients.feed_csv import event_rows
from patients.feed_import import MalformedRecord, events_import
from patients.models import (
    ActivityEvent,
    EventKey,
    EventSource,
    ImportRejection,
    ImportRun,
    ImportStatus,
)
from patients.rules import FieldError
from tests.conftest import requires_postgres
from tests.factories import PatientFactory

pytestmark = requires_postgres


def _row(event_id, patient="MRN-1", kind="login", at="2026-01-14T09:05:00-05:00", **more):
    values = {"event_id": event_id, "patient_external_id": patient, "type": kind}
    values |= {"occurred_at": at, "channel": "portal" if kind == "login" else ""}
    values |= more
    return [values.get(name, "") for name in EVENT_FIELDS]


def _future() -> str:
    return (timezone.now() + dt.timedelta(days=3)).isoformat(timespec="seconds")


# Every kind of record a feed sends, good and bad, spelled the usual way and otherwise.
ROWS = [
    _row("a1"),
    _row("a2", "MRN-2", "record_viewed", "2026-01-14T14:05:00Z", channel="app"),
    _row("a3", at="2026-01-14T09:05:00.123-05:00"),
    _row("a4", at="2026-01-14T09:05:00.1234567Z"),
    _row("a5", at="2026-01-14 09:05:00-05:00"),
    _row("a6", at="2026-01-14T09:05:00"),
    _row("a7", at="2026-01-14"),
    _row("a8", at="2024-02-29T10:00:00Z"),
    _row("a9", at="2025-02-29T10:00:00Z"),
    _row("a10", at="2025-04-31T10:00:00Z"),
    _row("a11", at="2025-01-01T24:00:00Z"),
    _row("a12", at="2025-01-01T10:00:60Z"),
    _row("a13", at="1900-01-01T00:30:00+14:00"),
    _row("a14", at="1899-12-31T23:59:59+00:00"),
    _row("a15", at=_future()),
    _row("a16", at="2025-01-01T10:00:00+15:00"),
    _row(" a17 "),
    _row("a18", "MRN-1\u00a0"),
    _row("a19", "MRN-404"),
    _row("a20", kind="logon", channel="portal"),
    _row("a21", channel="phone"),
    _row("a22", channel=""),
    _row("a23", kind="result_released", object_id="res-1"),
    _row("a24", kind="message_from_patient", channel="portal"),
    _row("a25", reply_to="m-1"),
    _row("a26", kind="message_to_patient", channel="portal", object_id="m-2", reply_to="m-1"),
    _row(
        "a27",
        kind="appointment_booked",
        channel="app",
        object_id="ap-1",
        appointment_type="annual_exam",
    ),
    _row(
        "a28", kind="appointment_booked", channel="app", object_id="ap-2", appointment_type="dental"
    ),
    _row("a29", appointment_type="annual_exam"),
    *(
        _row(f"p{n}", kind="payment", channel="portal", object_id=f"pay-{n}", amount=amount)
        for n, amount in enumerate(
            ["25", "25.5", "0", "-1", "1e2", " 25.00", "25.001", "99999999999", "+5.00", ""]
        )
    ),
    _row("a30", amount="5"),
    *(
        _row(f"s{n}", kind="survey_response", object_id=f"sv-{n}", score=score)
        for n, score in enumerate(["05", "6", "3", "", "x"])
    ),
    _row("a31", score="3"),
    *(
        _row(
            f"d{n}",
            kind="statement_issued",
            channel="mail",
            object_id=f"st-{n}",
            amount="80.00",
            due_date=due,
        )
        for n, due in enumerate(["2026-02-30", "2199-12-31", "2200-01-01", "2024-02-29", "soon"])
    ),
    _row(
        "a32",
        kind="payment",
        channel="portal",
        object_id="pay-x",
        amount="5",
        due_date="2026-03-01",
    ),
    _row("a1"),  # the same record again: unchanged
    _row("a2", "MRN-2", "record_viewed", "2026-01-14T14:05:00Z", channel="portal"),
    _row("a9", at="2025-03-01T10:00:00Z"),  # its first was refused: this one is the first
    _row("stored-same", at="2026-01-10T08:00:00Z"),
    _row("stored-diff", "MRN-2", at="2026-01-11T08:00:00Z"),
    _row("a33", kind="result_viewed", channel="app", object_id="res\\1"),
    _row("a34", kind="result_viewed", channel="app", object_id="res\t2"),
    _row("a35", kind="result_viewed", channel="app", object_id="res\n3"),
    _row("a36", kind="result_viewed", channel="app", object_id="résultat-4"),
    _row("e" * 129),
    _row("a37", kind="result_viewed", channel="app", object_id="res\x005"),
    _row("a38", kind="result_viewed", channel="app", object_id="BADBYTE"),
    _row(""),
    _row("a39", kind=" login"),
    _row("a40", kind="LOGIN"),
    _row("a41", at="2026-01-14T09:05:00Z "),
    _row("a42", at="2026-01-14T09:05:00-00:00"),
    _row("a43", kind="phone_call", channel="phone"),
]


def _file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EVENT_FIELDS)
    writer.writerows(ROWS)
    return out.getvalue().encode().replace(b"BADBYTE", b"res-\xff")


def _records():
    """The file's records, then a few as JSON sends them (numbers, nulls, a broken one)."""
    yield from event_rows(io.BytesIO(_file()))
    yield (
        1001,
        {
            "event_id": "j1",
            "patient_external_id": "MRN-1",
            "type": "survey_response",
            "occurred_at": "2026-01-14T09:05:00Z",
            "object_id": "sv-j",
            "score": 4,
        },
    )
    yield (
        1002,
        {
            "event_id": 17,
            "patient_external_id": "MRN-2",
            "type": "login",
            "occurred_at": "2026-01-14T09:05:00Z",
            "channel": "app",
            "reply_to": None,
        },
    )
    yield (
        1003,
        {
            "event_id": "j3",
            "patient_external_id": "MRN-2",
            "type": "login",
            "occurred_at": "2026-01-14T09:05:00Z",
            "channel": "app",
            "colour": "red",
        },
    )
    yield 1004, MalformedRecord([FieldError("record", "not an object")], {"value": "[1]"})
    yield (
        1005,
        {
            "event_id": "j5",
            "patient_external_id": "MRN-2",
            "type": "payment",
            "occurred_at": "2026-01-14T09:05:00Z",
            "channel": "app",
            "object_id": "p",
            "amount": 12.5,
        },
    )


@pytest.fixture
def practice(db):
    mrn1, mrn2 = PatientFactory(external_id="MRN-1"), PatientFactory(external_id="MRN-2")
    for event_id in ("stored-same", "stored-diff"):
        ActivityEvent.objects.create(
            event_id=event_id,
            patient=mrn1,
            type="login",
            channel="portal",
            occurred_at=dt.datetime(2026, 1, 10, 8, tzinfo=dt.UTC),
            source=EventSource.FEED_CSV,
        )
    return mrn1, mrn2


def _import(monkeypatch, *, on_server: bool):
    """Import the records one way, note everything it answered and stored, then undo it."""
    monkeypatch.setattr(feed_import, "_checks_on_server", lambda: on_server)
    savepoint = transaction.savepoint()
    report = events_import(_records(), source=EventSource.FEED_CSV)
    events = ActivityEvent.objects.order_by("id").values_list(
        "event_id",
        "patient__external_id",
        "type",
        "occurred_at",
        "channel",
        "object_id",
        "reply_to",
        "appointment_type",
        "amount",
        "score",
        "due_date",
        "source",
    )
    stored_rejections = ImportRejection.objects.filter(run_id=report.run_id).order_by("id")
    answer = (
        report.counts(),
        report.rejections,
        list(events),
        list(stored_rejections.values_list("position", "field", "reason", "record")),
    )
    transaction.savepoint_rollback(savepoint)
    return answer


@pytest.mark.parametrize("batch_size", [5000, 7], ids=["one-batch", "batches-of-7"])
def test_the_server_checks_give_the_same_answer_as_record_by_record(
    practice, monkeypatch, batch_size
):
    monkeypatch.setattr(feed_import, "BATCH_SIZE", batch_size)
    record_by_record = _import(monkeypatch, on_server=False)
    on_server = _import(monkeypatch, on_server=True)

    counts, rejections, events, stored_rejections = on_server
    assert counts == record_by_record[0]
    assert rejections == record_by_record[1]
    assert events == record_by_record[2]
    assert stored_rejections == record_by_record[3]
    # The file does hold every kind of outcome.
    assert counts["created"] > 20 and counts["rejected"] > 30 and counts["unchanged"] >= 2
    assert {r.field for r in rejections} >= {
        "occurred_at",
        "type",
        "channel",
        "amount",
        "score",
        "due_date",
        "event_id",
        "patient_external_id",
        "object_id",
        "reply_to",
        "appointment_type",
    }


def test_a_clean_file_is_checked_on_the_server_not_record_by_record(practice, monkeypatch):
    read_one_by_one = []
    parse_event = feed.parse_event

    def counting_parse_event(raw):
        read_one_by_one.append(raw)
        return parse_event(raw)

    monkeypatch.setattr(feed_import, "parse_event", counting_parse_event)
    lines = [",".join(EVENT_FIELDS)] + [
        ",".join(_row(f"c{n}", f"MRN-{1 + n % 2}", at=f"2026-01-{10 + n % 9}T09:05:00Z"))
        for n in range(40)
    ]
    clean = "\n".join(lines) + "\n"

    report = events_import(event_rows(io.BytesIO(clean.encode())), source=EventSource.FEED_CSV)

    assert (report.created, report.rejected) == (40, 0)
    assert read_one_by_one == []
    assert ActivityEvent.objects.filter(event_id__startswith="c").count() == 40


def _clean_file(count: int, *, prefix: str = "c", patients=("MRN-1", "MRN-2")) -> bytes:
    lines = [",".join(EVENT_FIELDS)] + [
        ",".join(
            _row(f"{prefix}{n}", patients[n % len(patients)], at=f"2026-01-{10 + n % 9}T09:05:00Z")
        )
        for n in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def _statements_used(monkeypatch) -> list[str]:
    """Which insert wrote each staged batch: 'new' (the lean one) or 'whole'."""
    used = []
    for name, label in (("staged_new_insert", "new"), ("staged_events_insert", "whole")):
        original = getattr(feed_staging, name)

        def spy(*args, _original=original, _label=label, **kwargs):
            used.append(_label)
            return _original(*args, **kwargs)

        monkeypatch.setattr(feed_staging, name, spy)
    return used


def test_batches_of_new_events_are_written_without_looking_up_their_event_ids(
    practice, monkeypatch
):
    monkeypatch.setattr(feed_import, "BATCH_SIZE", 10)
    used = _statements_used(monkeypatch)

    report = events_import(event_rows(io.BytesIO(_clean_file(25))), source=EventSource.FEED_CSV)

    assert (report.created, report.unchanged, report.rejected) == (25, 0, 0)
    assert used == ["new", "new", "new"]
    assert ActivityEvent.objects.filter(event_id__startswith="c").count() == 25


def test_a_batch_repeating_an_event_id_is_judged_whole_and_stored_ones_after_the_rest(
    practice, monkeypatch
):
    monkeypatch.setattr(feed_import, "BATCH_SIZE", 10)
    events_import(event_rows(io.BytesIO(_clean_file(5))), source=EventSource.FEED_CSV)
    used = _statements_used(monkeypatch)
    # c0..c4 stored by the first import, c5..c9 new in the same batch; c10..c19
    # new; the third batch repeats c25.
    text = _clean_file(30).decode().splitlines(keepends=True)
    text.insert(27, text[26].replace("09:05:00Z", "09:06:00Z"))

    report = events_import(
        event_rows(io.BytesIO("".join(text).encode())), source=EventSource.FEED_CSV
    )

    assert used == ["new", "whole", "new", "whole", "new"]
    assert (report.created, report.unchanged, report.rejected) == (25, 5, 1)
    assert report.rejections[0].field == "event_id"
    assert "appears earlier (at 27)" in report.rejections[0].reason
    assert ActivityEvent.objects.filter(event_id__startswith="c").count() == 30
    assert EventKey.objects.filter(event_id__startswith="c").count() == 30


@pytest.mark.parametrize("batch_size", [5000, 3], ids=["one-batch", "batches-of-3"])
def test_new_events_of_a_patient_not_on_the_roster_are_refused_as_record_by_record(
    practice, monkeypatch, batch_size
):
    monkeypatch.setattr(feed_import, "BATCH_SIZE", batch_size)
    file = _clean_file(8, prefix="u", patients=("MRN-1", "MRN-404", "MRN-2", "MRN-405"))

    def answer(on_server):
        monkeypatch.setattr(feed_import, "_checks_on_server", lambda: on_server)
        savepoint = transaction.savepoint()
        report = events_import(event_rows(io.BytesIO(file)), source=EventSource.FEED_CSV)
        stored = sorted(ActivityEvent.objects.values_list("event_id", "patient__external_id"))
        transaction.savepoint_rollback(savepoint)
        return report.counts(), report.rejections, stored

    used = _statements_used(monkeypatch)
    on_server = answer(True)

    assert set(used) == {"new"}
    assert on_server == answer(False)
    counts, rejections, _stored = on_server
    assert (counts["created"], counts["rejected"]) == (4, 4)
    assert [r.position for r in rejections] == [3, 5, 7, 9]
    assert "MRN-404" in rejections[0].reason and "not on the roster" in rejections[0].reason


@pytest.mark.parametrize("on_server", [False, True], ids=["record-by-record", "on-the-server"])
def test_an_event_sent_three_times_in_one_file_is_stored_once_and_counted_unchanged_twice(
    practice, monkeypatch, on_server
):
    monkeypatch.setattr(feed_import, "_checks_on_server", lambda: on_server)
    header, c0, c1, c2 = _clean_file(3).decode().splitlines(keepends=True)
    file = "".join([header, c0, c1, c2, c1, c1]).encode()

    report = events_import(event_rows(io.BytesIO(file)), source=EventSource.FEED_CSV)

    assert report.counts() == {
        "received": 5,
        "created": 3,
        "updated": 0,
        "unchanged": 2,
        "rejected": 0,
    }
    assert ActivityEvent.objects.filter(event_id="c1").count() == 1


def test_an_event_id_another_writer_stored_is_judged_and_the_rest_of_the_batch_written(
    practice,
):
    # Nothing looks the batch's event_ids up before writing: c3, stored by another
    # writer (for another patient) before or while the batch is written, is found
    # as the batch's keys are written, and judged like any stored event.
    mrn1 = practice[0]
    ActivityEvent.objects.create(
        event_id="c3",
        patient=mrn1,
        type="login",
        channel="portal",
        occurred_at=dt.datetime(2026, 1, 13, 9, 5, tzinfo=dt.UTC),
        source=EventSource.FEED_CSV,
    )

    report = events_import(event_rows(io.BytesIO(_clean_file(6))), source=EventSource.FEED_CSV)

    assert (report.created, report.unchanged, report.rejected) == (5, 0, 1)
    assert report.rejections[0].position == 5
    assert "c3" in report.rejections[0].reason
    assert "patient_external_id" in report.rejections[0].reason
    assert ActivityEvent.objects.get(event_id="c3").patient == mrn1
    assert ActivityEvent.objects.filter(event_id__in=["c0", "c1", "c2", "c4", "c5"]).count() == 5
    assert ImportRun.objects.get().status == ImportStatus.COMPLETED


def test_records_the_server_cannot_vouch_for_but_the_reader_accepts_are_imported(
    practice, monkeypatch
):
    """The server's checks may be stricter than the reader, never more lenient: what
    it leaves unsure is read record by record and, when good, staged and written."""
    check = feed_staging.stage_unsure

    def unsure_of_every_record():
        _ordinals, all_new = check()
        return list(range(4)), all_new

    monkeypatch.setattr(feed_staging, "stage_unsure", unsure_of_every_record)

    report = events_import(event_rows(io.BytesIO(_clean_file(4))), source=EventSource.FEED_CSV)

    assert (report.received, report.created, report.rejected) == (4, 4, 0)
    assert sorted(
        ActivityEvent.objects.filter(event_id__startswith="c").values_list("event_id", flat=True)
    ) == ["c0", "c1", "c2", "c3"]


def test_after_an_import_another_writer_repeating_an_event_id_is_still_refused(practice):
    # The key trigger stands aside only for the import's own statement: back in
    # the same transaction, a repeated event_id is a unique violation again.
    events_import(event_rows(io.BytesIO(_clean_file(2))), source=EventSource.FEED_CSV)

    with pytest.raises(IntegrityError), transaction.atomic():
        ActivityEvent.objects.create(
            event_id="c0",
            patient=practice[1],
            type="login",
            channel="portal",
            occurred_at=dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC),
            source=EventSource.FEED_API,
        )

    assert ActivityEvent.objects.filter(event_id="c0").count() == 1
