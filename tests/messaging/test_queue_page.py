"""What Nora sees as she works the queue: the urgent banner, the rows, the next message."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from messaging.models import Message, MessageStatus, Queue
from messaging.services import Inbound, message_claim_next, message_receive
from messaging.views import queues as queue_views
from messaging.views.queues import message_age
from portal_adoption.roles import Role
from tests.factories import PatientFactory, staff

SENT = dt.datetime(2026, 1, 14, 15, 0, tzinfo=dt.UTC)


def receive(patient, body, *, subject=""):
    receive.count = getattr(receive, "count", 0) + 1
    inbound = Inbound(
        message_id=f"q-{receive.count}-{patient.pk}",
        patient=patient,
        subject=subject,
        body=body,
        sent_at=SENT,
    )
    return message_receive(inbound=inbound)[0]


def alert(client) -> str:
    return client.get(reverse("messaging:urgent_alert")).content.decode()


# --- The urgent banner ---------------------------------------------------------------------


def test_the_banner_counts_only_the_urgent_messages_nobody_has_taken(client, nurse, patient):
    receive(patient, "I have chest pain")
    receive(PatientFactory(), "trouble breathing since last night")
    client.force_login(nurse)
    assert "2 urgent messages are waiting for a nurse." in alert(client)

    colleague = staff("nadia", Role.NURSE)
    message_claim_next(queue=Queue.NURSING, by=colleague)
    assert "1 urgent message is waiting for a nurse." in alert(client)

    message_claim_next(queue=Queue.NURSING, by=colleague)
    assert "urgent message" not in alert(client)


def test_an_urgent_message_whose_claim_lapsed_counts_again(client, nurse, patient):
    receive(patient, "I have chest pain")
    message = message_claim_next(queue=Queue.NURSING, by=staff("nadia", Role.NURSE))
    client.force_login(nurse)
    assert "urgent message" not in alert(client)
    Message.objects.filter(pk=message.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert "1 urgent message is waiting for a nurse." in alert(client)


def test_the_nursing_queue_shows_no_banner_pointing_at_itself(client, nurse, patient):
    receive(patient, "I have chest pain")
    client.force_login(nurse)
    queue_page = client.get(reverse("messaging:queue", args=["nursing"])).content.decode()
    assert 'id="urgent-alert"' not in queue_page
    assert "URGENT" in queue_page  # the queue lists it itself, first
    elsewhere = client.get(reverse("messaging:notes")).content.decode()
    assert 'id="urgent-alert"' in elsewhere


def test_a_manager_on_the_front_desk_queue_still_sees_the_banner(client, manager, patient):
    receive(patient, "I have chest pain")
    client.force_login(manager)
    page = client.get(reverse("messaging:queue", args=["front_desk"])).content.decode()
    assert 'id="urgent-alert"' in page


# --- The rows: age, first line, who took it -------------------------------------------------


def test_the_queue_shows_each_message_s_age_first_line_and_who_took_it(client, nurse, patient):
    body = "The rash is spreading\non my left arm since Tuesday.\n\n" + "It itches a lot. " * 30
    message = receive(patient, body, subject="Rash")
    Message.objects.filter(pk=message.pk).update(
        received_at=timezone.now() - dt.timedelta(hours=2, minutes=10)
    )
    message_claim_next(queue=Queue.NURSING, by=staff("nadia", Role.NURSE, first_name="Nadia"))
    client.force_login(nurse)

    page = client.get(reverse("messaging:queue", args=["nursing"])).content.decode()

    assert "2 h ago" in page
    assert "The rash is spreading on my left arm since Tuesday. It itches a lot." in page
    assert body not in page and "It itches a lot. " * 30 not in page  # one line, not the body
    assert "Taken by Nadia" in page


def test_the_queue_logs_one_list_entry_naming_the_patients_whose_lines_it_shows(
    client, nurse, monkeypatch
):
    patients = [PatientFactory() for _ in range(3)]
    for patient in patients:
        receive(patient, "my medication refill")
    calls = []
    real = queue_views.access_log_record_list

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(queue_views, "access_log_record_list", spy)
    client.force_login(nurse)
    client.get(reverse("messaging:queue", args=["nursing"]))

    assert len(calls) == 1
    assert calls[0]["resource"] == "message_queue"
    assert set(calls[0]["patients"]) == set(patients)


def queries_for_a_queue_of(client, count: int) -> int:
    for i in range(count):
        receive(PatientFactory(), f"my medication refill, question {i}")
    for i in range(count // 5):  # one in five taken, each by another nurse
        message_claim_next(queue=Queue.NURSING, by=staff(f"n{count}-{i}", Role.NURSE))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("messaging:queue", args=["nursing"]))
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(count, queue_views.QUEUE_PAGE_SIZE)
    return len(queries)


@pytest.mark.django_db
def test_the_queue_page_costs_as_many_queries_for_50_messages_as_for_5(client, nurse):
    client.force_login(nurse)
    few = queries_for_a_queue_of(client, 5)
    Message.objects.all().delete()
    many = queries_for_a_queue_of(client, 50)
    assert many == few


def test_nora_reads_the_queue_a_page_at_a_time_most_urgent_first(client, nurse):
    size = queue_views.QUEUE_PAGE_SIZE
    for i in range(size + 3):
        receive(PatientFactory(), f"my medication refill, question {i}")
    urgent = receive(PatientFactory(), "trouble breathing tonight")
    client.force_login(nurse)
    url = reverse("messaging:queue", args=["nursing"])

    first = client.get(url)
    second = client.get(url, {"page": 2})

    first_page = [row.message for row in first.context["rows"]]
    second_page = [row.message for row in second.context["rows"]]
    assert len(first_page) == size and len(second_page) == 4
    assert first_page[0] == urgent
    assert set(first_page).isdisjoint(second_page)
    assert f"{size + 4} open" in first.content.decode()
    assert "page=2" in first.content.decode()


def test_the_queue_does_not_read_whole_bodies(client, nurse, patient):
    receive(patient, "my medication refill " + "x" * 5000)
    client.force_login(nurse)
    response = client.get(reverse("messaging:queue", args=["nursing"]))
    (row,) = response.context["rows"]
    assert "body" in row.message.get_deferred_fields()
    assert row.preview.startswith("my medication refill x")


@pytest.mark.parametrize(
    "waited, said",
    [
        (dt.timedelta(seconds=20), "just now"),
        (dt.timedelta(minutes=1), "1 min ago"),
        (dt.timedelta(minutes=59), "59 min ago"),
        (dt.timedelta(hours=2, minutes=59), "2 h ago"),
        (dt.timedelta(hours=47), "47 h ago"),
        (dt.timedelta(days=3, hours=5), "3 days ago"),
    ],
)
def test_a_message_s_age_reads_as_a_nurse_would_say_it(waited, said):
    now = timezone.now()
    assert message_age(now - waited, now) == said


# --- After the answer: the next one ----------------------------------------------------------


def test_after_replying_nora_can_take_the_next_message_from_the_same_page(client, nurse, patient):
    first = receive(patient, "my medication refill")
    second = receive(PatientFactory(), "the rash is spreading")
    client.force_login(nurse)
    assert client.post(reverse("messaging:take_next", args=["nursing"])).url == reverse(
        "messaging:detail", kwargs={"pk": first.pk}
    )
    before = client.get(reverse("messaging:detail", kwargs={"pk": first.pk})).content.decode()
    assert reverse("messaging:take_next", args=["nursing"]) not in before

    response = client.post(
        reverse("messaging:reply", kwargs={"pk": first.pk}), {"body": "Refill sent."}, follow=True
    )

    page = response.content.decode()
    assert "Reply sent: it is in the outbox for the portal." in page
    assert f'action="{reverse("messaging:take_next", args=["nursing"])}"' in page
    assert "1 message is waiting to be taken in the Nursing queue." in page
    taken = client.post(reverse("messaging:take_next", args=["nursing"]))
    assert taken.url == reverse("messaging:detail", kwargs={"pk": second.pk})


def test_after_closing_nora_can_take_the_next_message(client, nurse, patient):
    message = receive(patient, "my medication refill")
    client.force_login(nurse)
    client.post(reverse("messaging:take_next", args=["nursing"]))
    client.post(reverse("messaging:reply", kwargs={"pk": message.pk}), {"body": "Refill sent."})

    response = client.post(
        reverse("messaging:close", kwargs={"pk": message.pk}),
        {"chart_note": "Refill requested; sent.", "outcome": "understood"},
        follow=True,
    )

    message.refresh_from_db()
    assert message.status == MessageStatus.CLOSED
    page = response.content.decode()
    assert "Closed." in page
    assert f'action="{reverse("messaging:take_next", args=["nursing"])}"' in page
    assert "0 messages are waiting to be taken in the Nursing queue." in page
