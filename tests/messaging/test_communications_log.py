"""The patient's communications log: what it keeps of a reply, who may read which row,
and the API that keeps the MRN out of URLs.

Who sees which row, role by role, is in tests/portal_adoption/test_role_access.py.
"""

import importlib
import json

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.models import Communication, Message, Queue
from messaging.selectors import may_see, message_sight, messages_visible_to
from messaging.services import Inbound, message_escalate, message_receive, message_reply
from portal_adoption.models import AccessAction, AccessLogEntry
from portal_adoption.roles import Role
from tests.factories import PatientFactory, ProviderFactory, staff


def receive(patient, body, *, subject="Rash on my arm", message_id=None):
    receive.count = getattr(receive, "count", 0) + 1
    inbound = Inbound(
        message_id=message_id or f"log-{receive.count}",
        patient=patient,
        subject=subject,
        body=body,
        sent_at=timezone.now(),
    )
    return message_receive(inbound=inbound)[0]


def staff_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_staff_reply_is_logged_naming_its_message_without_the_patients_subject(nurse, patient):
    message = receive(patient, "the rash is spreading", subject="Rash after the new pills")
    reply = message_reply(message=message, body="Stop the pills and call us.", by=nurse)
    row = Communication.objects.get()
    assert (row.message, row.sent_by, row.body) == (message, nurse, reply.body)
    assert row.subject == ""
    assert (row.channel, row.status, row.sent_at) == ("portal", "sent", reply.sent_at)


def test_the_automatic_red_flag_answer_is_logged_naming_its_message(patient):
    message = receive(patient, "I have chest pain")
    row = Communication.objects.get()
    assert (row.message, row.sent_by, row.job) == (message, None, "red_flag_reply")
    assert "911" in row.body and row.subject == ""


def test_the_page_names_a_reply_without_its_subject(client, nurse, patient):
    message = receive(patient, "the rash is spreading", subject="Rash after the new pills")
    message_reply(message=message, body="Stop the pills.", by=nurse)
    client.force_login(nurse)
    page = client.get(reverse("messaging:patient_communications", args=[patient.pk]))
    html = page.content.decode()
    assert "Reply to the patient's portal message" in html
    assert "Rash after the new pills" not in html


def test_a_reply_row_follows_its_message_when_it_is_escalated(
    client, nurse, provider_user, patient
):
    patient.primary_provider = ProviderFactory(user=provider_user)
    patient.save()
    message = receive(patient, "new pain in my knee")
    message_reply(message=message, body="We will ask the doctor.", by=nurse)
    row = Communication.objects.get()
    assert [c.pk for c in visible(nurse, patient)] == [row.pk]
    assert visible(provider_user, patient) == []
    message_escalate(message=message, note="Imaging?", by=nurse)
    assert visible(nurse, patient) == []
    assert [c.pk for c in visible(provider_user, patient)] == [row.pk]


def visible(user, patient):
    from messaging.selectors import communications_visible_to

    return list(communications_visible_to(user, patient))


# --- One rule for "who may see a message", as a test and as a filter ----------------


@pytest.fixture
def every_kind_of_message(patient, provider_user):
    """A message in each team queue, and on two providers' task lists."""
    own = ProviderFactory(user=provider_user)
    other = ProviderFactory(user=staff("drlee", Role.PROVIDER))
    messages = [
        receive(patient, "the rash is spreading"),
        receive(patient, "I need to reschedule my appointment"),
        receive(patient, "Question about my bill and the copay"),
    ]
    for provider in (own, other):
        message = receive(patient, "new pain in my knee")
        Message.objects.filter(pk=message.pk).update(queue=Queue.PROVIDER, escalated_to=provider)
        messages.append(Message.objects.get(pk=message.pk))
    return messages


def test_the_filter_and_the_check_agree_for_every_role_and_kind_of_message(
    personas, every_kind_of_message
):
    """may_see() and messages_visible_to() are one rule (MessageSight): walk every pair."""
    people = [*personas.values(), staff("newhire")]
    for person in people:
        listed = set(messages_visible_to(person).values_list("pk", flat=True))
        checked = {m.pk for m in every_kind_of_message if may_see(person, m)}
        assert listed == checked, person.username
    assert message_sight(personas[Role.PROVIDER]).provider_id is not None


# --- The API: GET for the contract, POST to keep the MRN out of URLs ----------------


def test_post_with_the_patient_in_the_body_answers_as_get_does(nurse, patient):
    message = receive(patient, "the rash is spreading")
    message_reply(message=message, body="Stop the pills.", by=nurse)
    client = staff_client(nurse)
    url = reverse("api_communications")
    by_get = client.get(url, {"patient": patient.external_id})
    by_post = client.post(url, {"patient": patient.external_id}, format="json")
    assert by_post.status_code == by_get.status_code == 200
    assert by_post.json() == by_get.json()
    assert [row["body"] for row in by_post.json()] == ["Stop the pills."]
    logged = AccessLogEntry.objects.filter(resource="communications", action=AccessAction.VIEW)
    assert [(e.patient, e.path) for e in logged] == [(patient, url), (patient, url)]


@pytest.mark.parametrize(
    "sent",
    [{"patient": "\x00"}, {"patient": "MRN\x00ROSA"}, {"patient": "\ud800"}, {"patient": ""}, {}],
    ids=["nul", "nul-inside", "lone-surrogate", "empty", "missing"],
)
def test_a_hostile_or_missing_patient_is_a_400_naming_the_field(nurse, patient, sent):
    client = staff_client(nurse)
    # json.dumps writes a lone surrogate as the escape \ud800, as a hostile client would.
    raw = json.dumps(sent)
    by_post = client.generic(
        "POST", reverse("api_communications"), raw, content_type="application/json"
    )
    assert by_post.status_code == 400
    assert list(by_post.json()) == ["patient"]


def test_a_nul_byte_in_the_query_string_is_a_400_naming_the_field(nurse, patient):
    response = staff_client(nurse).get(reverse("api_communications") + "?patient=%00")
    assert response.status_code == 400
    assert list(response.json()) == ["patient"]


def test_an_unknown_patient_is_a_400_naming_the_field(nurse, patient):
    response = staff_client(nurse).post(
        reverse("api_communications"), {"patient": "MRN-404"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["patient"]


def test_the_schema_documents_both_ways_and_recommends_post(manager):
    schema = staff_client(manager).get(reverse("api_schema"), {"format": "json"}).json()
    operations = schema["paths"]["/api/v1/communications/"]
    assert operations["get"]["operationId"] == "communications_list"
    assert operations["post"]["operationId"] == "communications_search"
    assert "prefer POST" in operations["get"]["description"]
    body = operations["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/CommunicationsRequest")


# --- Rows stored before rows named their message ------------------------------------


def test_the_migration_links_stored_reply_rows_to_their_messages(nurse, manager):
    """0006 finds each old reply row's message by patient, author, time and text."""
    migration = importlib.import_module(
        "messaging.migrations.0006_link_reply_communications_to_their_messages"
    )
    rosa, ana = PatientFactory(), PatientFactory()
    first = receive(rosa, "the rash is spreading", subject="Rash after the new pills")
    second = receive(ana, "the rash is spreading", subject="Rash again")
    replies = [
        message_reply(message=first, body="Same words.", by=nurse),
        message_reply(message=second, body="Same words.", by=nurse),
    ]
    # As the old code wrote them: no message, the patient's subject copied.
    Communication.objects.all().delete()
    for reply in replies:
        Communication.objects.create(
            patient=reply.message.patient,
            channel="portal",
            status="sent",
            subject=reply.message.subject,
            body=reply.body,
            sent_by=nurse,
            sent_at=reply.sent_at,
        )
    orphan = Communication.objects.create(
        patient=rosa, channel="portal", status="sent", subject="Kept", body="No reply like it."
    )
    outreach = Communication.objects.create(
        patient=rosa, rule="app_nudge", period="once", channel="email", subject="Get the app"
    )

    migration.link_replies(apps, schema_editor=None)

    linked = {c.patient_id: c for c in Communication.objects.filter(message__isnull=False)}
    assert (linked[rosa.pk].message, linked[rosa.pk].subject) == (first, "")
    assert (linked[ana.pk].message, linked[ana.pk].subject) == (second, "")
    orphan.refresh_from_db()
    outreach.refresh_from_db()
    assert (orphan.message, orphan.subject) == (None, "Kept")
    assert (outreach.message, outreach.subject) == (None, "Get the app")
    assert {c.pk for c in visible(nurse, rosa)} == {linked[rosa.pk].pk, outreach.pk}
    assert orphan.pk in {c.pk for c in visible(manager, rosa)}

    migration.restore_subjects(apps, schema_editor=None)
    linked[rosa.pk].refresh_from_db()
    assert linked[rosa.pk].subject == "Rash after the new pills"
