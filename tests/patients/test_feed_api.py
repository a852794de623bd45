"""An integration engine pushes the roster and events to the REST feed."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from patients.models import ActivityEvent, EventSource, ImportRun, Patient
from portal_adoption.models import AccessLogEntry
from portal_adoption.services import integration_token_create, integration_token_revoke

ROSA = {
    "external_id": "MRN-1",
    "given_name": "Rosa",
    "family_name": "Delgado",
    "birth_date": "1958-04-02",
    "registered_on": "2019-03-01",
    "mobile_phone": "202-555-0143",
}
LOGIN = {
    "event_id": "api-e1",
    "patient_external_id": "MRN-1",
    "type": "login",
    "occurred_at": "2026-01-06T20:15:00Z",
    "channel": "app",
}


@pytest.fixture
def token(db):
    return integration_token_create(name="Epic interface engine", created_by=None)


@pytest.fixture
def engine(token):
    _token, key = token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def push(client, name, records):
    return client.post(reverse(name), {"records": records}, format="json")


def test_an_integration_pushes_patients_then_events_with_its_key(engine):
    patients = push(engine, "api_patients_bulk", [ROSA])
    events = push(engine, "api_events_bulk", [LOGIN, {**LOGIN, "event_id": "api-e2"}])
    assert patients.status_code == 200
    assert patients.json() == {
        "received": 1,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "errors": [],
    }
    assert events.json()["created"] == 2
    assert ActivityEvent.objects.filter(source=EventSource.FEED_API).count() == 2
    assert Patient.objects.get().mobile_phone == "+12025550143"


def test_the_import_is_recorded_under_the_integrations_service_account(engine, token):
    push(engine, "api_patients_bulk", [ROSA])
    run = ImportRun.objects.get()
    assert run.started_by == token[0].account
    assert (run.source, run.created) == (EventSource.FEED_API, 1)


def test_a_pushed_roster_is_listed_by_its_way_in_not_by_a_file_name(engine, client, manager):
    push(engine, "api_patients_bulk", [ROSA])

    run = ImportRun.objects.get()
    assert run.file_name == ""
    client.force_login(manager)
    page = client.get(reverse("patients:import_detail", args=[run.pk])).content.decode()
    assert "API feed ·" in page


def test_bad_records_are_answered_by_index_field_and_reason(engine):
    push(engine, "api_patients_bulk", [ROSA])
    response = push(
        engine,
        "api_events_bulk",
        [
            LOGIN,
            {**LOGIN, "event_id": "api-e2", "occurred_at": "2026-01-06T20:15:00"},
            {**LOGIN, "event_id": "api-e3", "type": "payment", "object_id": "p", "amount": -3},
            {**LOGIN, "event_id": "api-e4", "patient_external_id": "MRN-404"},
            "not an object",
            {**LOGIN, "event_id": "api-e5", "favourite_colour": "blue"},
        ],
    )
    body = response.json()
    assert (body["received"], body["created"], body["rejected"]) == (6, 1, 5)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "occurred_at"),
        (2, "amount"),
        (3, "patient_external_id"),
        (4, "record"),
        (5, "favourite_colour"),
    ]


def test_the_same_request_twice_changes_nothing(engine):
    push(engine, "api_patients_bulk", [ROSA])
    push(engine, "api_events_bulk", [LOGIN])
    again = push(engine, "api_events_bulk", [LOGIN]).json()
    assert (again["created"], again["unchanged"]) == (0, 1)


def test_json_numbers_are_accepted_for_amounts_and_scores(engine):
    push(engine, "api_patients_bulk", [ROSA])
    response = push(
        engine,
        "api_events_bulk",
        [
            {
                **LOGIN,
                "event_id": "p1",
                "type": "payment",
                "channel": "portal",
                "object_id": "inv-1",
                "amount": 12.5,
            },
            {
                **LOGIN,
                "event_id": "s1",
                "type": "survey_response",
                "channel": "portal",
                "object_id": "sv-1",
                "score": 4,
            },
        ],
    )
    assert response.json()["created"] == 2


def test_more_than_5000_records_in_one_request_is_refused_with_413(engine, settings):
    settings.FEED_MAX_RECORDS = 3
    response = push(engine, "api_events_bulk", [LOGIN] * 4)
    assert response.status_code == 413
    assert "at most 3" in response.json()["detail"]
    assert not ActivityEvent.objects.exists()


def test_an_oversized_body_is_refused_with_413_before_it_is_read(engine, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    settings.FEED_MAX_REQUEST_MB = 0
    response = push(engine, "api_patients_bulk", [ROSA, ROSA, ROSA])
    assert response.status_code == 413


@pytest.mark.parametrize("body", [[], {"patients": []}, {"records": "MRN-1"}])
def test_a_body_that_is_not_a_records_list_gets_400_naming_records(engine, body):
    response = engine.post(reverse("api_events_bulk"), body, format="json")
    assert response.status_code == 400
    assert "records" in response.json()


def test_a_revoked_key_is_refused_at_once(engine, token):
    integration_token_revoke(token=token[0])
    response = push(engine, "api_patients_bulk", [ROSA])
    assert response.status_code == 401
    assert not Patient.objects.exists()


def test_an_unknown_key_is_refused_and_logged(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer pam_made-up")
    response = push(client, "api_patients_bulk", [ROSA])
    assert response.status_code == 401
    assert AccessLogEntry.objects.filter(outcome="denied").count() == 1


def test_an_integration_key_cannot_read_patient_records(engine):
    push(engine, "api_patients_bulk", [ROSA])
    patient = Patient.objects.get()
    response = engine.get(reverse("api_patient_detail", kwargs={"pk": patient.pk}))
    assert response.status_code == 403


def test_a_front_desk_clerk_cannot_import(front_desk_clerk):
    client = APIClient()
    client.force_authenticate(front_desk_clerk)
    assert push(client, "api_patients_bulk", [ROSA]).status_code == 403


def test_a_manager_can_push_records_from_a_signed_in_session(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("api_patients_bulk"), {"records": [ROSA]}, content_type="application/json"
    )
    assert response.status_code == 200


def test_using_a_key_notes_when_it_was_last_used(engine, token):
    push(engine, "api_patients_bulk", [ROSA])
    token[0].refresh_from_db()
    assert timezone.now() - token[0].last_used_at < timezone.timedelta(minutes=1)


def test_only_a_hash_of_the_key_is_stored(token):
    stored, key = token
    assert key.startswith("pam_")
    assert key not in (stored.key_hash, stored.key_prefix)
    assert stored.key_prefix in key


def test_the_openapi_schema_documents_the_feed_and_the_integration_key(client, manager):
    client.force_login(manager)
    schema = client.get(reverse("api_schema"), HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/patients/bulk/" in schema
    assert "/api/v1/events/bulk/" in schema
    assert "integrationKey" in schema


def test_a_message_answered_by_phone_is_stored_with_the_message_it_answers(engine):
    push(engine, "api_patients_bulk", [ROSA])
    call = {
        "event_id": "api-call-1",
        "patient_external_id": "MRN-1",
        "type": "response_by_phone",
        "occurred_at": "2026-01-06T20:15:00Z",
        "channel": "phone",
        "object_id": "call-77",
        "reply_to": "msg-12",
    }
    answer = push(
        engine, "api_events_bulk", [call, {**call, "event_id": "api-call-2", "channel": "portal"}]
    )
    assert answer.json()["created"] == 1
    assert answer.json()["errors"][0]["field"] == "channel"
    stored = ActivityEvent.objects.get(event_id="api-call-1")
    assert (stored.type, stored.reply_to) == ("response_by_phone", "msg-12")


def test_reply_to_on_an_inbound_phone_call_is_refused(engine):
    push(engine, "api_patients_bulk", [ROSA])
    call = {**LOGIN, "event_id": "api-c", "type": "phone_call", "channel": "phone", "reply_to": "m"}
    answer = push(engine, "api_events_bulk", [call]).json()
    assert answer["rejected"] == 1
    assert answer["errors"][0]["field"] == "reply_to"
    assert "response_by_phone" in answer["errors"][0]["reason"]
