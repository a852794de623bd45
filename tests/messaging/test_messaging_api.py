"""The message queue by API: the portal delivers and collects, staff claim and reply."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.models import Message, MessageStatus, OutboxItem, Queue, ReplyTemplate
from patients.models import ActivityEvent, EventType
from portal_adoption.models import AccessAction, AccessLogEntry, AccessOutcome
from portal_adoption.services import integration_token_create

SENT_AT = "2026-01-14T09:05:00-05:00"
FEVER = {
    "message_id": "portal-msg-1",
    "patient_external_id": "MRN-ROSA",
    "subject": "Fever after surgery",
    "body": "I have had a fever of 101 since yesterday and some swelling at the incision.",
    "sent_at": SENT_AT,
    "thread_id": "thread-7",
}
CHEST_PAIN = {
    **FEVER,
    "message_id": "portal-msg-2",
    "subject": "Help",
    "body": "I have chest pain and my left arm feels numb.",
}


@pytest.fixture
def portal(db):
    _token, key = integration_token_create(name="Portal interface", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def staff_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def deliver(portal, payload):
    return portal.post(reverse("api_messages"), payload, format="json")


def claim(client, queue="nursing"):
    return client.post(reverse("api_queue_claim", args=[queue]))


def reply(client, message, **data):
    return client.post(reverse("api_message_reply", args=[message.pk]), data, format="json")


def outbox(client):
    return client.get(reverse("api_outbox"))


# --- Delivery -----------------------------------------------------------------------


def test_the_portal_delivers_a_message_into_its_teams_queue(portal, patient):
    response = deliver(portal, FEVER)
    assert response.status_code == 201
    answer = response.json()
    message = Message.objects.get()
    assert answer["id"] == message.pk
    assert (answer["message_id"], answer["category"], answer["queue"]) == (
        "portal-msg-1",
        "clinical",
        "nursing",
    )
    assert (answer["urgent"], answer["status"]) == (False, "new")
    assert answer["internal_due_at"] and answer["external_due_at"]
    assert "body" not in answer and FEVER["body"] not in response.content.decode()
    assert message.patient == patient and message.body == FEVER["body"]
    event = ActivityEvent.objects.get(type=EventType.MESSAGE_FROM_PATIENT)
    assert (event.patient, event.object_id) == (patient, "portal-msg-1")


def test_a_billing_question_goes_to_the_billing_queue(portal, patient):
    payload = {**FEVER, "subject": "Invoice", "body": "Why is my copay on this invoice so high?"}
    assert deliver(portal, payload).json()["queue"] == "billing"


def test_the_same_message_again_answers_200_and_stores_it_once(portal, patient):
    first = deliver(portal, FEVER)
    again = deliver(portal, FEVER)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Message.objects.count() == 1
    assert ActivityEvent.objects.filter(type=EventType.MESSAGE_FROM_PATIENT).count() == 1


def test_the_same_id_with_other_content_is_a_conflict_and_changes_nothing(portal, patient):
    deliver(portal, FEVER)
    response = deliver(portal, {**FEVER, "body": "Never mind, I feel fine."})
    assert response.status_code == 409
    assert "body" in response.json()["detail"]
    assert Message.objects.get().body == FEVER["body"]


def test_a_time_without_an_offset_is_refused_naming_sent_at(portal, patient):
    response = deliver(portal, {**FEVER, "sent_at": "2026-01-14T09:05:00"})
    assert response.status_code == 400
    assert list(response.json()) == ["sent_at"]
    assert "sent_at" in response.json()["sent_at"][0]
    assert not Message.objects.exists()


def test_an_unknown_patient_is_refused_naming_the_field(portal, patient):
    response = deliver(portal, {**FEVER, "patient_external_id": "MRN-404"})
    assert response.status_code == 400
    assert list(response.json()) == ["patient_external_id"]
    assert not Message.objects.exists()


def test_a_red_flag_is_urgent_and_the_automatic_answer_waits_in_the_outbox(portal, patient):
    answer = deliver(portal, CHEST_PAIN).json()
    assert (answer["urgent"], answer["queue"]) == (True, "nursing")
    items = outbox(portal).json()
    assert len(items) == 1
    assert items[0]["automatic"] is True
    assert items[0]["message_id"] == "portal-msg-2"
    assert items[0]["patient_external_id"] == "MRN-ROSA"
    assert "911" in items[0]["body"]


def test_staff_cannot_deliver_messages(nurse, patient):
    assert deliver(staff_client(nurse), FEVER).status_code == 403
    assert not Message.objects.exists()


# --- Claiming -----------------------------------------------------------------------


def test_a_nurse_claims_the_next_message_with_its_text_and_the_read_is_logged(
    portal, patient, nurse
):
    deliver(portal, FEVER)
    deliver(portal, CHEST_PAIN)
    response = claim(staff_client(nurse))
    assert response.status_code == 200
    answer = response.json()
    # Urgent first.
    assert answer["message_id"] == "portal-msg-2"
    assert answer["body"] == CHEST_PAIN["body"]
    assert answer["patient"]["external_id"] == "MRN-ROSA"
    assert (answer["status"], answer["red_flags"]) == ("claimed", ["chest pain"])
    message = Message.objects.get(message_id="portal-msg-2")
    assert (message.status, message.owner) == (MessageStatus.CLAIMED, nurse)
    logged = AccessLogEntry.objects.get(resource="message", action=AccessAction.VIEW)
    assert (logged.user, logged.patient) == (nurse, patient)
    assert logged.object_id == str(message.pk)


def test_an_empty_queue_answers_204(portal, patient, nurse):
    client = staff_client(nurse)
    assert claim(client).status_code == 204
    deliver(portal, FEVER)
    assert claim(client).status_code == 200
    assert claim(client).status_code == 204
    assert AccessLogEntry.objects.filter(resource="message", action=AccessAction.VIEW).count() == 1


def test_the_front_desk_cannot_claim_from_the_nursing_queue(portal, patient, front_desk_clerk):
    deliver(portal, FEVER)
    response = claim(staff_client(front_desk_clerk))
    assert response.status_code == 403
    assert Message.objects.get().status == MessageStatus.NEW
    assert AccessLogEntry.objects.filter(
        user=front_desk_clerk, outcome=AccessOutcome.DENIED
    ).exists()


def test_the_portal_integration_cannot_claim(portal, patient):
    deliver(portal, FEVER)
    assert claim(portal).status_code == 403


def test_unknown_queues_and_the_provider_task_list(nurse, manager):
    assert claim(staff_client(nurse), "general").status_code == 404
    response = claim(staff_client(manager), Queue.PROVIDER)
    assert response.status_code == 400
    assert "task list" in response.json()["detail"]


def test_anonymous_callers_are_refused(db):
    response = APIClient().post(reverse("api_queue_claim", args=["nursing"]))
    assert response.status_code in (401, 403)


# --- Replying -----------------------------------------------------------------------


def test_a_reply_goes_to_the_outbox_as_a_message_to_patient_event(portal, patient, nurse):
    deliver(portal, FEVER)
    client = staff_client(nurse)
    message = Message.objects.get()
    claim(client)
    response = reply(client, message, body="Please come in today at 3 pm; we will look at it.")
    assert response.status_code == 201
    answer = response.json()
    item = OutboxItem.objects.get()
    assert (answer["reply_id"], answer["outbox_id"]) == (item.reply_id, item.pk)
    message.refresh_from_db()
    assert message.first_reply_at is not None
    assert message.status == MessageStatus.ANSWERED
    assert answer["first_reply_at"] is not None
    event = ActivityEvent.objects.get(type=EventType.MESSAGE_TO_PATIENT)
    assert (event.patient, event.reply_to) == (patient, "portal-msg-1")


def test_a_reply_from_a_template_is_rendered_for_the_patient(portal, patient, nurse):
    deliver(portal, FEVER)
    message = Message.objects.get()
    template = ReplyTemplate.objects.create(
        category="clinical", name="Seen soon", body="Dear {first_name}, a nurse will call you."
    )
    response = reply(staff_client(nurse), message, template=template.pk)
    assert response.status_code == 201
    assert OutboxItem.objects.get().reply.body == "Dear Rosa, a nurse will call you."


def test_a_template_of_another_category_or_not_in_use_is_refused(portal, patient, nurse):
    deliver(portal, FEVER)
    message = Message.objects.get()
    billing = ReplyTemplate.objects.create(category="billing", name="Bill", body="Paid.")
    retired = ReplyTemplate.objects.create(
        category="clinical", name="Old", body="Old text.", active=False
    )
    client = staff_client(nurse)
    for template in (billing, retired):
        response = reply(client, message, template=template.pk)
        assert response.status_code == 400
        assert list(response.json()) == ["template"]
    assert not OutboxItem.objects.exists()


def test_an_empty_reply_is_refused(portal, patient, nurse):
    deliver(portal, FEVER)
    response = reply(staff_client(nurse), Message.objects.get(), body="   ")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert Message.objects.get().first_reply_at is None


def test_the_front_desk_cannot_reply_to_a_nursing_message(portal, patient, front_desk_clerk):
    deliver(portal, FEVER)
    response = reply(staff_client(front_desk_clerk), Message.objects.get(), body="Hello")
    assert response.status_code == 403
    assert not OutboxItem.objects.exists()


def test_replying_to_an_unknown_message_is_404(nurse):
    response = staff_client(nurse).post(
        reverse("api_message_reply", args=[999]), {"body": "Hi"}, format="json"
    )
    assert response.status_code == 404


# --- The outbox ---------------------------------------------------------------------


def test_the_portal_collects_the_outbox_and_acknowledges_each_item(portal, patient, nurse):
    deliver(portal, FEVER)
    reply(staff_client(nurse), Message.objects.get(), body="Take acetaminophen; call if worse.")
    items = outbox(portal).json()
    assert [(i["message_id"], i["automatic"]) for i in items] == [("portal-msg-1", False)]
    assert items[0]["body"] == "Take acetaminophen; call if worse."
    assert items[0]["created_at"]
    listed = AccessLogEntry.objects.filter(resource="outbox", action=AccessAction.LIST)
    assert [entry.patient for entry in listed] == [patient]

    ack = reverse("api_outbox_ack", args=[items[0]["id"]])
    first = portal.post(ack)
    assert (first.status_code, first.json()) == (200, {"acked": True})
    assert outbox(portal).json() == []
    again = portal.post(ack)
    assert (again.status_code, again.json()) == (200, {"acked": False})
    assert OutboxItem.objects.get().acked_at is not None


def test_acknowledging_an_unknown_item_is_404(portal):
    assert portal.post(reverse("api_outbox_ack", args=[999])).status_code == 404


def test_only_the_integration_reads_the_outbox(portal, patient, nurse, manager):
    deliver(portal, CHEST_PAIN)
    item = OutboxItem.objects.get()
    for user in (nurse, manager):
        client = staff_client(user)
        assert outbox(client).status_code == 403
        assert client.post(reverse("api_outbox_ack", args=[item.pk])).status_code == 403
    assert OutboxItem.objects.get().acked_at is None
    assert not AccessLogEntry.objects.filter(resource="outbox").exists()


def test_the_schema_documents_the_message_api(manager):
    response = staff_client(manager).get(reverse("api_schema"))
    assert response.status_code == 200
    schema = response.content.decode()
    for operation in ("message_receive", "queue_claim", "message_reply", "outbox_list"):
        assert operation in schema


# --- Hostile and out-of-range input -------------------------------------------------


def test_the_longest_message_id_the_event_log_can_hold_is_accepted(portal, patient):
    from messaging.services import MESSAGE_ID_MAX_LENGTH

    assert MESSAGE_ID_MAX_LENGTH == 107
    response = deliver(portal, {**FEVER, "message_id": "m" * 107})
    assert response.status_code == 201
    event = ActivityEvent.objects.get(type=EventType.MESSAGE_FROM_PATIENT)
    assert len(event.event_id) == 128


@pytest.mark.parametrize("length", [108, 120, 128, 129])
def test_a_message_id_too_long_for_its_event_is_a_400_naming_the_field(portal, patient, length):
    response = deliver(portal, {**FEVER, "message_id": "m" * length})
    assert response.status_code == 400
    assert list(response.json()) == ["message_id"]
    assert "107" in response.json()["message_id"][0]
    assert not Message.objects.exists()
    assert not ActivityEvent.objects.exists()


def test_the_schema_says_how_long_a_message_id_may_be(manager):
    schema = staff_client(manager).get(reverse("api_schema"), {"format": "json"}).json()
    inbound = schema["components"]["schemas"]["InboundMessage"]["properties"]
    assert inbound["message_id"]["maxLength"] == 107


@pytest.mark.parametrize(
    "sent_at",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "1899-12-31T23:59:59Z",
        "2199-01-01T00:00:00Z",
    ],
)
def test_a_sent_at_outside_the_event_window_is_a_400_naming_the_field(portal, patient, sent_at):
    response = deliver(portal, {**FEVER, "sent_at": sent_at})
    assert response.status_code == 400
    assert list(response.json()) == ["sent_at"]
    assert not Message.objects.exists()


def test_a_sent_at_a_few_hours_ahead_is_accepted_clocks_drift(portal, patient):
    import datetime as dt

    from django.utils import timezone

    ahead = (timezone.now() + dt.timedelta(hours=5)).isoformat()
    assert deliver(portal, {**FEVER, "sent_at": ahead}).status_code == 201


@pytest.mark.parametrize("field", ["message_id", "patient_external_id", "subject", "body"])
@pytest.mark.parametrize("value", ["a\x00b", "\ud800"], ids=["nul", "lone-surrogate"])
def test_nul_bytes_and_lone_surrogates_are_a_400_naming_the_field(portal, patient, field, value):
    import json

    payload = json.dumps({**FEVER, field: value})
    response = portal.generic(
        "POST", reverse("api_messages"), payload, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Message.objects.exists()


# --- Every write through the API leaves a CHANGE row, as the pages do ---------------

# POST endpoints of this API that only read (the patient goes in the body to keep it
# out of the URL): they leave a VIEW row instead, tested with the communications log.
READ_BY_POST = {"api_communications"}


def api_writes(portal, nurse):
    """Each write endpoint, done once; returns (url name, the message it touched)."""
    deliver(portal, FEVER)
    deliver(portal, CHEST_PAIN)
    message = Message.objects.get(message_id="portal-msg-1")
    urgent = Message.objects.get(message_id="portal-msg-2")
    client = staff_client(nurse)
    yield "api_messages", message
    assert claim(client).status_code == 200
    yield "api_queue_claim", urgent
    assert reply(client, message, body="Rest and fluids.").status_code == 201
    yield "api_message_reply", message
    item = OutboxItem.objects.get(reply__message=message)
    assert portal.post(reverse("api_outbox_ack", args=[item.pk])).status_code == 200
    yield "api_outbox_ack", message


def test_every_api_write_leaves_a_change_row_naming_the_patient(portal, patient, nurse):
    from messaging.urls import api as api_urls

    done = {}
    for name, message in api_writes(portal, nurse):
        done[name] = message
        change = AccessLogEntry.objects.filter(action=AccessAction.CHANGE).last()
        assert change.patient == patient, name
        assert change.resource in ("message", "outbox"), name
        assert change.path.startswith("/api/v1/"), name
    writes = {
        entry.name
        for entry in api_urls.urlpatterns
        if hasattr(entry.callback.view_class, "post") and entry.name not in READ_BY_POST
    }
    assert writes == set(done), "add the new write endpoint to api_writes()"


def test_an_api_reply_is_logged_with_who_and_which_message(portal, patient, nurse):
    deliver(portal, FEVER)
    message = Message.objects.get()
    reply(staff_client(nurse), message, body="Rest and fluids.")
    change = AccessLogEntry.objects.get(action=AccessAction.CHANGE, user=nurse)
    assert (change.resource, change.object_id, change.patient) == (
        "message",
        str(message.pk),
        patient,
    )


def test_an_acknowledgement_is_logged_as_the_integration(portal, patient):
    deliver(portal, CHEST_PAIN)
    item = OutboxItem.objects.get()
    portal.post(reverse("api_outbox_ack", args=[item.pk]))
    change = AccessLogEntry.objects.get(action=AccessAction.CHANGE, resource="outbox")
    assert change.username.startswith("integration-")
    assert (change.object_id, change.patient) == (str(item.pk), patient)


def test_a_message_delivered_during_hours_is_due_at_closing_and_tomorrow_same_time(
    portal, patient, monkeypatch, settings
):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    # Delivered Wednesday 14 January 2026 at 10:00 in New York (15:00 UTC).
    delivered = dt.datetime(2026, 1, 14, 15, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: delivered)

    answer = deliver(portal, FEVER).json()

    # Inside the practice: that day's close, 17:00. To the patient: one business day.
    assert answer["internal_due_at"] == "2026-01-14T17:00:00-05:00"
    assert answer["external_due_at"] == "2026-01-15T10:00:00-05:00"
