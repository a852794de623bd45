"""One response time: a call that answers a message is a response, everywhere.

metrics.md: the first response to a patient's message is the earliest
message_to_patient OR response_by_phone of the same patient naming it in
reply_to, at or after the message. Nora's call writes that event; the queue,
the checkpoints and Maria's response-time report read the same pairs as the
dashboard.
"""

import datetime as dt
import io
import itertools
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from messaging.models import CallLog, Message, MessageStatus
from messaging.selectors import (
    Sla,
    checkpoint_messages,
    queue_counts,
    queue_messages,
    sla_state,
    urgent_open,
)
from messaging.selectors.reports import (
    response_times_by_category,
    response_times_by_hour_of_week,
)
from messaging.services import Inbound, message_log_call, message_receive
from metrics.compute import month_figures
from patients.models import ActivityEvent, Channel, EventSource, EventType
from tests.factories import ActivityEventFactory, PatientFactory

NEW_YORK = ZoneInfo("America/New_York")
KEY = "0c2d9a7b5e8f4a1b9c3d2e1f0a9b8c7d"
_ids = itertools.count(1)


def local(*args):
    return dt.datetime(*args, tzinfo=NEW_YORK)


def receive(patient, body="The rash is spreading since yesterday.", sent_at=None):
    inbound = Inbound(
        message_id=f"answer-{next(_ids)}",
        patient=patient,
        subject="Question",
        body=body,
        sent_at=sent_at or timezone.now(),
    )
    return message_receive(inbound=inbound)[0]


def feed_event(patient, type, at, *, object_id=None, reply_to="", channel=Channel.PORTAL):
    """An event as the portal's feed sends it: no message row in the queue behind it."""
    return ActivityEventFactory(
        patient=patient,
        type=type,
        occurred_at=at,
        object_id=object_id or f"feed-{next(_ids)}",
        reply_to=reply_to,
        channel=channel,
        source=EventSource.FEED_API,
    )


def question(patient, at, object_id=None):
    return feed_event(
        patient, EventType.MESSAGE_FROM_PATIENT, at, object_id=object_id or f"q-{next(_ids)}"
    ).object_id


def portal_reply(patient, at, message_id):
    return feed_event(patient, EventType.MESSAGE_TO_PATIENT, at, reply_to=message_id)


def call_back(patient, at, message_id):
    return feed_event(
        patient, EventType.RESPONSE_BY_PHONE, at, reply_to=message_id, channel=Channel.PHONE
    )


# --- Nora logs a call: the event --------------------------------------------------------


def test_nora_calling_a_patient_back_writes_one_response_by_phone_naming_the_message(
    client, nurse, patient
):
    message = receive(patient)
    client.force_login(nurse)
    url = reverse("messaging:call", args=[message.pk])
    data = {"summary": "Talked it through; she will send a photo.", "idempotency_key": KEY}
    client.post(url, data, follow=True)
    client.post(url, data, follow=True)  # the double click
    call = CallLog.objects.get(message=message)
    event = ActivityEvent.objects.get(type=EventType.RESPONSE_BY_PHONE)
    assert event.patient == patient
    assert event.reply_to == message.message_id
    assert event.channel == Channel.PHONE
    assert event.object_id == f"call-{call.pk}"
    assert event.occurred_at == call.called_at
    assert event.source == EventSource.APPLICATION
    assert not ActivityEvent.objects.filter(type=EventType.MESSAGE_TO_PATIENT).exists()
    message.refresh_from_db()
    assert message.first_reply_at == call.called_at
    assert message.status == MessageStatus.ANSWERED


def test_every_call_on_a_message_is_a_response_but_only_the_first_is_its_first_response(
    nurse, patient
):
    message = receive(patient)
    first = message_log_call(message=message, summary="No answer; left a voicemail.", by=nurse)
    message_log_call(message=message, summary="Reached her; reassured.", by=nurse)
    assert ActivityEvent.objects.filter(type=EventType.RESPONSE_BY_PHONE).count() == 2
    message.refresh_from_db()
    assert message.first_reply_at == first.called_at


# --- The report: calls are responses, counted beside the times ---------------------------


def test_a_message_nora_answered_by_phone_is_answered_by_phone_in_the_report(
    client, nurse, manager, patient
):
    message = receive(patient)
    message_log_call(message=message, summary="Called her back; reassured.", by=nurse)
    today = timezone.localdate()
    report = response_times_by_category(today.replace(day=1), today)
    assert (report.total.replied, report.total.responses_by_phone) == (1, 1)
    clinical = report.rows[0]
    assert (clinical.key, clinical.replied, clinical.responses_by_phone) == ("clinical", 1, 1)
    grid = response_times_by_hour_of_week(today)
    assert sum(row.responses_by_phone for row in grid.summaries) == 1
    call_command("rollup_metrics", "--all", stdout=io.StringIO())  # the page reads the rollup
    client.force_login(manager)
    html = client.get(reverse("messaging:report_response_times")).content.decode()
    assert "Answered by phone" in html


def replies_and_calls_in_january(patient, *, with_weekend: bool = False) -> None:
    """Questions answered by calls and portal replies in every order that matters."""
    # Tuesday 6 January 2026: answered by phone at 10:00, by the portal at 11:00: 1 h by phone.
    called_first = question(patient, local(2026, 1, 6, 9, 0))
    call_back(patient, local(2026, 1, 6, 10, 0), called_first)
    portal_reply(patient, local(2026, 1, 6, 11, 0), called_first)
    # Replied at 12:00, called at 13:00: 3 h, not by phone.
    replied_first = question(patient, local(2026, 1, 6, 9, 0))
    portal_reply(patient, local(2026, 1, 6, 12, 0), replied_first)
    call_back(patient, local(2026, 1, 6, 13, 0), replied_first)
    # Only a call, the next day: 24 h by phone, past the internal target (17:00 that day).
    only_called = question(patient, local(2026, 1, 7, 10, 0))
    call_back(patient, local(2026, 1, 8, 10, 0), only_called)
    # A call before the message it names is not its answer; one naming no message is nobody's.
    early = question(patient, local(2026, 1, 9, 10, 0))
    call_back(patient, local(2026, 1, 9, 9, 0), early)
    call_back(patient, local(2026, 1, 9, 11, 0), "no-such-message")
    # Another patient's call naming the message does not answer it.
    call_back(PatientFactory(), local(2026, 1, 9, 9, 30), early)
    if with_weekend:
        # Friday evening, called back on Monday: 64 h by phone.
        weekend = question(patient, local(2026, 1, 9, 19, 0))
        call_back(patient, local(2026, 1, 12, 11, 0), weekend)


def test_the_first_response_is_the_earliest_reply_or_call_naming_the_message(patient):
    replies_and_calls_in_january(patient)

    report = response_times_by_category(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    total = report.total
    assert total.replied == 3
    assert total.responses_by_phone == 2
    assert total.mean_hours == 9.3  # (1 + 3 + 24) / 3
    assert total.median_hours == 3.0
    assert total.within_target == 2
    # The queue never held these messages: they are counted, in their own row.
    assert [row.key for row in report.rows][-1] == "not_in_queue"
    assert report.rows[-1].replied == 3

    grid = response_times_by_hour_of_week(dt.date(2026, 1, 1), now=local(2026, 1, 31, 12, 0))
    assert grid.business_hours.received == 4
    assert grid.business_hours.replied == 3
    assert grid.business_hours.responses_by_phone == 2


def test_the_report_and_the_dashboard_agree_on_the_same_event_log(patient):
    """The rollup pairs messages and replies (metrics/compute.py); so does the report.

    Portal replies only: on this branch the rollup does not count calls yet
    (another change brings metrics/compute.py to the same definition).
    """
    other = PatientFactory()
    # Monday 5 January: 2.5 h; the second reply changes nothing.
    first = question(patient, local(2026, 1, 5, 10, 0))
    portal_reply(patient, local(2026, 1, 5, 12, 30), first)
    portal_reply(patient, local(2026, 1, 5, 15, 0), first)
    # Friday evening to Monday 11:00: 64 h, in time (noon of the next business day).
    weekend = question(patient, local(2026, 1, 9, 19, 0))
    portal_reply(patient, local(2026, 1, 12, 11, 0), weekend)
    # The same message sent twice: timed from the first.
    twice = question(patient, local(2026, 1, 13, 9, 0))
    question(patient, local(2026, 1, 13, 9, 30), object_id=twice)
    portal_reply(patient, local(2026, 1, 13, 10, 0), twice)
    # A reply before the message is not its answer: 5 h to the real one.
    early = question(patient, local(2026, 1, 14, 9, 0))
    portal_reply(patient, local(2026, 1, 14, 8, 0), early)
    portal_reply(patient, local(2026, 1, 14, 14, 0), early)
    # Sent on New Year's Eve, answered on 2 January: January's, 41 h, late.
    new_year = question(patient, local(2025, 12, 31, 16, 0))
    portal_reply(patient, local(2026, 1, 2, 9, 0), new_year)
    # Answered in February: not January's.
    portal_reply(patient, local(2026, 2, 2, 9, 0), question(patient, local(2026, 1, 30, 16, 0)))
    # Another patient's reply naming this patient's message answers nothing.
    portal_reply(other, local(2026, 1, 20, 9, 0), question(patient, local(2026, 1, 20, 8, 0)))
    # A message in Nora's queue, answered from the queue's own reply event.
    queued = receive(patient, sent_at=local(2026, 1, 21, 9, 0))
    portal_reply(patient, local(2026, 1, 21, 9, 45), queued.message_id)

    report = response_times_by_category(dt.date(2026, 1, 1), dt.date(2026, 1, 31)).total
    dashboard = month_figures(dt.date(2026, 1, 1))
    assert report.replied == 6
    # 2.5, 64, 1, 5, 41 and 0.75 hours; all but New Year's Eve within the target.
    assert report.mean_hours == dashboard["avg_response_hours"] == 19.0
    assert report.median_hours == dashboard["median_response_hours"] == 3.8
    assert report.within_target / report.replied == dashboard["response_within_target_share"]
    assert report.within_target == 5


# --- The queue: answered is answered, whoever wrote the answer --------------------------


def test_a_message_answered_through_the_portal_is_answered_in_nora_s_queue(patient):
    message = receive(patient, body="I have chest pain since this morning.")
    assert message.urgent
    portal_reply(patient, timezone.now(), message.message_id)
    shown = queue_messages(message.queue).get(pk=message.pk)
    after_the_target = message.internal_due_at + dt.timedelta(minutes=1)
    assert sla_state(shown, now=after_the_target) == Sla.ON_TIME
    assert sla_state(Message.objects.get(pk=message.pk), now=after_the_target) == Sla.ON_TIME
    assert not urgent_open().exists()
    assert message not in checkpoint_messages(message.queue, "noon")
    assert queue_counts(message.queue)["urgent"] == 1


def test_the_queue_counts_as_overdue_only_the_late_messages_nobody_answered(patient):
    answered, _unanswered, answered_too_early, not_due = (receive(patient) for _ in range(4))
    late = timezone.now() - dt.timedelta(hours=2)
    Message.objects.exclude(pk=not_due.pk).update(internal_due_at=late)
    Message.objects.filter(pk=not_due.pk).update(
        internal_due_at=timezone.now() + dt.timedelta(hours=3)
    )
    portal_reply(patient, timezone.now(), answered.message_id)
    portal_reply(
        patient, answered_too_early.sent_at - dt.timedelta(hours=1), answered_too_early.message_id
    )

    counts = queue_counts(answered.queue)

    assert (counts["open"], counts["overdue"]) == (4, 2)  # unanswered, answered_too_early


def test_a_call_answers_an_urgent_message_in_the_queue(nurse, patient):
    message = receive(patient, body="I have chest pain since this morning.")
    assert urgent_open().exists()
    message_log_call(message=message, summary="Told her to call 911 now.", by=nurse)
    assert not urgent_open().exists()
    assert sla_state(Message.objects.get(pk=message.pk)) == Sla.ON_TIME


def test_a_reply_dated_before_the_message_does_not_answer_it(patient):
    message = receive(patient, body="The rash is spreading.")
    portal_reply(patient, message.sent_at - dt.timedelta(hours=1), message.message_id)
    assert queue_messages(message.queue).get(pk=message.pk).first_response_at is None
    assert message in checkpoint_messages(message.queue, "noon")


def test_with_calls_the_report_and_the_dashboard_still_agree(patient):
    replies_and_calls_in_january(patient, with_weekend=True)

    report = response_times_by_category(dt.date(2026, 1, 1), dt.date(2026, 1, 31)).total
    dashboard = month_figures(dt.date(2026, 1, 1))
    assert (report.replied, report.responses_by_phone) == (4, 3)
    assert report.responses_by_phone == dashboard["responses_by_phone"]
    assert report.mean_hours == dashboard["avg_response_hours"] == 23.0
    assert report.median_hours == dashboard["median_response_hours"] == 13.5
    assert report.within_target / report.replied == dashboard["response_within_target_share"]
