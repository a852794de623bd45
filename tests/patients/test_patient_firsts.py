"""Each patient's firsts (first invitation, activation, login, app install, message),
kept as imports and the application write events, and what the dashboard reads."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from metrics.compute import month_figures
from patients.feed_csv import event_rows, patient_rows
from patients.feed_import import events_import, patients_import
from patients.models import ActivityEvent, Channel, EventSource, EventType, Patient, PatientFirsts
from patients.rules import EventData
from patients.services import event_record
from tests.factories import LocationFactory, PatientFactory, ProviderFactory
from tests.patients.feed_files import EVENTS, EVENTS_HEADER, ROSTER, as_bytes

UTC = dt.UTC


@pytest.fixture
def practice(db):
    north = LocationFactory(code="NORTH", name="North Clinic")
    LocationFactory(code="SOUTH", name="South Clinic")
    ProviderFactory(code="DRLEE", npi="1234567893", name="Dr. Lee", location=north)
    patients_import(patient_rows(io.BytesIO(as_bytes(ROSTER))), source=EventSource.FEED_CSV)


def import_events(*lines: str):
    text = "\n".join([EVENTS_HEADER, *lines])
    return events_import(event_rows(io.BytesIO(as_bytes(text))), source=EventSource.FEED_CSV)


def firsts_of(external_id: str) -> PatientFirsts:
    return PatientFirsts.objects.get(patient__external_id=external_id)


def stored_firsts() -> list[tuple]:
    return list(
        PatientFirsts.objects.order_by("patient_id").values_list(
            "patient_id", "invited_at", "activated_at", "login_at", "app_installed_at", "message_at"
        )
    )


def test_an_events_file_keeps_each_patients_firsts(practice):
    # On PostgreSQL the file goes in by COPY; elsewhere by bulk inserts.
    import_events(EVENTS.split("\n", 1)[1])
    rosa = firsts_of("MRN-1")
    assert rosa.invited_at == dt.datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    assert rosa.activated_at == dt.datetime(2026, 1, 5, 14, 10, tzinfo=UTC)
    assert rosa.login_at == dt.datetime(2026, 1, 6, 20, 15, tzinfo=UTC)
    assert rosa.message_at == dt.datetime(2026, 1, 6, 20, 20, tzinfo=UTC)
    assert rosa.app_installed_at is None
    # Tom only paid and answered a survey: nothing adoption counts, no row.
    assert not PatientFirsts.objects.filter(patient__external_id="MRN-2").exists()


def test_a_later_file_with_an_earlier_activation_moves_the_first_back_and_a_later_one_does_not(
    practice,
):
    import_events("a2,MRN-1,portal_activated,2026-02-01T10:00:00Z,portal,,,,")
    import_events(
        "a1,MRN-1,portal_activated,2025-11-20T10:00:00Z,portal,,,,",
        "a3,MRN-1,portal_activated,2026-03-01T10:00:00Z,portal,,,,",
        "i1,MRN-1,app_installed,2026-03-02T10:00:00Z,app,,,,",
    )
    rosa = firsts_of("MRN-1")
    assert rosa.activated_at == dt.datetime(2025, 11, 20, 10, tzinfo=UTC)
    assert rosa.app_installed_at == dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
    # The same file again changes nothing.
    import_events("a0,MRN-1,portal_activated,2026-04-01T10:00:00Z,portal,,,,")
    assert firsts_of("MRN-1").activated_at == dt.datetime(2025, 11, 20, 10, tzinfo=UTC)


def test_an_activation_recorded_by_the_application_is_the_patients_first(db):
    patient = PatientFactory()
    when = dt.datetime(2026, 1, 14, 14, 5, tzinfo=UTC)
    data = EventData(
        event_id="desk-1",
        patient_external_id=patient.external_id,
        type=EventType.PORTAL_ACTIVATED,
        occurred_at=when,
        channel=Channel.FRONT_DESK,
    )
    assert event_record(patient=patient, data=data).created
    assert PatientFirsts.objects.get(patient=patient).activated_at == when


def test_rebuilding_the_firsts_gives_what_the_imports_kept_and_ignores_year_one(practice):
    import_events(
        EVENTS.split("\n", 1)[1],
        "x1,MRN-2,login,2025-12-30T10:00:00Z,app,,,,",
        "x2,MRN-2,app_installed,2025-12-31T10:00:00Z,app,,,,",
    )
    kept = stored_firsts()
    # A row stored before the feed checked times (written around it): not evidence.
    ActivityEvent.objects.create(
        event_id="old-1",
        patient=Patient.objects.get(external_id="MRN-2"),
        type=EventType.PORTAL_ACTIVATED,
        occurred_at=dt.datetime(1, 1, 1, tzinfo=UTC),
        source=EventSource.FEED_CSV,
    )
    PatientFirsts.objects.all().delete()
    out = io.StringIO()
    call_command("rebuild_patient_firsts", stdout=out)
    assert stored_firsts() == kept
    assert firsts_of("MRN-2").activated_at is None
    assert "2 patients" in out.getvalue()


def test_the_dashboards_enrollment_figures_come_from_the_firsts(practice):
    import_events(
        "a1,MRN-1,portal_activated,2021-05-01T10:00:00Z,portal,,,,",
        "l1,MRN-1,login,2026-01-10T15:00:00Z,app,,,,",
        "a2,MRN-2,portal_activated,2026-01-12T15:00:00Z,portal,,,,",
    )
    january = month_figures(dt.date(2026, 1, 1))
    assert (january["enrolled"], january["new_enrollments"], january["active_users"]) == (2, 1, 1)
    # Years of history are not read again: without Rosa's firsts she is not enrolled.
    PatientFirsts.objects.filter(patient__external_id="MRN-1").delete()
    assert month_figures(dt.date(2026, 1, 1))["enrolled"] == 1


def test_the_demo_practice_keeps_the_firsts_its_events_give(db):
    call_command(
        "demo_data",
        "--patients=60",
        "--months=3",
        "--seed=7",
        "--until=2026-01-31",
        stdout=io.StringIO(),
    )
    kept = stored_firsts()
    assert kept
    call_command("rebuild_patient_firsts", stdout=io.StringIO())
    assert stored_firsts() == kept
