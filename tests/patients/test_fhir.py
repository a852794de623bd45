"""An EHR that speaks FHIR sends Bundles: patients and events appear, the rest is skipped."""

import datetime as dt
import io
import json
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from patients.feed_import import FeedFileInvalid
from patients.fhir import fhir_import
from patients.models import ActivityEvent, ImportRun, ImportStatus, Patient
from tests.factories import PatientFactory, ProviderFactory

pytestmark = pytest.mark.django_db

SYNTHEA = "https://github.com/synthetichealth/synthea"
ROSA = "0b9d8c58-6a3f-4d3e-9d56-1f1f0b6c5e01"
HUGO = "5c3a1e2f-2b7d-4f7a-8e0c-9a4d6b2f7e02"
PORTAL_SOURCE = "https://portal.riverside.example/scheduling"


# --- Bundles, Synthea style ------------------------------------------------------


def entry(resource: dict, full_url: str | None = None) -> dict:
    full_url = full_url or f"urn:uuid:{resource.get('id') or uuid.uuid4()}"
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def bundle(*entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def patient_resource(synthea_id: str, given=("Rosa",), family="Delgado", **fields) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": synthea_id,
        "identifier": [
            {"system": SYNTHEA, "value": synthea_id},
            {
                "type": {"coding": [{"code": "MR"}]},
                "system": "http://hospital.smarthealthit.org",
                "value": synthea_id,
            },
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-41-5280"},
        ],
        "name": [{"use": "official", "family": family, "given": list(given), "prefix": ["Ms."]}],
        "telecom": [{"system": "phone", "value": "555-314-1592", "use": "home"}],
        "gender": "female",
        "birthDate": "1970-05-17",
        "address": [{"city": "Springfield", "state": "MA"}],
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}}
        ],
    }
    return resource | fields


def appointment(appointment_id: str, patient_ref: str, **fields) -> dict:
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": "booked",
        "created": "2026-01-14T09:05:00-05:00",
        "start": "2026-01-20T10:00:00-05:00",
        "participant": [
            {"actor": {"reference": "Practitioner/dr-patel"}, "status": "accepted"},
            {"actor": {"reference": patient_ref}, "status": "accepted"},
        ],
    } | fields


def communication(message_id: str, **fields) -> dict:
    return {
        "resourceType": "Communication",
        "id": message_id,
        "status": "completed",
        "sent": "2026-01-15T08:30:00-05:00",
        "payload": [{"contentString": "Can I get a refill?"}],
    } | fields


def diagnostic_report(report_id: str, subject_ref: str, **fields) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": report_id,
        "status": "final",
        "subject": {"reference": subject_ref},
        "effectiveDateTime": "2026-01-16T07:00:00-05:00",
        "issued": "2026-01-16T11:52:19.171-05:00",
    } | fields


def clinical(resource_type: str, patient_ref: str) -> dict:
    """An Encounter, Observation, Claim…: not part of the feed."""
    return {
        "resourceType": resource_type,
        "id": str(uuid.uuid4()),
        "status": "final",
        "subject": {"reference": patient_ref},
    }


def rosa(**fields) -> dict:
    return entry(patient_resource(ROSA, **fields))


def hugo() -> dict:
    return entry(patient_resource(HUGO, given=("Hugo", "Maria"), family="Brandt"))


def skipped_at(report, index: int) -> dict:
    return next(s for s in report.skipped_entries if s["index"] == index)


def reasons(report) -> list[tuple[int, str, str]]:
    return [(r.position, r.field, r.reason) for r in report.rejections]


# --- Patients and events --------------------------------------------------------


def everything() -> dict:
    """What an EHR's nightly export looks like: two patients, their events, clinical data."""
    return bundle(
        rosa(
            telecom=[
                {"system": "phone", "value": "555-314-1592", "use": "home"},
                {"system": "phone", "value": "(202) 555-0143", "use": "mobile"},
                {"system": "email", "value": "Rosa.Delgado@Example.org"},
            ],
            communication=[{"language": {"coding": [{"code": "es"}], "text": "Spanish"}}],
        ),
        hugo(),
        entry(clinical("Encounter", f"urn:uuid:{ROSA}")),
        entry(appointment("appt-1", f"urn:uuid:{ROSA}", meta={"source": PORTAL_SOURCE})),
        entry(communication("msg-1", sender={"reference": f"urn:uuid:{ROSA}"})),
        entry(
            communication(
                "msg-2",
                sender={"reference": "Practitioner/dr-patel"},
                recipient=[{"reference": f"urn:uuid:{ROSA}"}],
                inResponseTo=[{"reference": "Communication/msg-1"}],
                sent="2026-01-15T10:00:00-05:00",
            )
        ),
        entry(clinical("Observation", f"urn:uuid:{HUGO}")),
        entry(diagnostic_report("lab-1", f"urn:uuid:{HUGO}")),
        entry(clinical("Claim", f"urn:uuid:{HUGO}")),
    )


def test_an_ehr_sends_a_bundle_and_patients_and_events_appear(manager):
    report = fhir_import(everything(), user=manager, file_name="export.json")

    assert report.counts() == {
        "received": 6,
        "created": 6,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    assert report.skipped == 3
    rosa_row = Patient.objects.get(external_id=ROSA)
    assert (rosa_row.given_name, rosa_row.family_name) == ("Rosa", "Delgado")
    assert rosa_row.birth_date == dt.date(1970, 5, 17)
    assert (rosa_row.mobile_phone, rosa_row.email) == ("+12025550143", "Rosa.Delgado@example.org")
    assert rosa_row.preferred_language == "es"
    hugo_row = Patient.objects.get(external_id=HUGO)
    assert (hugo_row.given_name, hugo_row.mobile_phone) == ("Hugo Maria", "")
    events = {
        e.event_id: (e.type, e.patient.external_id, e.channel, e.object_id, e.reply_to)
        for e in ActivityEvent.objects.select_related("patient")
    }
    assert events == {
        "Appointment/appt-1": ("appointment_booked", ROSA, "portal", "appt-1", ""),
        "Communication/msg-1": ("message_from_patient", ROSA, "portal", "msg-1", ""),
        "Communication/msg-2": ("message_to_patient", ROSA, "portal", "msg-2", "msg-1"),
        "DiagnosticReport/lab-1": ("result_released", HUGO, "", "lab-1", ""),
    }
    assert ActivityEvent.objects.get(event_id="DiagnosticReport/lab-1").source == "feed_fhir"
    run = ImportRun.objects.get(pk=report.run_id)
    assert (run.kind, run.status, run.skipped, run.started_by) == ("fhir", "completed", 3, manager)


def test_sending_the_same_bundle_twice_changes_nothing():
    fhir_import(everything())
    again = fhir_import(everything())

    assert again.counts() == {
        "received": 6,
        "created": 0,
        "updated": 0,
        "unchanged": 6,
        "rejected": 0,
    }
    assert (Patient.objects.count(), ActivityEvent.objects.count()) == (2, 4)


def test_entries_of_other_types_are_counted_as_skipped_by_type():
    report = fhir_import(
        bundle(
            rosa(),
            *[entry(clinical("Observation", f"urn:uuid:{ROSA}")) for _ in range(3)],
            *[entry(clinical("Procedure", f"urn:uuid:{ROSA}")) for _ in range(2)],
            entry(clinical("Claim", f"urn:uuid:{ROSA}")),
        )
    )

    assert report.skipped == 6
    by_type = {s["resource_type"]: s for s in report.skipped_entries}
    assert {t: (s["index"], s["count"]) for t, s in by_type.items()} == {
        "Observation": (None, 3),
        "Procedure": (None, 2),
        "Claim": (None, 1),
    }
    assert "Observation is not part of the activity feed" in by_type["Observation"]["reason"]
    assert report.created == 1


def test_an_appointment_without_created_is_skipped_with_the_reason():
    without_created = appointment("appt-1", f"urn:uuid:{ROSA}")
    del without_created["created"]
    report = fhir_import(
        bundle(
            rosa(),
            entry(without_created),
            entry(appointment("appt-2", f"urn:uuid:{ROSA}", created="2026-01-14")),
        )
    )

    assert report.skipped == 2
    assert skipped_at(report, 1)["resource_type"] == "Appointment"
    assert "has no created" in skipped_at(report, 1)["reason"]
    assert "date without a time" in skipped_at(report, 2)["reason"]
    assert not ActivityEvent.objects.exists()
    assert report.created == 1  # the patient: a skipped entry never fails the Bundle


def test_an_appointment_channel_comes_from_its_extension_else_the_portal_else_other():
    phoned = appointment(
        "appt-phone",
        f"urn:uuid:{ROSA}",
        extension=[{"url": "https://riverside.example/fhir/booking-channel", "valueCode": "phone"}],
        meta={"source": PORTAL_SOURCE},  # the extension says more than the source system
    )
    fhir_import(
        bundle(
            rosa(),
            entry(phoned),
            entry(appointment("appt-portal", f"urn:uuid:{ROSA}", meta={"source": "MyPORTAL"})),
            entry(appointment("appt-ehr", f"urn:uuid:{ROSA}", meta={"source": "epic-cadence"})),
        )
    )

    assert dict(ActivityEvent.objects.values_list("object_id", "channel")) == {
        "appt-phone": "phone",
        "appt-portal": "portal",
        "appt-ehr": "other",
    }


def test_an_appointment_channel_the_feed_does_not_know_is_rejected_not_replaced():
    faxed = appointment(
        "appt-fax",
        f"urn:uuid:{ROSA}",
        extension=[{"url": "https://riverside.example/channel", "valueString": "fax"}],
    )
    report = fhir_import(bundle(rosa(), entry(faxed)))

    assert [(index, field) for index, field, _reason in reasons(report)] == [(1, "channel")]
    assert not ActivityEvent.objects.exists()


def test_a_communication_from_the_patient_is_a_message_from_patient():
    from_app = communication(
        "msg-app",
        sender={"reference": f"Patient/{ROSA}"},
        recipient=[{"reference": "Practitioner/dr-patel"}],
        medium=[{"coding": [{"code": "app"}]}],
    )
    fhir_import(bundle(rosa(), entry(from_app)))

    message = ActivityEvent.objects.get()
    assert (message.type, message.channel, message.object_id) == (
        "message_from_patient",
        "app",
        "msg-app",
    )
    assert message.occurred_at == dt.datetime(2026, 1, 15, 13, 30, tzinfo=dt.UTC)


def test_a_communication_naming_no_patient_is_skipped_with_the_reason():
    between_staff = communication(
        "msg-staff",
        sender={"reference": "Practitioner/dr-patel"},
        recipient=[{"reference": "Practitioner/nurse-nora"}],
    )
    unsent = communication("msg-draft", sender={"reference": f"urn:uuid:{ROSA}"})
    del unsent["sent"]
    report = fhir_import(bundle(rosa(), entry(between_staff), entry(unsent)))

    assert "names no Patient as sender or recipient" in skipped_at(report, 1)["reason"]
    assert "has no sent" in skipped_at(report, 2)["reason"]
    assert not ActivityEvent.objects.exists()


def test_an_event_for_a_patient_outside_the_bundle_needs_an_identifier(patient):
    by_identifier = diagnostic_report(
        "lab-rosa", "Patient/ehr-991", subject={"identifier": {"value": "MRN-ROSA"}}
    )
    conditional = appointment("appt-rosa", f"Patient?identifier={SYNTHEA}%7CMRN-ROSA")
    unknowable = diagnostic_report("lab-who", "urn:uuid:4d6c0f5e-0000-4000-8000-000000000000")
    report = fhir_import(bundle(entry(by_identifier), entry(conditional), entry(unknowable)))

    assert set(ActivityEvent.objects.values_list("event_id", "patient__external_id")) == {
        ("DiagnosticReport/lab-rosa", "MRN-ROSA"),
        ("Appointment/appt-rosa", "MRN-ROSA"),
    }
    assert "Patient that cannot be identified" in skipped_at(report, 2)["reason"]


def test_an_event_for_a_patient_not_on_the_roster_is_rejected_with_the_entry_index():
    stranger = diagnostic_report("lab-x", "Patient/x", subject={"identifier": {"value": "MRN-NEW"}})
    report = fhir_import(bundle(entry(stranger)))

    [(index, field, reason)] = reasons(report)
    assert (index, field) == (0, "patient_external_id")
    assert "not on the roster" in reason


def test_a_time_without_offset_is_rejected_with_the_entry_index():
    report = fhir_import(
        bundle(
            rosa(),
            entry(clinical("Observation", f"urn:uuid:{ROSA}")),
            entry(appointment("appt-1", f"urn:uuid:{ROSA}", created="2026-01-14T09:05:00")),
            entry(diagnostic_report("lab-1", f"urn:uuid:{ROSA}")),
        )
    )

    [(index, field, reason)] = reasons(report)
    assert (index, field) == (2, "occurred_at")
    assert "no time zone offset" in reason
    assert (report.created, report.rejected) == (2, 1)  # the patient and the lab result


def test_an_entry_without_a_resource_or_entered_in_error_is_skipped():
    report = fhir_import(
        bundle(
            rosa(),
            {"request": {"method": "DELETE", "url": "Patient/old"}},
            entry(diagnostic_report("lab-1", f"urn:uuid:{ROSA}", status="entered-in-error")),
        )
    )

    assert "no resource" in skipped_at(report, 1)["reason"]
    assert "entered in error" in skipped_at(report, 2)["reason"]
    assert report.skipped == 2


def test_a_patient_without_an_identifier_is_rejected_and_its_events_skipped():
    anonymous = patient_resource(HUGO)
    del anonymous["identifier"]
    report = fhir_import(
        bundle(entry(anonymous), entry(diagnostic_report("lab-1", f"urn:uuid:{HUGO}")))
    )

    assert [(i, f) for i, f, _reason in reasons(report)] == [(0, "external_id")]
    assert "Patient that cannot be identified" in skipped_at(report, 1)["reason"]
    assert not Patient.objects.exists()


# --- registered_on, and what FHIR does not carry ---------------------------------


def test_registered_on_comes_from_the_extension_else_the_roster_else_the_import_date():
    PatientFactory(external_id=HUGO, registered_on=dt.date(2019, 3, 4))
    joined = {"url": "https://riverside.example/fhir/registered-on", "valueDate": "2021-06-01"}
    fhir_import(bundle(rosa(extension=[joined]), hugo()))
    fhir_import(bundle(entry(patient_resource("new-one"))))

    registered = dict(Patient.objects.values_list("external_id", "registered_on"))
    today = timezone.localdate(timezone=ZoneInfo(settings.PRACTICE_TIME_ZONE))
    assert registered == {
        ROSA: dt.date(2021, 6, 1),
        HUGO: dt.date(2019, 3, 4),
        "new-one": today,
    }


def test_a_patient_already_on_the_roster_keeps_its_clinic_and_provider():
    provider = ProviderFactory()
    known = PatientFactory(
        external_id=ROSA, given_name="Rosa", primary_provider=provider, email="old@example.org"
    )
    clinic = known.location
    report = fhir_import(bundle(rosa()))

    known.refresh_from_db()
    assert report.updated == 1
    assert (known.location, known.primary_provider) == (clinic, provider)
    assert known.email == ""  # the Patient resource is the whole record: it has no email now
    assert known.registered_on == dt.date(2024, 1, 2)


# --- Bundles refused whole -------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"resourceType": "Patient", "id": "x"}, "resourceType is “Patient”"),
        ([{"resourceType": "Bundle"}], "not a FHIR Bundle"),
        ({"resourceType": "Bundle", "entry": {"resource": {}}}, "must be a list"),
    ],
)
def test_a_file_that_is_not_a_bundle_is_refused_whole(document, message):
    with pytest.raises(FeedFileInvalid, match=message):
        fhir_import(document)

    assert not Patient.objects.exists()
    assert ImportRun.objects.get().status == ImportStatus.FAILED


def test_an_empty_bundle_imports_nothing():
    report = fhir_import({"resourceType": "Bundle", "type": "searchset", "total": 0})

    assert (report.received, report.skipped) == (0, 0)


def test_a_bundle_with_thousands_of_clinical_entries_imports_its_few_mapped_ones():
    patients = [str(uuid.uuid4()) for _ in range(40)]
    entries = [entry(patient_resource(p)) for p in patients]
    entries += [entry(clinical("Observation", f"urn:uuid:{p}")) for p in patients * 100]
    entries += [
        entry(diagnostic_report(f"lab-{i}", f"urn:uuid:{p}")) for i, p in enumerate(patients)
    ]
    entries += [entry(appointment(f"appt-{p}", f"urn:uuid:{p}")) for p in patients]
    without_sent = [communication(f"draft-{i}", sender={"reference": "x"}) for i in range(1200)]
    for message in without_sent:
        del message["sent"]
    entries += [entry(message) for message in without_sent]

    report = fhir_import(bundle(*entries))

    assert (report.received, report.created, report.rejected) == (120, 120, 0)
    assert report.skipped == 4000 + 1200
    listed = [s for s in report.skipped_entries if s["index"] is not None]
    counted = {s["resource_type"]: s["count"] for s in report.skipped_entries if s["index"] is None}
    assert len(listed) == 1000  # one by one up to a point, then counted by type and reason
    assert counted == {"Communication": 200, "Observation": 4000}
    assert ActivityEvent.objects.count() == 80


# --- manage.py import_fhir -------------------------------------------------------


def run_command(tmp_path, content: bytes):
    path = tmp_path / "bundle.json"
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_fhir", str(path), stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


def test_import_fhir_command_prints_counts_and_exits_1_on_rejections(tmp_path):
    document = bundle(
        rosa(),
        entry(clinical("Observation", f"urn:uuid:{ROSA}")),
        entry(appointment("appt-1", f"urn:uuid:{ROSA}", created="2026-01-14T09:05:00")),
    )
    out, err, error = run_command(tmp_path, json.dumps(document).encode())

    assert error is not None and error.returncode == 1
    assert "entry 2: occurred_at" in err
    assert "skipped 1 Observation entries" in out
    assert "received 2, created 1, updated 0, unchanged 0, rejected 1, skipped 1 entries" in out


def test_import_fhir_command_succeeds_quietly_on_a_clean_bundle(tmp_path):
    out, err, error = run_command(tmp_path, json.dumps(everything()).encode())

    assert error is None and err == ""
    assert "created 6" in out


def test_import_fhir_command_refuses_a_file_that_is_not_json_and_says_where(tmp_path):
    _out, _err, error = run_command(tmp_path, b'{"resourceType": "Bundle",\n  "entry": [,]}')

    assert error is not None
    assert "line 2, column 13" in str(error)
    assert not Patient.objects.exists()


# --- POST /api/v1/fhir/Bundle ----------------------------------------------------


def post_bundle(client, document, content_type="application/fhir+json"):
    return client.post("/api/v1/fhir/Bundle", json.dumps(document), content_type=content_type)


def test_a_manager_posts_a_bundle_and_gets_the_counts(client, manager):
    client.force_login(manager)
    document = everything()
    document["entry"][3]["resource"]["created"] = "2026-01-14T09:05:00"

    response = post_bundle(client, document)

    assert response.status_code == 200
    answer = response.json()
    assert {k: answer[k] for k in ("received", "created", "rejected", "skipped")} == {
        "received": 6,
        "created": 5,
        "rejected": 1,
        "skipped": 3,
    }
    assert [(e["index"], e["field"]) for e in answer["errors"]] == [(3, "occurred_at")]
    assert {s["resource_type"] for s in answer["skipped_entries"]} == {
        "Encounter",
        "Observation",
        "Claim",
    }
    assert ImportRun.objects.get().started_by == manager


def test_the_front_desk_cannot_post_a_bundle(client, front_desk_clerk):
    client.force_login(front_desk_clerk)

    response = post_bundle(client, everything(), content_type="application/json")

    assert response.status_code == 403
    assert not Patient.objects.exists()


def test_an_anonymous_caller_cannot_post_a_bundle(client):
    assert post_bundle(client, everything()).status_code == 401


def test_posting_something_that_is_not_a_bundle_answers_400(client, manager):
    client.force_login(manager)

    response = post_bundle(client, {"resourceType": "Patient"})

    assert response.status_code == 400
    assert "not a FHIR Bundle" in response.json()["detail"]
