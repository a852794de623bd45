"""Hostile records through every way in: each is refused alone, the rest of the batch is stored.

Every date field of every record kind is checked against its window
(portal_adoption/dates.py, patients.rules.DATE_WINDOWS), and a NUL or a lone
surrogate in any field is a per-record error, through CSV, REST and FHIR.
"""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from patients.feed import EVENT_FIELDS, PATIENT_FIELDS
from patients.feed_import import ImportReport, _RejectionSink, events_import, import_run_start
from patients.models import (
    ActivityEvent,
    EventSource,
    ImportKind,
    ImportRejection,
    Patient,
)
from patients.rules import DATE_WINDOWS, FieldError
from tests.factories import PatientFactory
from tests.patients.feed_ways import (
    FHIR_DATE_FIELDS,
    FHIR_EVENT_FIELDS,
    FHIR_FIELDS_BY_KIND,
    FHIR_PATIENT_FIELDS,
    GOOD_EVENTS,
    WAYS,
    error_fields,
    good_appointment,
    good_patient,
    good_statement,
    send_events,
    send_patients,
)


def _days_from_today(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _moment_from_now(days: int) -> str:
    return (timezone.now() + dt.timedelta(days=days)).isoformat(timespec="seconds")


# (field, a value outside its window) for every date and time the feed takes.
OUT_OF_WINDOW = [
    ("birth_date", "0001-01-01"),
    ("birth_date", "9999-12-31"),
    ("birth_date", "1899-12-31"),
    ("registered_on", "0001-01-01"),
    ("registered_on", "9999-12-31"),
    ("deactivated_on", "0001-01-01"),
    ("deactivated_on", "9999-12-31"),
    ("occurred_at", "0001-01-01T00:00:00+14:00"),
    ("occurred_at", "9999-12-31T23:59:59-12:00"),
    ("occurred_at", "1899-12-31T23:59:59+00:00"),
    ("due_date", "0001-01-01"),
    ("due_date", "9999-12-31"),
    ("due_date", "1899-12-31"),
    ("due_date", "2200-01-01"),
]
# Windows that move with the clock: tomorrow's birth, an event three days ahead.
# Named, and worked out when the test runs: an id made of the time would differ
# between two collections (pytest-xdist workers must collect the same tests).
OUT_OF_WINDOW_TODAY = [
    ("birth_date", "tomorrow", lambda: _days_from_today(1)),
    ("occurred_at", "three-days-ahead", lambda: _moment_from_now(3)),
]


def test_every_date_field_of_the_feed_is_tested_against_its_window():
    tested = {field for field, *_value in OUT_OF_WINDOW + OUT_OF_WINDOW_TODAY}
    assert tested == set(DATE_WINDOWS)


def _skip_if_fhir_cannot_carry(way: str, field: str, fhir_fields: set[str]) -> None:
    if way == "fhir" and field not in fhir_fields:
        pytest.skip(
            f"the FHIR mapping takes no {field} as text (patients/fhir.py): it is absent, "
            "or read from a code whose unknown values are left empty"
        )


def _refused_alone(answer: dict, field: str, *, window_start: str | None = "1900-01-01"):
    assert (answer["created"], answer["rejected"]) == (1, 1), answer
    assert field in error_fields(answer), answer["errors"]
    if window_start:
        reasons = " ".join(e["reason"] for e in answer["errors"] if e["field"] == field)
        assert field in reasons and window_start in reasons


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("field", "value"),
    OUT_OF_WINDOW
    + [
        pytest.param(field, make, id=f"{field}-{label}")
        for field, label, make in OUT_OF_WINDOW_TODAY
    ],
)
def test_a_date_outside_its_window_is_refused_alone_through_every_way(manager, way, field, value):
    value = value() if callable(value) else value
    if field in PATIENT_FIELDS:
        _skip_if_fhir_cannot_carry(way, field, FHIR_PATIENT_FIELDS)
        bad = good_patient("MRN-BAD") | {field: value}
        answer = send_patients(way, [good_patient("MRN-OK"), bad], manager)
        assert list(Patient.objects.values_list("external_id", flat=True)) == ["MRN-OK"]
    else:
        _skip_if_fhir_cannot_carry(way, field, FHIR_EVENT_FIELDS | FHIR_DATE_FIELDS)
        PatientFactory(external_id="MRN-7")
        # A due date only a statement carries.
        good = good_statement if field == "due_date" else good_appointment
        bad = good("MRN-7", "bad") | {field: value}
        answer = send_events(way, [good("MRN-7", "ok"), bad], manager)
        assert [
            e.split("/")[-1] for e in ActivityEvent.objects.values_list("event_id", flat=True)
        ] == ["ok"]
    _refused_alone(answer, field)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("kind", ["visit", "statement"])
@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1899-12-31T23:59:59Z"]
)
def test_a_visit_or_statement_time_outside_its_window_is_refused_alone(manager, way, kind, value):
    PatientFactory(external_id="MRN-7")
    good = GOOD_EVENTS[kind]
    bad = good("MRN-7", "bad") | {"occurred_at": value}

    answer = send_events(way, [good("MRN-7", "ok"), bad], manager)

    _refused_alone(answer, "occurred_at")
    assert list(ActivityEvent.objects.values_list("event_id", flat=True)) == [
        good("MRN-7", "ok")["event_id"]
    ]


@pytest.mark.parametrize("way", WAYS)
def test_dates_at_the_edges_of_their_windows_are_accepted(manager, way):
    patient = good_patient("MRN-EDGE") | {"birth_date": "1900-01-01", "registered_on": "1900-01-01"}
    patient["birth_date"] = "1900-01-01"
    answer = send_patients(way, [patient], manager)
    assert (answer["created"], answer["rejected"]) == (1, 0), answer
    soon = (timezone.now() + dt.timedelta(hours=20)).isoformat(timespec="seconds")
    events = [
        good_appointment("MRN-EDGE", "ap-1900") | {"occurred_at": "1900-01-01T00:00:00Z"},
        good_appointment("MRN-EDGE", "ap-soon") | {"occurred_at": soon},
    ]
    answer = send_events(way, events, manager)
    assert (answer["created"], answer["rejected"]) == (2, 0), answer
    statements = [
        good_statement("MRN-EDGE", "st-1900") | {"due_date": "1900-01-01"},
        good_statement("MRN-EDGE", "st-2199") | {"due_date": "2199-12-31"},
    ]
    answer = send_events(way, statements, manager)
    assert (answer["created"], answer["rejected"]) == (2, 0), answer
    assert sorted(
        ActivityEvent.objects.values_list("due_date", flat=True).exclude(due_date=None)
    ) == [
        dt.date(1900, 1, 1),
        dt.date(2199, 12, 31),
    ]


HOSTILE = {"nul": "\x00", "lone surrogate": "\ud800"}


def _with_hostile(record: dict, field: str, bad: str) -> dict:
    return record | {field: f"{record.get(field) or 'x'}{bad}"}


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("bad", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", PATIENT_FIELDS)
def test_a_nul_or_lone_surrogate_in_any_patient_field_rejects_only_that_record(
    manager, way, bad, field
):
    _skip_if_fhir_cannot_carry(way, field, FHIR_PATIENT_FIELDS)
    hostile = _with_hostile(good_patient("MRN-BAD"), field, bad)
    answer = send_patients(way, [good_patient("MRN-OK"), hostile], manager)
    _refused_alone(answer, field, window_start=None)
    assert list(Patient.objects.values_list("external_id", flat=True)) == ["MRN-OK"]
    assert "\x00" not in str(answer) and "\ud800" not in str(answer)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("bad", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", EVENT_FIELDS)
@pytest.mark.parametrize("kind", GOOD_EVENTS)
def test_a_nul_or_lone_surrogate_in_any_event_field_rejects_only_that_record(
    manager, kind, way, bad, field
):
    _skip_if_fhir_cannot_carry(way, field, FHIR_FIELDS_BY_KIND[kind])
    PatientFactory(external_id="MRN-7")
    good = GOOD_EVENTS[kind]
    if way == "fhir" and kind == "appointment" and field in ("event_id", "object_id"):
        # Both are the Appointment's id in FHIR.
        hostile = good("MRN-7", f"ap-bad{bad}")
    else:
        hostile = _with_hostile(good("MRN-7", "ap-bad"), field, bad)
    answer = send_events(way, [good("MRN-7", "ap-ok"), hostile], manager)
    _refused_alone(answer, field, window_start=None)
    assert list(ActivityEvent.objects.values_list("event_id", flat=True)) == [
        good("MRN-7", "ap-ok")["event_id"]
    ]


@pytest.mark.parametrize("bad", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_field_name_with_a_nul_or_lone_surrogate_rejects_only_that_record(manager, bad):
    hostile = good_patient("MRN-BAD") | {f"shoe{bad}size": "42"}
    answer = send_patients("rest", [good_patient("MRN-OK"), hostile], manager)
    assert (answer["created"], answer["rejected"]) == (1, 1)
    assert error_fields(answer) == {"shoe\ufffdsize"}


def test_a_reason_quoting_a_hostile_value_is_answered_and_stored_with_it_replaced(manager):
    PatientFactory(external_id="MRN-7")
    payment = {
        "event_id": "pay-1",
        "patient_external_id": "MRN-7",
        "type": "payment",
        "occurred_at": "2026-01-05T10:00:00Z",
        "channel": "portal",
        "object_id": "pay-1",
        "amount": "12.5\x00\ud800",
    }
    answer = send_events("rest", [payment], manager)
    assert answer["errors"] == [
        {"index": 0, "field": "amount", "reason": answer["errors"][0]["reason"]}
    ]
    assert "“12.5\ufffd\ufffd”" in answer["errors"][0]["reason"]
    stored = ImportRejection.objects.get()
    assert "12.5\ufffd\ufffd" in stored.reason
    assert stored.record["amount"] == "12.5\ufffd\ufffd"


def test_the_windows_follow_the_application_clock(manager, monkeypatch):
    PatientFactory(external_id="MRN-7")
    later = timezone.now() + dt.timedelta(days=3)
    event = good_appointment("MRN-7", "ap-later") | {"occurred_at": later.isoformat()}
    assert send_events("rest", [event], manager)["rejected"] == 1

    monkeypatch.setattr(timezone, "now", lambda: later)

    assert send_events("rest", [event], manager)["created"] == 1


def test_a_bundle_with_hostile_resource_types_and_skipped_values_answers_its_counts(manager):
    client = APIClient()
    client.force_authenticate(manager)
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "Observation\x00\ud800", "id": "o1"}},
            {"resource": {"resourceType": "Appointment", "id": "a1", "created": "2026\ud800"}},
        ],
    }

    response = client.post(
        reverse("api_fhir_bundle"), json.dumps(bundle), content_type="application/fhir+json"
    )

    assert response.status_code == 200
    answer = response.json()
    assert answer["skipped"] == 2
    assert "\ud800" not in str(answer) and "\x00" not in str(answer)
    assert {entry["resource_type"] for entry in answer["skipped_entries"]} == {
        "Observation\ufffd\ufffd",
        "Appointment",
    }


def test_a_bundle_whose_resource_type_is_hostile_is_refused_with_400(manager):
    client = APIClient()
    client.force_authenticate(manager)

    response = client.post(
        reverse("api_fhir_bundle"),
        json.dumps({"resourceType": "Bundle\ud800"}),
        content_type="application/fhir+json",
    )

    assert response.status_code == 400
    assert "Bundle\ufffd" in response.json()["detail"]


# --- What a refused record keeps (found by mutation testing) -----------------------------


def test_a_refused_record_is_kept_with_each_value_as_json_can_hold_it(manager):
    """Numbers stay numbers, null stays null; infinity and nested values become text."""
    raw = {
        "event_id": "e-odd",
        "patient_external_id": "MRN-NOBODY",
        "type": "payment",
        "occurred_at": "2026-01-08T10:00:00-05:00",
        "channel": 7,
        "amount": 45.5,
        "score": float("inf"),
        "object_id": {"nested": [1, 2]},
        "reply_to": None,
        "is_test": True,
    }

    events_import([(1, raw)], source=EventSource.FEED_API, user=manager)

    # One rejection per field in error, each with the whole record.
    stored = list(ImportRejection.objects.values_list("record", flat=True))
    assert len(stored) > 1
    assert stored == [stored[0]] * len(stored)
    assert stored[0] == raw | {"score": "inf", "object_id": "{'nested': [1, 2]}"}


def test_a_rejection_naming_a_very_long_field_path_keeps_its_first_64_characters(manager):
    run = import_run_start(kind=ImportKind.EVENTS, source=EventSource.FEED_API, user=manager)
    report = ImportReport()
    sink = _RejectionSink(report, run)
    path = "entry[12].resource.extension[3].valueQuantity.extension[0].value.code"
    assert len(path) > 64 and path[64] != " "

    sink.reject(5, [FieldError(path, "not a known code")], {"x": 1})
    sink.flush()

    assert ImportRejection.objects.get().field == path[:64]
