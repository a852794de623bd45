"""A manager imports the roster and the portal's events from CSV files."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from patients import feed_import
from patients.feed_csv import event_rows, patient_rows
from patients.feed_import import FeedFileInvalid, events_import, patients_import
from patients.models import ActivityEvent, EventSource, ImportRun, Patient
from tests.factories import LocationFactory, ProviderFactory
from tests.patients.feed_files import EVENTS, EVENTS_HEADER, PATIENTS_HEADER, ROSTER, as_bytes


@pytest.fixture
def practice(db):
    north = LocationFactory(code="NORTH", name="North Clinic")
    LocationFactory(code="SOUTH", name="South Clinic")
    ProviderFactory(code="DRLEE", npi="1234567893", name="Dr. Lee", location=north)


def import_patients_text(text: str):
    return patients_import(patient_rows(io.BytesIO(as_bytes(text))), source=EventSource.FEED_CSV)


def import_events_text(text: str):
    return events_import(event_rows(io.BytesIO(as_bytes(text))), source=EventSource.FEED_CSV)


def reasons(report) -> list[tuple[int, str]]:
    return [(r.position, r.field) for r in report.rejections]


def test_a_roster_file_adds_patients_with_normalized_contacts(practice):
    report = import_patients_text(ROSTER)
    assert report.counts() == {
        "received": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    rosa = Patient.objects.get(external_id="MRN-1")
    assert rosa.mobile_phone == "+12025550143"
    assert (rosa.location.code, rosa.primary_provider.code) == ("NORTH", "DRLEE")
    assert rosa.preferred_language == "es"
    assert Patient.objects.get(external_id="MRN-3").deactivated_on == dt.date(2026, 1, 31)


def test_an_events_file_adds_every_event_with_its_details(practice):
    import_patients_text(ROSTER)
    report = import_events_text(EVENTS)
    assert (report.created, report.rejected) == (7, 0)
    reply = ActivityEvent.objects.get(event_id="e5")
    assert (reply.object_id, reply.reply_to) == ("m-101", "m-100")
    assert ActivityEvent.objects.get(event_id="e6").amount == Decimal("45.50")
    assert ActivityEvent.objects.get(event_id="e7").score == 5
    login = ActivityEvent.objects.get(event_id="e3")
    assert login.occurred_at == dt.datetime(2026, 1, 6, 20, 15, tzinfo=dt.UTC)
    assert login.source == EventSource.FEED_CSV


def test_sending_the_same_files_twice_changes_nothing_and_says_so(practice):
    import_patients_text(ROSTER)
    import_events_text(EVENTS)
    again_patients = import_patients_text(ROSTER)
    again_events = import_events_text(EVENTS)
    assert (again_patients.unchanged, again_patients.created, again_patients.updated) == (3, 0, 0)
    assert (again_events.unchanged, again_events.created) == (7, 0)
    assert ActivityEvent.objects.count() == 7


def test_a_changed_event_with_a_known_id_is_a_conflict_and_the_stored_one_stays(practice):
    import_patients_text(ROSTER)
    import_events_text(EVENTS)
    changed = EVENTS.replace("pay-9,,45.50", "pay-9,,99.00")
    report = import_events_text(changed)
    assert (report.unchanged, report.rejected) == (6, 1)
    [conflict] = report.rejections
    assert (conflict.position, conflict.field) == (7, "event_id")
    assert "conflict" in conflict.reason and "amount" in conflict.reason
    assert ActivityEvent.objects.get(event_id="e6").amount == Decimal("45.50")


def test_a_resend_after_fixing_bad_lines_adds_only_what_is_new(practice):
    import_patients_text(ROSTER)
    broken = EVENTS.replace("2026-01-08T10:00:00-05:00", "2026-01-08T10:00:00")
    first = import_events_text(broken)
    assert (first.created, first.rejected) == (6, 1)
    second = import_events_text(EVENTS)
    assert (second.created, second.unchanged, second.rejected) == (1, 6, 0)


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("x1,MRN-1,fax_received,2026-01-05T09:00:00-05:00,other,,,,", "type", "Unknown event type"),
        ("x2,MRN-1,login,2026-01-05T09:00:00,portal,,,,", "occurred_at", "offset"),
        ("x3,MRN-1,payment,2026-01-05T09:00:00Z,portal,p1,,-5.00,", "amount", "positive"),
        ("x4,MRN-1,survey_response,2026-01-05T09:00:00Z,portal,s1,,,6", "score", "1 to 5"),
        ("x5,MRN-404,login,2026-01-05T09:00:00Z,portal,,,,", "patient_external_id", "roster"),
        ("x6,MRN-1,login,2026-01-05T09:00:00Z,fax,,,,", "channel", "not valid"),
        ("x7,MRN-1,payment,2026-01-05T09:00:00Z,portal,p1,,12.345,", "amount", "25.00"),
        ("x8,MRN-1,login,not-a-time,portal,,,,", "occurred_at", "not a time"),
    ],
)
def test_each_bad_event_is_reported_with_its_line_field_and_reason(practice, line, field, words):
    import_patients_text(ROSTER)
    report = import_events_text(
        "\n".join([EVENTS_HEADER, "ok1,MRN-1,login,2026-01-05T09:00:00Z,portal,,,,", line])
    )
    assert (report.created, report.rejected) == (1, 1)
    [rejection] = report.rejections
    assert (rejection.position, rejection.field) == (3, field)
    assert words in rejection.reason


def test_a_repeated_event_id_inside_one_file_is_reported_unless_identical(practice):
    import_patients_text(ROSTER)
    text = "\n".join(
        [
            EVENTS_HEADER,
            "d1,MRN-1,login,2026-01-05T09:00:00Z,portal,,,,",
            "d1,MRN-1,login,2026-01-05T09:00:00Z,portal,,,,",
            "d1,MRN-1,login,2026-01-05T10:00:00Z,portal,,,,",
        ]
    )
    report = import_events_text(text)
    assert (report.created, report.unchanged, report.rejected) == (1, 1, 1)
    assert report.rejections[0].position == 4
    assert "appears earlier (at 2)" in report.rejections[0].reason


def test_a_repeated_patient_in_one_file_updates_the_first(practice):
    text = "\n".join(
        [
            PATIENTS_HEADER,
            "MRN-9,Lee,Park,1980-01-01,,,,NORTH,,2020-01-01,",
            "MRN-9,Lee,Park,1980-01-01,,,,SOUTH,,2020-01-01,",
        ]
    )
    report = import_patients_text(text)
    assert (report.created, report.updated) == (1, 1)
    assert Patient.objects.get(external_id="MRN-9").location.code == "SOUTH"


def test_a_roster_update_moves_a_patient_and_takes_them_off_the_panel(practice):
    import_patients_text(ROSTER)
    moved = ROSTER.replace(
        "MRN-2,Tom,Baker,1990-11-30,,,en,NORTH,,2021-07-15,",
        "MRN-2,Tom,Baker,1990-11-30,,,en,SOUTH,,2021-07-15,2026-02-28",
    )
    report = import_patients_text(moved)
    assert (report.updated, report.unchanged) == (1, 2)
    tom = Patient.objects.get(external_id="MRN-2")
    assert (tom.location.code, tom.deactivated_on) == ("SOUTH", dt.date(2026, 2, 28))


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("P1,Al,Bo,1980-02-30,,,,,,2020-01-01,", "birth_date"),
        ("P2,Al,Bo,1980-02-03,not-an-email,,,,,2020-01-01,", "email"),
        ("P3,Al,Bo,1980-02-03,,12,,,,2020-01-01,", "mobile_phone"),
        ("P4,Al,Bo,1980-02-03,,,,MARS,,2020-01-01,", "location"),
        ("P5,Al,Bo,1980-02-03,,,,,DRWHO,2020-01-01,", "primary_provider"),
        ("P6,,Bo,1980-02-03,,,,,,2020-01-01,", "given_name"),
        ("P7,Al,Bo,1980-02-03,,,,,,,", "registered_on"),
        ("P8,Al,Bo,1980-02-03,,,,,,2020-01-01,2019-01-01", "deactivated_on"),
        ("P9,Al,Bo,1980-02-03,,,english please,,,2020-01-01,", "preferred_language"),
    ],
)
def test_each_bad_patient_is_reported_and_the_good_ones_are_kept(practice, line, field):
    report = import_patients_text(
        "\n".join([PATIENTS_HEADER, "OK,Al,Bo,1980-02-03,,,,,,2020-01-01,", line])
    )
    assert (report.created, report.rejected) == (1, 1)
    assert report.rejections[0].field == field
    assert Patient.objects.filter(external_id="OK").exists()


def test_a_provider_can_be_named_by_npi(practice):
    import_patients_text(
        "\n".join([PATIENTS_HEADER, "N1,Al,Bo,1980-02-03,,,,,1234567893,2020-01-01,"])
    )
    assert Patient.objects.get(external_id="N1").primary_provider.code == "DRLEE"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "The file is empty"),
        (b"external_id,given_name\nA,B\n", "required columns missing"),
        (as_bytes(PATIENTS_HEADER + ",shoe_size"), "unknown columns: shoe_size"),
        (b"external_id,given_name,family\xff\xfe_name\nA,B\n", "not UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(practice, content, words):
    with pytest.raises(FeedFileInvalid, match=words):
        patients_import(patient_rows(io.BytesIO(content)), source=EventSource.FEED_CSV)
    assert not Patient.objects.exists()
    assert ImportRun.objects.get().status == "failed"


def test_a_file_refused_whole_is_on_record_with_when_it_failed_and_why(practice):
    before = timezone.now()

    with pytest.raises(FeedFileInvalid):
        patients_import(patient_rows(io.BytesIO(b"")), source=EventSource.FEED_CSV)

    run = ImportRun.objects.get()
    assert run.status == "failed" and "The file is empty" in run.failure
    assert run.finished_at is not None
    assert before <= run.finished_at <= timezone.now()


def test_a_roster_read_in_several_batches_reports_every_patient(practice, monkeypatch):
    monkeypatch.setattr(feed_import, "BATCH_SIZE", 2)  # three patients: a batch of 2, then 1

    report = import_patients_text(ROSTER)

    assert (report.received, report.created, report.rejected) == (3, 3, 0)
    assert ImportRun.objects.get().created == 3
    assert Patient.objects.count() == 3


def test_a_line_with_the_wrong_number_of_values_is_rejected_alone(practice):
    text = "\n".join(
        [PATIENTS_HEADER, "A,Ann,Lee,1980-01-01,,,,,,2020-01-01,", "B,Bob,Lee,1980-01-01"]
    )
    report = import_patients_text(text)
    assert (report.created, report.rejected) == (1, 1)
    assert (report.rejections[0].position, report.rejections[0].field) == (3, "line")


def test_a_file_with_a_byte_order_mark_and_windows_line_ends_is_read(practice):
    content = ("\ufeff" + ROSTER.replace("\n", "\r\n") + "\r\n").encode()
    report = patients_import(patient_rows(io.BytesIO(content)), source=EventSource.FEED_CSV)
    assert report.created == 3


def test_a_failure_in_the_middle_of_an_import_leaves_the_database_as_before(practice, monkeypatch):
    import_patients_text(ROSTER)
    monkeypatch.setattr(feed_import, "BATCH_SIZE", 2)
    writes = []
    real_writer = feed_import._event_writer

    def failing_writer(source):
        write = real_writer(source)

        def write_then_fail(rows):
            write(rows)
            writes.append(len(rows))
            if len(writes) == 2:
                raise RuntimeError("disk full")

        return write_then_fail

    monkeypatch.setattr(feed_import, "_event_writer", failing_writer)
    with pytest.raises(RuntimeError):
        import_events_text(EVENTS)
    assert writes == [2, 2]  # two batches reached the table before the failure...
    assert not ActivityEvent.objects.exists()  # ...and both were rolled back
    run = ImportRun.objects.filter(kind="events").get()
    assert (run.status, run.failure) == ("failed", "RuntimeError")


def test_import_events_command_prints_counts_and_every_rejection(practice, tmp_path, capsys):
    import_patients_text(ROSTER)
    path = tmp_path / "events.csv"
    path.write_bytes(as_bytes(EVENTS.replace("2026-01-08T10:00:00-05:00", "2026-01-08")))
    with pytest.raises(CommandError) as failed:
        call_command("import_events", str(path))
    assert failed.value.returncode == 1
    out, err = capsys.readouterr()
    assert "received 7, created 6, updated 0, unchanged 0, rejected 1" in out
    assert "line 7: occurred_at:" in err


def test_import_patients_command_succeeds_quietly_on_a_clean_file(practice, tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_bytes(as_bytes(ROSTER))
    call_command("import_patients", str(path))
    out, err = capsys.readouterr()
    assert "received 3, created 3" in out
    assert err == ""


def test_a_roster_imported_by_the_command_is_listed_under_its_file_name(
    practice, tmp_path, client, manager
):
    path = tmp_path / "roster-2026-01.csv"
    path.write_bytes(as_bytes(ROSTER))

    call_command("import_patients", str(path), stdout=io.StringIO())

    run = ImportRun.objects.get()
    assert run.file_name == "roster-2026-01.csv"
    client.force_login(manager)
    page = client.get(reverse("patients:import_detail", args=[run.pk])).content.decode()
    assert "roster-2026-01.csv" in page
