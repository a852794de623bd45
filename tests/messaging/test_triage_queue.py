"""Nora and her colleagues work the message queues: routing, claiming, replying, closing."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from messaging.models import (
    ChartNote,
    Message,
    MessageStatus,
    OutboxItem,
    Queue,
    ReplyTemplate,
    RoutingSettings,
)
from messaging.selectors import Sla, sla_state
from messaging.services import (
    Inbound,
    MessageConflict,
    MessagingError,
    message_claim_next,
    message_close,
    message_escalate,
    message_receive,
    message_release_lapsed,
    message_reply,
    message_reroute,
)
from patients.models import ActivityEvent, EventType
from portal_adoption.models import AccessLogEntry
from portal_adoption.roles import Role
from tests.conftest import requires_postgres
from tests.factories import PatientFactory, ProviderFactory, logged_event, staff

SENT = dt.datetime(2026, 1, 14, 15, 0, tzinfo=dt.UTC)


def receive(patient, text, *, message_id=None, subject="", thread_id=""):
    receive.count = getattr(receive, "count", 0) + 1
    inbound = Inbound(
        message_id=message_id or f"m-{receive.count}-{patient.pk}",
        patient=patient,
        subject=subject,
        body=text,
        sent_at=SENT,
        thread_id=thread_id,
    )
    return message_receive(inbound=inbound)[0]


def test_messages_go_to_the_team_their_words_belong_to(patient):
    assert receive(patient, "Question about my bill and the copay").queue == Queue.BILLING
    assert receive(patient, "I need to reschedule my appointment").queue == Queue.FRONT_DESK
    assert receive(patient, "The rash is spreading").queue == Queue.NURSING


def test_no_match_or_a_tie_goes_to_the_default_the_manager_set_never_a_general_pile(patient):
    RoutingSettings.objects.update_or_create(pk=1, defaults={"default_category": "administrative"})
    unmatched = receive(patient, "Hello there")
    tie = receive(patient, "my bill for the rash")
    assert (unmatched.queue, unmatched.classified_by) == (Queue.FRONT_DESK, "default")
    assert tie.queue == Queue.FRONT_DESK


@pytest.mark.parametrize(
    "text",
    [
        "I have chest pain since this morning",
        "CHEST  PAIN again",
        "no chest pain, but I fainted",  # negation is not trusted: safety first
        "Tengo dolor de pecho",
        "sufrí una convulsión",
    ],
)
def test_a_red_flag_makes_the_message_urgent_with_a_911_reply(patient, text):
    message = receive(patient, text)
    assert message.urgent
    assert message.queue == Queue.NURSING
    auto = OutboxItem.objects.get(reply__message=message)
    assert auto.reply.automatic
    assert "911" in auto.reply.body


def test_a_word_inside_another_word_is_not_a_red_flag(patient):
    assert not receive(patient, "My painting hobby helps, breathing exercises too").urgent


def test_the_same_message_sent_twice_is_stored_once(patient):
    first = receive(patient, "The rash is spreading", message_id="portal-1")
    again = receive(patient, "The rash is spreading", message_id="portal-1")
    assert first.pk == again.pk
    assert Message.objects.count() == 1
    assert ActivityEvent.objects.filter(type=EventType.MESSAGE_FROM_PATIENT).count() == 1


def test_the_same_id_with_another_body_is_a_conflict(patient):
    receive(patient, "The rash is spreading", message_id="portal-1")
    with pytest.raises(MessageConflict):
        receive(patient, "Something else", message_id="portal-1")
    assert Message.objects.get().body == "The rash is spreading"


def test_take_next_gives_urgent_first_then_the_oldest_due(nurse, patient):
    routine = receive(patient, "my medication refill")
    urgent = receive(patient, "trouble breathing tonight")
    assert message_claim_next(queue=Queue.NURSING, by=nurse) == urgent
    assert message_claim_next(queue=Queue.NURSING, by=nurse) == routine
    assert message_claim_next(queue=Queue.NURSING, by=nurse) is None


def test_a_nurse_cannot_claim_a_message_another_nurse_holds(nurse, patient):
    other = staff("olga", Role.NURSE)
    receive(patient, "my medication refill")
    assert message_claim_next(queue=Queue.NURSING, by=nurse) is not None
    assert message_claim_next(queue=Queue.NURSING, by=other) is None


def test_a_claim_untouched_for_thirty_minutes_returns_to_the_queue(nurse, patient):
    other = staff("olga", Role.NURSE)
    message = receive(patient, "my medication refill")
    message_claim_next(queue=Queue.NURSING, by=nurse)
    Message.objects.filter(pk=message.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert message_claim_next(queue=Queue.NURSING, by=other).owner == other


def test_the_sweep_releases_lapsed_claims_with_a_history_row(nurse, patient):
    message = receive(patient, "my medication refill")
    message_claim_next(queue=Queue.NURSING, by=nurse)
    Message.objects.filter(pk=message.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert message_release_lapsed() == 1
    message.refresh_from_db()
    assert (message.status, message.owner) == (MessageStatus.NEW, None)
    assert message.transitions.last().note == "Claim lapsed."


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_eight_nurses_taking_next_at_once_never_get_the_same_message():
    patient = PatientFactory()
    for n in range(40):
        receive(patient, f"medication refill number {n}", message_id=f"c-{n}")
    nurses = [staff(f"nurse{n}", Role.NURSE) for n in range(8)]
    barrier = threading.Barrier(8)
    claimed, failures = [], []

    def work(nurse):
        try:
            barrier.wait()
            while (message := message_claim_next(queue=Queue.NURSING, by=nurse)) is not None:
                claimed.append(message.pk)
        except Exception as error:  # collected, asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in nurses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(claimed) == 40
    assert len(set(claimed)) == 40


def test_a_reply_goes_to_the_outbox_and_the_event_log_and_stamps_the_response(nurse, patient):
    message = receive(patient, "my medication refill", message_id="portal-9")
    reply = message_reply(message=message, body="Refill sent to your pharmacy.", by=nurse)
    message.refresh_from_db()
    assert message.status == MessageStatus.ANSWERED
    assert message.first_reply_at == reply.sent_at
    assert OutboxItem.objects.filter(reply=reply).exists()
    event = ActivityEvent.objects.get(type=EventType.MESSAGE_TO_PATIENT)
    assert (event.reply_to, event.channel) == ("portal-9", "portal")


def test_a_template_fills_in_the_patients_name_and_the_practice_phone(client, nurse, patient):
    template = ReplyTemplate.objects.create(
        category="clinical",
        name="Refill",
        body="Hi {first_name}, call {practice_phone}. {staff_name}",
    )
    message = receive(patient, "my medication refill")
    client.force_login(nurse)
    page = client.get(
        reverse("messaging:detail", kwargs={"pk": message.pk}), {"template": template.pk}
    )
    assert f"Hi {patient.given_name}, call (555) 010-0100. Nora" in page.content.decode()


def test_a_clinical_message_cannot_be_closed_without_a_chart_note(nurse, patient):
    message = receive(patient, "swelling after surgery")
    message_reply(message=message, body="Keep it raised; call if it gets red.", by=nurse)
    with pytest.raises(MessagingError, match="chart note"):
        message_close(message=message, by=nurse)
    closed = message_close(message=message, by=nurse, chart_note="Patient asked about swelling.")
    assert closed.status == MessageStatus.CLOSED
    assert ChartNote.objects.get(message=message).written_by == nurse


def test_an_administrative_message_closes_without_a_note_unless_it_bears_on_care(
    front_desk_clerk, patient
):
    plain = receive(patient, "please update my address")
    assert message_close(message=plain, by=front_desk_clerk).status == MessageStatus.CLOSED
    care = receive(patient, "reschedule my appointment for the post-op check")
    Message.objects.filter(pk=care.pk).update(care_related=True)
    care.refresh_from_db()
    with pytest.raises(MessagingError):
        message_close(message=care, by=front_desk_clerk)


def test_a_new_message_in_an_answered_thread_reopens_it(nurse, patient):
    first = receive(patient, "my medication refill", thread_id="t-1")
    message_reply(message=first, body="Done.", by=nurse)
    waiting = receive(patient, "and my inhaler", thread_id="t-2")  # not answered yet
    other_patient = PatientFactory()

    again = receive(patient, "it did not arrive at the pharmacy", thread_id="t-1")
    in_an_open_thread = receive(patient, "any news?", thread_id="t-2")
    in_a_new_thread = receive(patient, "new question", thread_id="t-3")
    same_thread_id_elsewhere = receive(other_patient, "my refill", thread_id="t-1")

    assert again.status == MessageStatus.NEW
    arrival = again.transitions.get()
    assert (arrival.from_status, arrival.to_status) == ("", MessageStatus.NEW)
    assert arrival.note == "Reopened: the patient wrote again in an answered thread."
    for message in (waiting, in_an_open_thread, in_a_new_thread, same_thread_id_elsewhere):
        assert message.transitions.get().note == ""
    first.refresh_from_db()
    assert first.status == MessageStatus.ANSWERED


def test_escalating_puts_it_on_the_providers_task_list(client, nurse, patient):
    doctor = staff("drkim", Role.PROVIDER, first_name="Grace")
    provider = ProviderFactory(user=doctor)
    other_doctor = staff("drlee", Role.PROVIDER)
    ProviderFactory(user=other_doctor)
    patient.primary_provider = provider
    patient.save()
    message = receive(patient, "new pain in my knee")
    with pytest.raises(MessagingError):
        message_escalate(message=message, note="", by=nurse)
    message_escalate(message=message, note="Please advise on imaging.", by=nurse)
    client.force_login(doctor)
    tasks = client.get(reverse("messaging:tasks")).content.decode()
    assert patient.family_name in tasks
    client.force_login(other_doctor)
    assert client.get(reverse("messaging:detail", kwargs={"pk": message.pk})).status_code == 403


def test_rerouting_needs_a_reason_and_moves_it_to_the_other_team(nurse, patient):
    message = receive(patient, "my medication refill")
    with pytest.raises(MessagingError):
        message_reroute(message=message, queue=Queue.BILLING, note=" ", by=nurse)
    moved = message_reroute(
        message=message, queue=Queue.BILLING, note="It is about a charge", by=nurse
    )
    assert (moved.queue, moved.category, moved.status) == (Queue.BILLING, "billing", "new")


def test_each_team_sees_only_its_queue(client, nurse, front_desk_clerk, billing_clerk, patient):
    clinical = receive(patient, "my medication refill")
    billing = receive(patient, "question about my bill")
    client.force_login(front_desk_clerk)
    assert client.get(reverse("messaging:queue", args=["nursing"])).status_code == 403
    assert client.get(reverse("messaging:detail", kwargs={"pk": clinical.pk})).status_code == 403
    client.force_login(billing_clerk)
    assert client.get(reverse("messaging:detail", kwargs={"pk": billing.pk})).status_code == 200
    client.force_login(nurse)
    assert client.get(reverse("messaging:detail", kwargs={"pk": billing.pk})).status_code == 403


def test_reading_a_message_body_is_logged(client, nurse, patient):
    message = receive(patient, "my medication refill")
    client.force_login(nurse)
    client.get(reverse("messaging:detail", kwargs={"pk": message.pk}))
    entry = AccessLogEntry.objects.get(resource="message")
    assert (entry.user, entry.patient, entry.object_id) == (nurse, patient, str(message.pk))


def test_the_body_is_shown_as_text_never_as_html(client, nurse, patient):
    message = receive(patient, "my medication refill <script>alert(1)</script><b>x</b>")
    client.force_login(nurse)
    html = client.get(reverse("messaging:detail", kwargs={"pk": message.pk})).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_queue_shows_when_a_patient_prefers_the_phone(client, nurse, patient):
    patient.prefers_phone_for_clinical = True
    patient.save()
    message = receive(patient, "my medication refill")
    client.force_login(nurse)
    assert (
        "prefers phone" in client.get(reverse("messaging:queue", args=["nursing"])).content.decode()
    )
    response = client.post(
        reverse("messaging:call", kwargs={"pk": message.pk}),
        {"summary": "Called, refill confirmed"},
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.ANSWERED


def test_every_nurse_sees_the_urgent_alert(client, nurse, patient):
    receive(patient, "trouble breathing")
    client.force_login(nurse)
    alert = client.get(reverse("messaging:urgent_alert")).content.decode()
    assert "1 urgent message is waiting for a nurse." in alert


def test_take_next_from_the_page_opens_the_message(client, nurse, patient):
    message = receive(patient, "my medication refill")
    client.force_login(nurse)
    response = client.post(reverse("messaging:take_next", args=["nursing"]))
    assert response.url == reverse("messaging:detail", kwargs={"pk": message.pk})
    empty = client.post(reverse("messaging:take_next", args=["nursing"]), follow=True)
    assert "Nothing waiting in this queue" in empty.content.decode()


def arrived(family_name, text, *, days_ago=0):
    """A message from a patient of that name, received `days_ago` days before now."""
    patient = PatientFactory(family_name=family_name)
    inbound = Inbound(
        message_id=f"cp-{family_name}",
        patient=patient,
        subject="",
        body=text,
        sent_at=SENT,
        thread_id="",
    )
    received = timezone.now() - dt.timedelta(days=days_ago)
    return message_receive(inbound=inbound, now=received)[0]


# Who each checkpoint lists (workflows.md): morning, what arrived overnight and is
# still new; noon, what is still unanswered; end of day, everything open, overdue first.
CHECKPOINT_LISTS = {
    "morning": ["Nightingale", "Feedanswer"],
    "noon": ["Oldfield", "Nightingale", "Claimson"],
    "end-of-day": ["Oldfield", "Nightingale", "Claimson", "Feedanswer"],
}


@pytest.mark.parametrize("checkpoint", ["morning", "noon", "end-of-day"])
def test_the_days_checkpoints_list_what_they_should(client, nurse, checkpoint):
    claimed = arrived("Claimson", "my medication refill")  # overnight, claimed already
    assert message_claim_next(queue=Queue.NURSING, by=staff("olga", Role.NURSE)) == claimed
    arrived("Nightingale", "my medication refill")  # overnight, new: in all three
    arrived("Oldfield", "my medication refill", days_ago=10)  # before last night, new
    # Answered through the portal's feed: a response event naming it, still new here.
    answered = arrived("Feedanswer", "my medication refill")
    logged_event(
        answered.patient,
        "reply-by-portal-1",
        EventType.MESSAGE_TO_PATIENT,
        SENT + dt.timedelta(hours=1),
        object_id="portal-reply-1",
        reply_to=answered.message_id,
    )
    replied = arrived("Repliedto", "my medication refill")  # answered: in none
    message_reply(message=replied, body="Refill sent.", by=nurse)
    client.force_login(nurse)

    page = client.get(reverse("messaging:checkpoint", args=["nursing", checkpoint]))

    assert page.status_code == 200
    html = page.content.decode()
    listed = [name for name in CHECKPOINT_LISTS["end-of-day"] + ["Repliedto"] if name in html]
    assert sorted(listed) == sorted(CHECKPOINT_LISTS[checkpoint])
    if checkpoint == "end-of-day":
        # Overdue first: Mr. Oldfield's was due ten days ago.
        assert html.index("Oldfield") < html.index("Nightingale")


def test_chart_notes_are_exported_for_the_ehr_once(client, nurse, patient):
    message = receive(patient, "swelling after surgery")
    message_reply(message=message, body="Keep it raised.", by=nurse)
    message_close(message=message, by=nurse, chart_note="Asked about swelling; reassured.")
    client.force_login(nurse)
    export = client.post(reverse("messaging:notes"))
    assert "Asked about swelling; reassured." in export.content.decode()
    assert ChartNote.objects.get().exported_at is not None
    assert (
        "Every chart note has been filed" in client.get(reverse("messaging:notes")).content.decode()
    )


def test_due_soon_and_overdue(patient, settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    # Wednesday 14 January 2026 at 10:00 in New York: due inside the practice at 17:00.
    received = dt.datetime(2026, 1, 14, 15, 0, tzinfo=dt.UTC)
    inbound = Inbound(
        message_id="sla-1", patient=patient, subject="", body="my medication refill", sent_at=SENT
    )
    message = message_receive(inbound=inbound, now=received)[0]
    due = dt.datetime(2026, 1, 14, 22, 0, tzinfo=dt.UTC)
    assert message.internal_due_at == due
    assert sla_state(message, now=due - dt.timedelta(hours=1, minutes=1)) == Sla.ON_TIME
    assert sla_state(message, now=due - dt.timedelta(hours=1)) == Sla.DUE_SOON
    assert sla_state(message, now=due) == Sla.DUE_SOON
    assert sla_state(message, now=due + dt.timedelta(seconds=1)) == Sla.OVERDUE


def test_the_nurses_home_page_shows_where_the_day_stands(client, nurse, patient):
    receive(patient, "trouble breathing")
    receive(patient, "my medication refill")
    client.force_login(nurse)
    page = client.get(reverse("home")).content.decode()
    assert "Nursing queue today" in page
    assert "2 open" in page
    assert "1 urgent" in page


def test_the_sweep_task_runs_the_same_release(nurse, patient):
    from messaging.tasks import release_lapsed_claims

    message = receive(patient, "my medication refill")
    message_claim_next(queue=Queue.NURSING, by=nurse)
    Message.objects.filter(pk=message.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert release_lapsed_claims.apply().get() == 1


def test_a_nurse_records_that_the_patient_prefers_the_phone(client, nurse, patient):
    message = receive(patient, "my medication refill")
    client.force_login(nurse)
    client.post(
        reverse("messaging:phone_preference", kwargs={"pk": message.pk}), {"prefers_phone": "1"}
    )
    patient.refresh_from_db()
    assert patient.prefers_phone_for_clinical
    assert (
        "prefers phone" in client.get(reverse("messaging:queue", args=["nursing"])).content.decode()
    )
