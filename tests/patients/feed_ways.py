"""Send the same records by CSV, by the REST bulk API and as a FHIR Bundle, and read the answer.

Every way answers like the REST API does: counts, and errors by position,
field and reason. The CSV way writes the records as a file would hold them:
a NUL as a NUL byte, a lone surrogate as the bytes that encode it (ED A0 80),
which are not UTF-8.
"""

import io
import json

from django.urls import reverse
from rest_framework.test import APIClient

from patients.api import import_answer
from patients.feed import EVENT_FIELDS, PATIENT_FIELDS
from patients.feed_csv import event_rows, patient_rows
from patients.feed_import import events_import, patients_import
from patients.models import EventSource

WAYS = ("csv", "rest", "fhir")

# The fields a FHIR Bundle can carry (patients/fhir.py); the others have no place in FHIR.
FHIR_PATIENT_FIELDS = {
    "external_id",
    "given_name",
    "family_name",
    "birth_date",
    "email",
    "mobile_phone",
    "preferred_language",
    "registered_on",
}
# An Appointment's id is both the event's object_id and (as "Appointment/<id>") its event_id.
FHIR_EVENT_FIELDS = {"event_id", "object_id", "patient_external_id", "occurred_at", "channel"}
# The event fields each kind of good record carries through FHIR as text: an Encounter's and
# an Invoice's object_id is their identifier[0].value, apart from the id in their event_id;
# an Invoice's amount is totalGross.value. due_date is paymentTerms only when that is a
# date, so a value that is no date is no due date in FHIR (not carried as text), while a
# date outside its window is carried and refused (FHIR_DATE_FIELDS).
FHIR_FIELDS_BY_KIND = {
    "appointment": FHIR_EVENT_FIELDS,
    "visit": FHIR_EVENT_FIELDS,
    "statement": FHIR_EVENT_FIELDS | {"amount"},
}
FHIR_DATE_FIELDS = {"occurred_at", "due_date"}


def good_patient(mrn: str) -> dict:
    return {
        "external_id": mrn,
        "given_name": "Rosa",
        "family_name": "Delgado",
        "birth_date": "1958-04-02",
        "email": "rosa@example.org",
        "mobile_phone": "+12025550143",
        "preferred_language": "es",
        "registered_on": "2019-03-01",
    }


def good_appointment(mrn: str, appointment: str) -> dict:
    return {
        "event_id": f"Appointment/{appointment}",
        "patient_external_id": mrn,
        "type": "appointment_booked",
        "occurred_at": "2026-01-05T21:40:00-05:00",
        "channel": "portal",
        "object_id": appointment,
    }


def good_visit(mrn: str, visit: str) -> dict:
    return {
        "event_id": f"Encounter/{visit}",
        "patient_external_id": mrn,
        "type": "visit_completed",
        "occurred_at": "2026-01-05T11:20:00-05:00",
        "channel": "front_desk",
        "object_id": f"enc-{visit}",
    }


def good_statement(mrn: str, statement: str) -> dict:
    return {
        "event_id": f"Invoice/{statement}",
        "patient_external_id": mrn,
        "type": "statement_issued",
        "occurred_at": "2026-01-05T08:00:00-05:00",
        "channel": "mail",
        "object_id": f"st-{statement}",
        "amount": "120.00",
        "due_date": "2026-02-15",
    }


# Each kind of event record, as its three ways carry it.
GOOD_EVENTS = {
    "appointment": good_appointment,
    "visit": good_visit,
    "statement": good_statement,
}


def send_patients(way: str, records: list[dict], user) -> dict:
    return _SENDERS[way]("patients", records, user)


def send_events(way: str, records: list[dict], user) -> dict:
    return _SENDERS[way]("events", records, user)


def _by_csv(kind: str, records: list[dict], user) -> dict:
    fields = PATIENT_FIELDS if kind == "patients" else EVENT_FIELDS
    header = [name for name in fields if any(name in record for record in records)]
    lines = [",".join(header)] + [",".join(r.get(name, "") for name in header) for r in records]
    content = ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")
    rows, importer = (
        (patient_rows, patients_import) if kind == "patients" else (event_rows, events_import)
    )
    report = importer(rows(io.BytesIO(content)), source=EventSource.FEED_CSV)
    answer = import_answer(report)
    for error in answer["errors"]:
        error["index"] -= 2  # line 1 is the header: line 2 is the first record
    return answer


def _by_rest(kind: str, records: list[dict], user) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    name = "api_patients_bulk" if kind == "patients" else "api_events_bulk"
    # json.dumps writes a lone surrogate as the escape \ud800, as a sender's JSON would.
    body = json.dumps({"records": records})
    response = client.post(reverse(name), body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _by_fhir(kind: str, records: list[dict], user) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    resources = [
        _patient_resource(n, record) if kind == "patients" else event_resource(record)
        for n, record in enumerate(records)
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": r} for r in resources],
    }
    response = client.post(
        reverse("api_fhir_bundle"), json.dumps(bundle), content_type="application/fhir+json"
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["skipped"] == 0, answer["skipped_entries"]
    return answer


def _patient_resource(n: int, record: dict) -> dict:
    unmapped = set(record) - FHIR_PATIENT_FIELDS
    assert not unmapped, f"FHIR carries no {unmapped}"
    resource = {
        "resourceType": "Patient",
        "id": f"p{n}",
        "identifier": [{"value": record["external_id"]}],
        "name": [{"family": record["family_name"], "given": [record["given_name"]]}],
        "birthDate": record["birth_date"],
        "telecom": [
            {"system": "email", "value": record["email"]},
            {"system": "phone", "use": "mobile", "value": record["mobile_phone"]},
        ],
        "communication": [{"language": {"coding": [{"code": record["preferred_language"]}]}}],
    }
    if "registered_on" in record:
        resource["extension"] = [
            {"url": "https://example.org/fhir/registered-on", "valueDate": record["registered_on"]}
        ]
    return resource


def event_resource(record: dict) -> dict:
    maker = {
        "statement_issued": _invoice_resource,
        "visit_completed": _encounter_resource,
    }.get(record.get("type"), _appointment_resource)
    return maker(record)


def _id_of(record: dict, resource_type: str) -> str:
    event_id = record["event_id"]
    assert event_id.startswith(f"{resource_type}/"), "FHIR makes the event_id from the id"
    return event_id.removeprefix(f"{resource_type}/")


def _subject(record: dict) -> dict:
    return {"type": "Patient", "identifier": {"value": record["patient_external_id"]}}


def _channel_extension(record: dict) -> list:
    return [{"url": "https://example.org/fhir/channel", "valueCode": record["channel"]}]


def _encounter_resource(record: dict) -> dict:
    unmapped = set(record) - FHIR_FIELDS_BY_KIND["visit"] - {"type"}
    assert not unmapped, f"FHIR carries no {unmapped}"
    return {
        "resourceType": "Encounter",
        "id": _id_of(record, "Encounter"),
        "identifier": [{"value": record["object_id"]}],
        "status": "finished",
        "subject": _subject(record),
        "period": {"end": record["occurred_at"]},
        "extension": _channel_extension(record),
    }


def _invoice_resource(record: dict) -> dict:
    unmapped = set(record) - FHIR_FIELDS_BY_KIND["statement"] - {"type", "due_date"}
    assert not unmapped, f"FHIR carries no {unmapped}"
    resource = {
        "resourceType": "Invoice",
        "id": _id_of(record, "Invoice"),
        "identifier": [{"value": record["object_id"]}],
        "status": "issued",
        "subject": _subject(record),
        "date": record["occurred_at"],
        "totalGross": {"value": record.get("amount"), "currency": "USD"},
        "extension": _channel_extension(record),
    }
    if record.get("due_date"):
        resource["paymentTerms"] = record["due_date"]
    return resource


def _appointment_resource(record: dict) -> dict:
    # appointment_type travels as appointmentType's code, but FHIR leaves a code it does
    # not know unmapped rather than refusing it: it is not in FHIR_EVENT_FIELDS.
    unmapped = set(record) - FHIR_EVENT_FIELDS - {"type", "appointment_type"}
    assert not unmapped, f"FHIR carries no {unmapped}"
    resource_id = record["object_id"]
    assert record["event_id"] == f"Appointment/{resource_id}", "FHIR makes one from the other"
    resource = _appointment(record, resource_id)
    if record.get("appointment_type"):
        resource["appointmentType"] = {"coding": [{"code": record["appointment_type"]}]}
    return resource


def _appointment(record: dict, resource_id: str) -> dict:
    return {
        "resourceType": "Appointment",
        "id": resource_id,
        "status": "booked",
        "created": record["occurred_at"],
        "participant": [
            {
                "actor": {
                    "type": "Patient",
                    "identifier": {"value": record["patient_external_id"]},
                }
            }
        ],
        "extension": [
            {"url": "https://example.org/fhir/booking-channel", "valueCode": record["channel"]}
        ],
    }


_SENDERS = {"csv": _by_csv, "rest": _by_rest, "fhir": _by_fhir}


def error_fields(answer: dict) -> set[str]:
    return {error["field"] for error in answer["errors"]}
