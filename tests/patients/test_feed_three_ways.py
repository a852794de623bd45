"""The same records sent by CSV, by the REST API and as a FHIR Bundle give the same rows."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from patients.feed_csv import event_rows, patient_rows
from patients.feed_import import events_import, patients_import
from patients.fhir import fhir_import
from patients.models import ActivityEvent, EventSource, Patient
from tests.factories import PatientFactory
from tests.patients.feed_files import as_bytes
from tests.patients.feed_ways import error_fields, good_appointment, send_events

PATIENTS = [
    {
        "external_id": "MRN-31",
        "given_name": "Rosa",
        "family_name": "Delgado",
        "birth_date": "1958-04-02",
        "email": "rosa@example.org",
        "mobile_phone": "+12025550143",
        "preferred_language": "es",
        "registered_on": "2019-03-01",
    },
]
EVENTS = [
    {
        "event_id": "Appointment/ap-1",
        "patient_external_id": "MRN-31",
        "type": "appointment_booked",
        "occurred_at": "2026-01-05T21:40:00-05:00",
        "channel": "portal",
        "object_id": "ap-1",
        "appointment_type": "annual_exam",
    },
    {
        "event_id": "Appointment/ap-2",
        "patient_external_id": "MRN-31",
        "type": "appointment_booked",
        "occurred_at": "2026-01-06T09:00:00-05:00",
        "channel": "other",
        "object_id": "ap-2",
        "appointment_type": "follow_up",
    },
    {
        "event_id": "Appointment/ap-3",
        "patient_external_id": "MRN-31",
        "type": "appointment_booked",
        "occurred_at": "2026-01-06T09:30:00-05:00",
        "channel": "portal",
        "object_id": "ap-3",
        "appointment_type": "procedure",
    },
    {
        "event_id": "Appointment/ap-4",
        "patient_external_id": "MRN-31",
        "type": "appointment_booked",
        "occurred_at": "2026-01-06T10:00:00-05:00",
        "channel": "portal",
        "object_id": "ap-4",
    },
    {
        "event_id": "Communication/m-1",
        "patient_external_id": "MRN-31",
        "type": "message_from_patient",
        "occurred_at": "2026-01-06T20:20:00Z",
        "channel": "portal",
        "object_id": "m-1",
    },
    {
        "event_id": "Communication/m-2",
        "patient_external_id": "MRN-31",
        "type": "message_to_patient",
        "occurred_at": "2026-01-07T09:00:00-05:00",
        "channel": "portal",
        "object_id": "m-2",
        "reply_to": "m-1",
    },
    {
        "event_id": "DiagnosticReport/r-1",
        "patient_external_id": "MRN-31",
        "type": "result_released",
        "occurred_at": "2026-01-08T12:00:00-05:00",
        "object_id": "r-1",
    },
    {
        "event_id": "Encounter/enc-1",
        "patient_external_id": "MRN-31",
        "type": "visit_completed",
        "occurred_at": "2026-01-09T10:45:00-05:00",
        "channel": "front_desk",
        "object_id": "V-2026-0001",
    },
    {
        "event_id": "Encounter/enc-2",
        "patient_external_id": "MRN-31",
        "type": "visit_completed",
        "occurred_at": "2026-01-10T16:00:00Z",
        "channel": "other",
        "object_id": "enc-2",
    },
    {
        "event_id": "Invoice/inv-1",
        "patient_external_id": "MRN-31",
        "type": "statement_issued",
        "occurred_at": "2026-01-12T08:00:00-05:00",
        "channel": "mail",
        "object_id": "ST-88",
        "amount": "120.00",
        "due_date": "2026-02-15",
    },
    {
        "event_id": "Invoice/inv-2",
        "patient_external_id": "MRN-31",
        "type": "statement_issued",
        "occurred_at": "2026-01-13T08:00:00-05:00",
        "channel": "portal",
        "object_id": "inv-2",
        "amount": "35.5",
    },
]

PATIENT_REF = {"reference": "urn:uuid:p-31"}
BUNDLE = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {
            "fullUrl": "urn:uuid:p-31",
            "resource": {
                "resourceType": "Patient",
                "id": "p-31",
                "identifier": [{"value": "MRN-31"}],
                "name": [{"family": "Delgado", "given": ["Rosa"]}],
                "birthDate": "1958-04-02",
                "telecom": [
                    {"system": "email", "value": "rosa@example.org"},
                    {"system": "phone", "use": "mobile", "value": "+12025550143"},
                ],
                "communication": [{"language": {"coding": [{"code": "es"}]}}],
                "extension": [
                    {"url": "https://example.org/fhir/registered-on", "valueDate": "2019-03-01"}
                ],
            },
        },
        {
            "resource": {
                "resourceType": "Appointment",
                "id": "ap-1",
                "meta": {"source": "https://portal.example.org"},
                "status": "booked",
                "created": "2026-01-05T21:40:00-05:00",
                "participant": [{"actor": PATIENT_REF}],
                # HL7 v2-0276 ROUTINE: an annual exam.
                "appointmentType": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0276",
                            "code": "ROUTINE",
                        }
                    ]
                },
            }
        },
        {
            "resource": {
                "resourceType": "Appointment",
                "id": "ap-2",
                "status": "booked",
                "created": "2026-01-06T09:00:00-05:00",
                "participant": [{"actor": PATIENT_REF}],
                "appointmentType": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0276",
                            "code": "FOLLOWUP",
                        }
                    ]
                },
            }
        },
        {
            "resource": {
                "resourceType": "Appointment",
                "id": "ap-3",
                "meta": {"source": "https://portal.example.org"},
                "status": "booked",
                "created": "2026-01-06T09:30:00-05:00",
                "participant": [{"actor": PATIENT_REF}],
                # The feed's own vocabulary is taken as it is.
                "appointmentType": {"coding": [{"code": "procedure"}]},
            }
        },
        {
            "resource": {
                "resourceType": "Appointment",
                "id": "ap-4",
                "meta": {"source": "https://portal.example.org"},
                "status": "booked",
                "created": "2026-01-06T10:00:00-05:00",
                "participant": [{"actor": PATIENT_REF}],
            }
        },
        {
            "resource": {
                "resourceType": "Communication",
                "id": "m-1",
                "status": "completed",
                "sent": "2026-01-06T20:20:00Z",
                "sender": PATIENT_REF,
            }
        },
        {
            "resource": {
                "resourceType": "Communication",
                "id": "m-2",
                "status": "completed",
                "sent": "2026-01-07T09:00:00-05:00",
                "recipient": [PATIENT_REF],
                "inResponseTo": [{"reference": "Communication/m-1"}],
            }
        },
        {
            "resource": {
                "resourceType": "DiagnosticReport",
                "id": "r-1",
                "status": "final",
                "issued": "2026-01-08T12:00:00-05:00",
                "subject": PATIENT_REF,
            }
        },
        {
            "resource": {
                "resourceType": "Encounter",
                "id": "enc-1",
                "identifier": [{"system": "https://ehr.example/visits", "value": "V-2026-0001"}],
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": PATIENT_REF,
                "period": {
                    "start": "2026-01-09T10:00:00-05:00",
                    "end": "2026-01-09T10:45:00-05:00",
                },
                "extension": [
                    {"url": "https://example.org/fhir/visit-channel", "valueCode": "front_desk"}
                ],
            }
        },
        {
            "resource": {
                "resourceType": "Encounter",
                "id": "enc-2",
                "status": "finished",
                "subject": PATIENT_REF,
                "period": {"end": "2026-01-10T16:00:00Z"},
            }
        },
        {
            "resource": {
                "resourceType": "Invoice",
                "id": "inv-1",
                "identifier": [{"value": "ST-88"}],
                "status": "issued",
                "subject": PATIENT_REF,
                "date": "2026-01-12T08:00:00-05:00",
                "totalGross": {"value": 120, "currency": "USD"},
                "paymentTerms": "2026-02-15",
                "extension": [
                    {"url": "https://example.org/fhir/statement-channel", "valueCode": "mail"}
                ],
            }
        },
        {
            "resource": {
                "resourceType": "Invoice",
                "id": "inv-2",
                "status": "issued",
                "recipient": PATIENT_REF,
                "date": "2026-01-13T08:00:00-05:00",
                "totalGross": {"value": 35.5, "currency": "USD"},
                "paymentTerms": "Net 30",
                "extension": [
                    {"url": "https://example.org/fhir/statement-channel", "valueCode": "portal"}
                ],
            }
        },
    ],
}


def to_csv(records: list[dict], fields: list[str]) -> io.BytesIO:
    lines = [",".join(fields)] + [",".join(r.get(f, "") for f in fields) for r in records]
    return io.BytesIO(as_bytes("\n".join(lines)))


def by_csv():
    patient_fields = list(PATIENTS[0])
    event_fields = [
        "event_id",
        "patient_external_id",
        "type",
        "occurred_at",
        "channel",
        "object_id",
        "reply_to",
        "appointment_type",
        "amount",
        "due_date",
    ]
    patients_import(patient_rows(to_csv(PATIENTS, patient_fields)), source=EventSource.FEED_CSV)
    events_import(event_rows(to_csv(EVENTS, event_fields)), source=EventSource.FEED_CSV)


def by_api(manager):
    client = APIClient()
    client.force_authenticate(manager)
    for name, records in (("api_patients_bulk", PATIENTS), ("api_events_bulk", EVENTS)):
        response = client.post(reverse(name), {"records": records}, format="json")
        assert response.json()["rejected"] == 0, response.json()


def by_fhir():
    report = fhir_import(BUNDLE)
    assert (report.rejected, report.skipped) == (0, 0), report.rejections


def stored_rows() -> tuple:
    patients = sorted(
        Patient.objects.values_list(
            "external_id",
            "given_name",
            "family_name",
            "birth_date",
            "email",
            "mobile_phone",
            "preferred_language",
            "registered_on",
            "deactivated_on",
            "location",
            "primary_provider",
        )
    )
    events = sorted(
        ActivityEvent.objects.values_list(
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
        )
    )
    return patients, events


class Undo(Exception):
    """Rolls a way in back, so the next one starts from the same empty database."""


def rows_after(feed) -> tuple:
    try:
        with transaction.atomic():
            feed()
            rows = stored_rows()
            raise Undo
    except Undo:
        return rows


def test_csv_api_and_fhir_give_identical_rows_for_the_same_records(manager):
    csv_rows = rows_after(by_csv)
    api_rows = rows_after(lambda: by_api(manager))
    fhir_rows = rows_after(by_fhir)
    assert len(csv_rows[0]) == 1 and len(csv_rows[1]) == 11
    assert csv_rows == api_rows == fhir_rows
    types = {row[0]: row[7] for row in csv_rows[1]}
    assert types["Appointment/ap-1"] == "annual_exam"
    assert types["Appointment/ap-2"] == "follow_up"
    assert types["Appointment/ap-4"] == ""  # the feed did not say
    rows = {row[0]: row for row in csv_rows[1]}
    # (type, channel, object_id, amount, due_date)
    assert {
        key: (*rows[key][2:3], *rows[key][4:6], *rows[key][8:9], rows[key][10])
        for key in (
            "Encounter/enc-1",
            "Encounter/enc-2",
            "Invoice/inv-1",
            "Invoice/inv-2",
        )
    } == {
        "Encounter/enc-1": ("visit_completed", "front_desk", "V-2026-0001", None, None),
        "Encounter/enc-2": ("visit_completed", "other", "enc-2", None, None),
        "Invoice/inv-1": (
            "statement_issued",
            "mail",
            "ST-88",
            Decimal("120.00"),
            dt.date(2026, 2, 15),
        ),
        "Invoice/inv-2": ("statement_issued", "portal", "inv-2", Decimal("35.50"), None),
    }
    assert rows["Encounter/enc-1"][3] == dt.datetime(2026, 1, 9, 15, 45, tzinfo=dt.UTC)


# --- appointment_type: optional, a small vocabulary, refused alone when unknown -------


@pytest.mark.parametrize("way", ["csv", "rest"])
@pytest.mark.parametrize("value", ["annual", "ANNUAL_EXAM", "checkup", "annual exam"])
def test_an_unknown_appointment_type_is_refused_alone_naming_the_field(manager, way, value):
    PatientFactory(external_id="MRN-7")
    good = good_appointment("MRN-7", "ap-ok") | {"appointment_type": "annual_exam"}
    bad = good_appointment("MRN-7", "ap-bad") | {"appointment_type": value}

    answer = send_events(way, [good, bad], manager)

    assert (answer["created"], answer["rejected"]) == (1, 1), answer
    (error,) = answer["errors"]
    assert (error["index"], error["field"]) == (1, "appointment_type")
    assert "annual_exam, follow_up, sick_visit, procedure, other" in error["reason"]
    assert list(ActivityEvent.objects.values_list("object_id", "appointment_type")) == [
        ("ap-ok", "annual_exam")
    ]


@pytest.mark.parametrize("way", ["csv", "rest"])
def test_an_appointment_type_on_another_event_is_refused(manager, way):
    PatientFactory(external_id="MRN-7")
    login = {
        "event_id": "login-1",
        "patient_external_id": "MRN-7",
        "type": "login",
        "occurred_at": "2026-01-05T10:00:00Z",
        "channel": "portal",
        "appointment_type": "annual_exam",
    }

    answer = send_events(way, [login], manager)

    assert answer["rejected"] == 1
    assert error_fields(answer) == {"appointment_type"}
    assert "only for appointment_booked" in answer["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("code", "stored"),
    [
        ("ROUTINE", "annual_exam"),
        ("FOLLOWUP", "follow_up"),
        ("WALKIN", "sick_visit"),
        ("annual_exam", "annual_exam"),
        ("sick_visit", "sick_visit"),
        ("other", "other"),
        ("EMERGENCY", ""),  # another v2-0276 code: a type we do not count
        ("185349003", ""),  # a SNOMED code
        (42, ""),
        (None, ""),
    ],
)
def test_fhir_maps_the_appointment_type_code_or_leaves_it_unknown(manager, code, stored):
    PatientFactory(external_id="MRN-7")
    appointment = {
        "resourceType": "Appointment",
        "id": "ap-9",
        "status": "booked",
        "created": "2026-01-05T10:00:00Z",
        "participant": [{"actor": {"type": "Patient", "identifier": {"value": "MRN-7"}}}],
        "appointmentType": {"coding": [{"code": code}]},
    }

    report = fhir_import({"resourceType": "Bundle", "entry": [{"resource": appointment}]})

    assert (report.created, report.rejected, report.skipped) == (1, 0, 0)
    assert ActivityEvent.objects.get().appointment_type == stored


def test_an_event_sent_again_with_another_appointment_type_is_a_conflict(manager):
    PatientFactory(external_id="MRN-7")
    first = good_appointment("MRN-7", "ap-1") | {"appointment_type": "follow_up"}
    assert send_events("rest", [first], manager)["created"] == 1

    again = send_events("rest", [first | {"appointment_type": "annual_exam"}], manager)

    assert again["rejected"] == 1
    assert "appointment_type" in again["errors"][0]["reason"]
    assert ActivityEvent.objects.get().appointment_type == "follow_up"
    assert send_events("rest", [first], manager)["unchanged"] == 1
