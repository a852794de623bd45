"""A double click or a retried request does the work once.

The reply form, the log-a-call form, the escalate form and "take next" carry
a one-time key drawn with the page; the reply API takes an Idempotency-Key
header. The key is stored with what the action created, unique per person,
so a repeat gets the first result, and five requests at the same instant
still make one reply.
"""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.models import (
    CallLog,
    Communication,
    Message,
    MessageStatus,
    MessageTransition,
    OutboxItem,
    Reply,
)
from messaging.services import Inbound, message_receive
from patients.models import ActivityEvent, EventType
from portal_adoption.models import AccessLogEntry, AccessOutcome
from portal_adoption.roles import Role
from tests.conftest import requires_postgres
from tests.factories import PatientFactory, ProviderFactory, staff

KEY = "6f1c2b0e9d8a4c7e8f0a1b2c3d4e5f60"


def receive(patient, body="the rash is spreading"):
    receive.count = getattr(receive, "count", 0) + 1
    inbound = Inbound(
        message_id=f"twice-{receive.count}-{patient.pk}",
        patient=patient,
        subject="Rash",
        body=body,
        sent_at=timezone.now(),
    )
    return message_receive(inbound=inbound)[0]


def flashes(response) -> list[str]:
    """The flash messages the page after the redirect showed."""
    return [str(m) for m in response.context["messages"]]


def post_reply(client, message, key=KEY, body="Keep it clean and dry."):
    return client.post(
        reverse("messaging:reply", args=[message.pk]),
        {"body": body, "idempotency_key": key},
        follow=True,
    )


def api_reply(client, message, key=KEY, body="Keep it clean and dry."):
    return client.post(
        reverse("api_message_reply", args=[message.pk]),
        {"body": body},
        format="json",
        headers={"Idempotency-Key": key} if key else {},
    )


def staff_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def assert_one_reply(message):
    assert Reply.objects.filter(message=message, automatic=False).count() == 1
    assert OutboxItem.objects.filter(reply__message=message).count() == 1
    assert Communication.objects.filter(message=message).count() == 1
    assert ActivityEvent.objects.filter(type=EventType.MESSAGE_TO_PATIENT).count() == 1


# --- The reply form -----------------------------------------------------------------


def test_the_reply_form_carries_a_new_one_time_key_each_time_it_is_drawn(client, nurse, patient):
    message = receive(patient)
    client.force_login(nurse)
    url = reverse("messaging:detail", args=[message.pk])
    pages = [client.get(url) for _ in range(2)]
    keys = [page.context["reply_form"]["idempotency_key"].value() for page in pages]
    assert all(len(key) == 32 for key in keys) and keys[0] != keys[1]
    assert f'value="{keys[1]}"' in pages[1].content.decode()


def test_a_double_clicked_reply_is_sent_once_with_the_same_message(client, nurse, patient):
    message = receive(patient)
    client.force_login(nurse)
    first, second = post_reply(client, message), post_reply(client, message)
    detail = reverse("messaging:detail", args=[message.pk])
    assert first.redirect_chain == second.redirect_chain == [(detail, 302)]
    assert flashes(second) == flashes(first) == ["Reply sent: it is in the outbox for the portal."]
    assert_one_reply(message)


def test_the_same_key_with_other_text_sends_nothing_and_says_why(client, nurse, patient):
    message = receive(patient)
    client.force_login(nurse)
    post_reply(client, message)
    response = post_reply(client, message, body="Something else entirely.")
    assert response.redirect_chain == [(reverse("messaging:detail", args=[message.pk]), 302)]
    assert "sent already" in flashes(response)[0]
    assert_one_reply(message)


def test_replies_with_different_keys_are_different_replies(client, nurse, patient):
    message = receive(patient)
    client.force_login(nurse)
    post_reply(client, message, key="a" * 32)
    post_reply(client, message, key="b" * 32, body="And one more thing.")
    assert Reply.objects.filter(message=message).count() == 2


def test_a_malformed_key_is_refused_with_the_form(client, nurse, patient):
    message = receive(patient)
    client.force_login(nurse)
    assert post_reply(client, message, key="ключ").status_code == 400
    assert not Reply.objects.exists()


# --- The API ------------------------------------------------------------------------


def test_a_retried_api_reply_answers_with_the_first_reply_and_status(nurse, patient):
    message = receive(patient)
    client = staff_client(nurse)
    first, again = api_reply(client, message), api_reply(client, message)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert_one_reply(message)


def test_an_api_key_reused_for_another_reply_is_a_409(nurse, patient):
    message, other = receive(patient), receive(patient, "the rash is worse")
    client = staff_client(nurse)
    api_reply(client, message)
    assert api_reply(client, message, body="Different words.").status_code == 409
    assert api_reply(client, other).status_code == 409
    assert Reply.objects.filter(automatic=False).count() == 1


@pytest.mark.parametrize("key", ["x" * 65, "ключ", "a b", "\x00"])
def test_a_malformed_idempotency_key_is_a_400_naming_the_header(nurse, patient, key):
    message = receive(patient)
    response = api_reply(staff_client(nurse), message, key=key)
    assert response.status_code == 400
    assert list(response.json()) == ["Idempotency-Key"]
    assert not Reply.objects.exists()


def test_the_key_belongs_to_its_sender(nurse, patient):
    """Another nurse's same key is another reply: keys are unique per person."""
    message = receive(patient)
    api_reply(staff_client(nurse), message)
    colleague = staff("nell", Role.NURSE)
    assert api_reply(staff_client(colleague), message).status_code == 201
    assert Reply.objects.filter(automatic=False).count() == 2


def test_the_schema_documents_the_idempotency_key(manager):
    schema = staff_client(manager).get(reverse("api_schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/messages/{id}/reply/"]["post"]
    headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]
    assert "409" in operation["responses"]


# --- Five at the same instant -------------------------------------------------------


def at_once(count, send):
    start = threading.Barrier(count)
    statuses, failures = [], []

    def run():
        try:
            start.wait()
            statuses.append(send())
        except Exception as error:  # collected and asserted by the caller
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    return statuses


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_five_parallel_form_posts_of_one_reply_make_one_reply():
    nurse = staff("nora", Role.NURSE)
    message = receive(PatientFactory())
    clients = []
    for _ in range(5):
        client = Client()
        client.force_login(nurse)
        clients.append(client)
    pending = iter(clients)
    lock = threading.Lock()

    def send():
        with lock:
            client = next(pending)
        url = reverse("messaging:reply", args=[message.pk])
        return client.post(url, {"body": "Keep it dry.", "idempotency_key": KEY}).status_code

    assert at_once(5, send) == [302] * 5
    assert_one_reply(message)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_five_parallel_api_posts_of_one_reply_make_one_reply():
    nurse = staff("nora", Role.NURSE)
    message = receive(PatientFactory())
    answers = []

    def send():
        response = api_reply(staff_client(nurse), message)
        answers.append(response.json())
        return response.status_code

    assert at_once(5, send) == [201] * 5
    assert len({tuple(sorted(answer.items())) for answer in answers}) == 1
    assert_one_reply(message)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_five_parallel_calls_logged_with_one_key_log_one_call():
    nurse = staff("nora", Role.NURSE)
    message = receive(PatientFactory())

    def send():
        client = Client()
        client.force_login(nurse)
        url = reverse("messaging:call", args=[message.pk])
        return client.post(url, {"summary": "Talked it through.", "idempotency_key": KEY})

    assert [r.status_code for r in at_once(5, send)] == [302] * 5
    assert CallLog.objects.filter(message=message).count() == 1
    assert MessageTransition.objects.filter(message=message, to_status="answered").count() == 1
    # The call answers the message once on the dashboard too: one response_by_phone.
    responses = ActivityEvent.objects.filter(type=EventType.RESPONSE_BY_PHONE)
    assert list(responses.values_list("reply_to", flat=True)) == [message.message_id]


# --- Other actions a double click repeats ---------------------------------------------


def test_a_double_clicked_call_is_logged_once(client, nurse, patient):
    message = receive(patient)
    client.force_login(nurse)
    url = reverse("messaging:call", args=[message.pk])
    data = {"summary": "Talked it through.", "idempotency_key": KEY}
    first, second = client.post(url, data, follow=True), client.post(url, data, follow=True)
    assert flashes(first) == flashes(second) == ["Call logged."]
    assert CallLog.objects.filter(message=message).count() == 1


def test_a_double_clicked_escalation_escalates_once_and_the_second_click_is_not_refused(
    client, nurse, patient
):
    patient.primary_provider = ProviderFactory(user=staff("drkim", Role.PROVIDER))
    patient.save()
    message = receive(patient)
    client.force_login(nurse)
    url = reverse("messaging:escalate", args=[message.pk])
    data = {"note": "Please advise.", "idempotency_key": KEY}
    first, second = client.post(url, data, follow=True), client.post(url, data, follow=True)
    # The message left the nurse's sight: both clicks land on her queue, not on a 403.
    assert first.redirect_chain == second.redirect_chain
    assert first.redirect_chain[0] == (reverse("messaging:queues"), 302)
    assert first.status_code == second.status_code == 200
    assert flashes(first) == flashes(second) == ["Sent to the provider's task list."]
    escalations = MessageTransition.objects.filter(message=message, to_status="waiting_provider")
    assert escalations.count() == 1
    assert not AccessLogEntry.objects.filter(outcome=AccessOutcome.DENIED).exists()


def test_escalating_what_already_waits_for_that_provider_changes_nothing(client, manager, patient):
    patient.primary_provider = ProviderFactory(user=staff("drkim", Role.PROVIDER))
    patient.save()
    message = receive(patient)
    client.force_login(manager)
    url = reverse("messaging:escalate", args=[message.pk])
    client.post(url, {"note": "Please advise.", "idempotency_key": "a" * 32})
    client.post(url, {"note": "Please advise.", "idempotency_key": "b" * 32})
    escalations = MessageTransition.objects.filter(message=message, to_status="waiting_provider")
    assert escalations.count() == 1


def test_a_double_clicked_take_next_claims_one_message(client, nurse, patient):
    first_message, second_message = receive(patient), receive(patient)
    client.force_login(nurse)
    url = reverse("messaging:take_next", args=["nursing"])
    page = client.get(reverse("messaging:queue", args=["nursing"]))
    key = page.context["take_next_form"]["idempotency_key"].value()
    assert f'value="{key}"' in page.content.decode()
    first = client.post(url, {"idempotency_key": key})
    second = client.post(url, {"idempotency_key": key})
    assert first.url == second.url == reverse("messaging:detail", args=[first_message.pk])
    claimed = Message.objects.filter(status=MessageStatus.CLAIMED, owner=nurse)
    assert list(claimed) == [first_message]
    assert Message.objects.get(pk=second_message.pk).status == MessageStatus.NEW


def test_the_database_itself_refuses_a_second_row_with_the_same_key(nurse, patient):
    """At most once is a unique constraint, not only the check before the insert."""
    from django.db import IntegrityError, transaction

    message = receive(patient)
    Reply.objects.create(message=message, body="One.", sent_by=nurse, idempotency_key=KEY)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reply.objects.create(message=message, body="Two.", sent_by=nurse, idempotency_key=KEY)
    CallLog.objects.create(message=message, summary="One.", called_by=nurse, idempotency_key=KEY)
    with pytest.raises(IntegrityError), transaction.atomic():
        CallLog.objects.create(
            message=message, summary="Two.", called_by=nurse, idempotency_key=KEY
        )
    MessageTransition.objects.create(
        message=message, to_status="claimed", queue="nursing", by=nurse, idempotency_key=KEY
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageTransition.objects.create(
            message=message, to_status="claimed", queue="nursing", by=nurse, idempotency_key=KEY
        )
    # Without a key, as many as there are.
    Reply.objects.create(message=message, body="Three.", sent_by=nurse)
    Reply.objects.create(message=message, body="Four.", sent_by=nurse)


def test_a_retried_api_claim_answers_with_the_message_the_first_one_took(nurse, patient):
    first_message, _second = receive(patient), receive(patient)
    client = staff_client(nurse)
    url = reverse("api_queue_claim", args=["nursing"])
    first = client.post(url, headers={"Idempotency-Key": KEY})
    again = client.post(url, headers={"Idempotency-Key": KEY})
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"] == first_message.pk
    assert Message.objects.filter(status=MessageStatus.CLAIMED).count() == 1


def test_a_key_used_for_one_action_is_refused_for_another_not_a_500(client, manager, patient):
    patient.primary_provider = ProviderFactory(user=staff("drkim", Role.PROVIDER))
    patient.save()
    receive(patient)
    receive(patient, "Question about my bill and the copay")
    client.force_login(manager)
    client.post(reverse("messaging:take_next", args=["nursing"]), {"idempotency_key": KEY})
    claimed = Message.objects.get(status=MessageStatus.CLAIMED)
    escalate = reverse("messaging:escalate", args=[claimed.pk])
    response = client.post(escalate, {"note": "Advise?", "idempotency_key": KEY}, follow=True)
    assert "sent already" in flashes(response)[0]
    assert Message.objects.get(pk=claimed.pk).queue == "nursing"
    other_queue = staff_client(manager).post(
        reverse("api_queue_claim", args=["billing"]), headers={"Idempotency-Key": KEY}
    )
    assert other_queue.status_code == 409
    assert Message.objects.filter(status=MessageStatus.CLAIMED).count() == 1


def test_a_manager_who_still_sees_the_message_lands_on_it_after_both_clicks(
    client, manager, patient
):
    patient.primary_provider = ProviderFactory(user=staff("drkim", Role.PROVIDER))
    patient.save()
    message = receive(patient)
    client.force_login(manager)
    url = reverse("messaging:escalate", args=[message.pk])
    data = {"note": "Please advise.", "idempotency_key": KEY}
    first, second = client.post(url, data), client.post(url, data)
    assert first.url == second.url == reverse("messaging:detail", args=[message.pk])


@pytest.mark.parametrize(
    ("action", "data", "flash"),
    [
        (
            "messaging:reroute",
            {"queue": "billing", "note": "A billing question."},
            "Sent to the other team's queue.",
        ),
        ("messaging:reclassify", {"category": "billing"}, "Category changed."),
    ],
)
def test_a_double_clicked_reroute_moves_the_message_once_and_is_not_refused(
    client, nurse, patient, action, data, flash
):
    message = receive(patient)
    client.force_login(nurse)
    url = reverse(action, args=[message.pk])
    data = {**data, "idempotency_key": KEY}
    first, second = client.post(url, data, follow=True), client.post(url, data, follow=True)
    # Billing's queue is out of the nurse's sight: both clicks land on her queue.
    assert first.redirect_chain == second.redirect_chain
    assert first.redirect_chain[0] == (reverse("messaging:queues"), 302)
    assert flashes(first) == flashes(second) == [flash]
    moves = MessageTransition.objects.filter(message=message, queue="billing")
    assert moves.count() == 1
    assert not AccessLogEntry.objects.filter(outcome=AccessOutcome.DENIED).exists()
