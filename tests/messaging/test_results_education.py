"""Results education and activity alerts by text: the frequent rules (issue 13)."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from messaging.models import (
    Communication,
    OptOut,
    OutboxItem,
    OutreachSetting,
    Reply,
    ResultEducationItem,
)
from messaging.outreach import communication_send, outreach_run, sms_inbound
from messaging.outreach.frequent import frequent_run
from messaging.services import Inbound, message_receive, message_reply
from patients.models import EventType
from tests.conftest import requires_postgres
from tests.factories import ActivityEventFactory, PatientFactory

DAY = dt.date(2026, 3, 18)
MOBILE = "+12025550177"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


RELEASE = at(DAY, 9)


class RecordingSms:
    sent: list = []

    def send(self, *, to, text):
        RecordingSms.sent.append((to, text))
        return "ok"


@pytest.fixture(autouse=True)
def _email_and_sms(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "tests.messaging.test_results_education.RecordingSms"
    RecordingSms.sent = []


class Clock:
    def __init__(self, monkeypatch):
        self.now = RELEASE
        monkeypatch.setattr(timezone, "now", lambda: self.now)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def enrolled(**fields):
    patient = PatientFactory(**fields)
    ActivityEventFactory(
        patient=patient,
        type=EventType.PORTAL_ACTIVATED,
        channel="front_desk",
        occurred_at=at(DAY - dt.timedelta(days=30), 10),
    )
    return patient


def released(patient, when=RELEASE, object_id="LAB-HBA1C-778"):
    return ActivityEventFactory(
        patient=patient, type=EventType.RESULT_RELEASED, occurred_at=when, object_id=object_id
    )


def viewed(patient, when, object_id="LAB-HBA1C-778"):
    return ActivityEventFactory(
        patient=patient, type=EventType.RESULT_VIEWED, occurred_at=when, object_id=object_id
    )


def sweep(clock, when):
    clock.now = when
    return frequent_run(now=when, synchronous=True)[0]


def education():
    return Communication.objects.filter(rule="results_education")


def alerts():
    return Communication.objects.filter(rule="activity_alert")


# --- Results education ----------------------------------------------------------


def test_a_result_unviewed_for_three_hours_59_gets_nothing_and_at_four_hours_one_message(db, clock):
    patient = enrolled()
    released(patient)
    sweep(clock, RELEASE + dt.timedelta(hours=3, minutes=59))
    assert not education().exists()
    counts = sweep(clock, RELEASE + dt.timedelta(hours=4))
    assert counts["results_education"]["claimed"] == 1
    message = education().get()
    assert (message.patient, message.status, message.period) == (patient, "sent", "2026-03-18")
    assert [m.to for m in mail.outbox] == [[patient.email]]
    assert "normal range" in mail.outbox[0].body


def test_a_result_viewed_at_three_hours_59_gets_no_message(db, clock):
    patient = enrolled()
    released(patient)
    viewed(patient, RELEASE + dt.timedelta(hours=3, minutes=59))
    sweep(clock, RELEASE + dt.timedelta(hours=4))
    assert not education().exists()


def test_a_view_of_another_result_does_not_count_as_viewing_this_one(db, clock):
    patient = enrolled()
    released(patient)
    viewed(patient, RELEASE + dt.timedelta(hours=1), object_id="LAB-OTHER-1")
    sweep(clock, RELEASE + dt.timedelta(hours=4))
    assert education().count() == 1


def test_without_an_object_id_any_view_after_the_release_counts(db, clock):
    seen, unseen = enrolled(), enrolled()
    released(seen, object_id="")
    released(unseen, object_id="")
    viewed(seen, RELEASE + dt.timedelta(hours=2), object_id="")
    viewed(unseen, RELEASE - dt.timedelta(hours=2), object_id="")  # before: not this one
    sweep(clock, RELEASE + dt.timedelta(hours=4))
    assert list(education().values_list("patient", flat=True)) == [unseen.pk]


def test_the_message_holds_no_result_name_nor_id(db, clock):
    patient = enrolled(notification_channel="sms", mobile_phone=MOBILE)
    released(patient, object_id="LAB-PSA-99 Prostate specific antigen")
    sweep(clock, RELEASE + dt.timedelta(hours=5))
    message = education().get()
    # The release also brought an activity alert: neither names the result.
    assert len(RecordingSms.sent) == 2
    texts = [text for _to, text in RecordingSms.sent]
    assert any("normal range" in text for text in texts)
    for written in (message.body, message.subject, *texts):
        assert "LAB-PSA-99" not in written
        assert "Prostate" not in written


def test_two_results_the_same_day_get_one_message_covering_both(db, clock):
    patient = enrolled()
    released(patient, object_id="R1")
    released(patient, RELEASE + dt.timedelta(hours=1), object_id="R2")
    sweep(clock, RELEASE + dt.timedelta(hours=4))
    sweep(clock, RELEASE + dt.timedelta(hours=5))
    assert education().count() == 1
    assert len(mail.outbox) == 1
    # R2 was not due at the first sweep: it waits for another day's message.
    assert list(ResultEducationItem.objects.values_list("result_key", flat=True)) == ["R1"]


def test_two_results_due_at_once_are_covered_by_one_message(db, clock):
    patient = enrolled()
    released(patient, object_id="R1")
    released(patient, RELEASE + dt.timedelta(minutes=30), object_id="R2")
    sweep(clock, RELEASE + dt.timedelta(hours=6))
    message = education().get()
    assert sorted(message.result_items.values_list("result_key", flat=True)) == ["R1", "R2"]


def test_another_result_the_next_day_gets_another_message_and_the_first_never_again(db, clock):
    patient = enrolled()
    released(patient, object_id="R1")
    sweep(clock, RELEASE + dt.timedelta(hours=4))
    next_day = RELEASE + dt.timedelta(days=1)
    released(patient, next_day, object_id="R2")
    sweep(clock, next_day + dt.timedelta(hours=4))
    sweep(clock, next_day + dt.timedelta(days=1, hours=4))  # R1, R2 still not viewed
    assert list(education().order_by("pk").values_list("period", flat=True)) == [
        "2026-03-18",
        "2026-03-19",
    ]
    assert sorted(ResultEducationItem.objects.values_list("result_key", flat=True)) == [
        "R1",
        "R2",
    ]
    assert len(mail.outbox) == 2


def test_the_same_result_released_twice_is_covered_once(db, clock):
    patient = enrolled()
    released(patient, object_id="R1")
    sweep(clock, RELEASE + dt.timedelta(hours=4))
    released(patient, RELEASE + dt.timedelta(days=1), object_id="R1")  # a corrected release
    sweep(clock, RELEASE + dt.timedelta(days=1, hours=5))
    assert education().count() == 1


def test_a_patient_not_enrolled_gets_no_results_message(db, clock):
    released(PatientFactory())
    sweep(clock, RELEASE + dt.timedelta(hours=4))
    assert not education().exists()


def test_the_managers_wait_replaces_the_four_hours(db, clock):
    OutreachSetting.objects.create(rule="results_education", options={"wait_hours": 2})
    released(enrolled())
    sweep(clock, RELEASE + dt.timedelta(hours=1, minutes=59))
    assert not education().exists()
    sweep(clock, RELEASE + dt.timedelta(hours=2))
    assert education().count() == 1


def test_a_results_text_due_in_quiet_hours_waits_until_eight(db, clock):
    patient = enrolled(notification_channel="sms", mobile_phone=MOBILE)
    evening_release = at(DAY, 18)
    released(patient, evening_release)
    sweep(clock, at(DAY, 22, 15))
    message = education().get()
    assert (message.status, message.not_before) == ("queued", at(DAY + dt.timedelta(days=1), 8))
    assert RecordingSms.sent == []
    clock.now = at(DAY + dt.timedelta(days=1), 7, 59)
    assert communication_send(message.pk) == "queued"
    sweep(clock, at(DAY + dt.timedelta(days=1), 8))
    assert [to for to, _text in RecordingSms.sent] == [MOBILE]


def test_an_opted_out_patient_gets_no_results_message_and_the_result_is_not_tried_again(db, clock):
    patient = enrolled()
    OptOut.objects.create(patient=patient, channel="email", source="test")
    released(patient)
    sweep(clock, RELEASE + dt.timedelta(hours=4))
    sweep(clock, RELEASE + dt.timedelta(days=1, hours=4))
    message = education().get()
    assert (message.status, message.reason) == ("suppressed", "opted out")
    assert mail.outbox == []


def test_a_switched_off_results_rule_sends_nothing(db, clock):
    OutreachSetting.objects.create(rule="results_education", enabled=False)
    released(enrolled())
    counts = sweep(clock, RELEASE + dt.timedelta(hours=4))
    assert counts["results_education"]["switched_off"] == 1
    assert not education().exists()


def test_the_nightly_run_sends_results_education_too(db, clock):
    released(enrolled())
    clock.now = RELEASE + dt.timedelta(hours=4)
    run = outreach_run(today=DAY, synchronous=True)
    assert run.counts["results_education"]["claimed"] == 1
    assert [m.subject for m in mail.outbox].count("A new result is in your patient portal") == 1


# --- Activity alerts by text ------------------------------------------------------


def texting(**fields):
    return enrolled(notification_channel="sms", mobile_phone=MOBILE, **fields)


def received(patient, when):
    return message_receive(
        inbound=Inbound(
            message_id=f"alert-{patient.pk}-{when:%H%M}",
            patient=patient,
            subject="My lab results",
            body="What do they mean?",
            sent_at=when - dt.timedelta(hours=1),
        )
    )[0]


def staff_reply(patient, nurse, when, body="Your potassium is 5.9, stop the spironolactone."):
    """A reply in the outbox at `when` (as message_reply leaves it; that service stamps
    the real time, see the test through it below)."""
    reply = Reply.objects.create(
        message=received(patient, when), body=body, sent_by=nurse, sent_at=when
    )
    OutboxItem.objects.create(reply=reply, created_at=when)
    return reply


def test_a_reply_sent_through_the_queue_brings_an_alert(db, nurse, monkeypatch):
    monkeypatch.setattr("messaging.outreach.frequent.quiet_hours_end", lambda moment: moment)
    monkeypatch.setattr("messaging.outreach.quiet_hours_end", lambda moment: moment)
    patient = texting()
    message = received(patient, timezone.now())
    message_reply(message=message, body="Your potassium is 5.9.", by=nurse)
    frequent_run(synchronous=True)
    ((to, text),) = RecordingSms.sent
    assert to == MOBILE and "new message" in text and "potassium" not in text


def test_a_staff_reply_texts_a_patient_who_chose_sms_without_its_content(db, clock, nurse):
    patient = texting()
    staff_reply(patient, nurse, at(DAY, 10))
    counts = sweep(clock, at(DAY, 10, 5))
    assert counts["activity_alert"]["claimed"] == 1
    ((to, text),) = RecordingSms.sent
    assert to == MOBILE
    assert text.startswith(
        "You have a new message from Riverside Family Practice in the patient portal: "
    )
    assert "potassium" not in text and "lab" not in text.lower()
    assert alerts().get().channel == "sms"


def test_a_patient_who_chose_email_gets_no_activity_alert(db, clock, nurse):
    staff_reply(enrolled(notification_channel="email"), nurse, at(DAY, 10))
    released(enrolled(), at(DAY, 10))
    sweep(clock, at(DAY, 10, 5))
    assert not alerts().exists()
    assert RecordingSms.sent == []


def test_a_released_result_texts_a_patient_who_chose_sms(db, clock):
    patient = texting()
    released(patient, at(DAY, 10))
    sweep(clock, at(DAY, 10, 5))
    assert alerts().get().patient == patient
    assert len(RecordingSms.sent) == 1


def test_at_most_one_alert_an_hour_59_minutes_no_and_60_minutes_yes(db, clock, nurse):
    patient = texting()
    released(patient, at(DAY, 10), object_id="R1")
    sweep(clock, at(DAY, 10, 5))
    staff_reply(patient, nurse, at(DAY, 10, 20))
    sweep(clock, at(DAY, 11, 4))  # 59 minutes after the first alert
    assert alerts().count() == 1
    sweep(clock, at(DAY, 11, 5))  # 60 minutes after
    assert alerts().count() == 2
    sweep(clock, at(DAY, 12, 30))  # nothing new since
    assert alerts().count() == 2
    assert len(RecordingSms.sent) == 2


def test_activity_already_alerted_is_not_alerted_again(db, clock):
    patient = texting()
    released(patient, at(DAY, 10))
    sweep(clock, at(DAY, 10, 5))
    sweep(clock, at(DAY, 11, 10))
    sweep(clock, at(DAY, 14, 0))
    assert alerts().count() == 1


def test_a_patient_who_texted_stop_gets_no_alert(db, clock):
    patient = texting()
    sms_inbound(from_number=MOBILE, body="STOP")
    released(patient, at(DAY, 10))
    sweep(clock, at(DAY, 10, 5))
    assert (alerts().get().status, alerts().get().reason) == ("suppressed", "opted out")
    assert RecordingSms.sent == []


def test_activity_in_quiet_hours_is_alerted_at_eight(db, clock):
    patient = texting()
    released(patient, at(DAY, 22), object_id="R-late")
    sweep(clock, at(DAY, 22, 5))
    assert not alerts().exists()
    sweep(clock, at(DAY + dt.timedelta(days=1), 8))
    assert alerts().get().patient == patient
    assert [text for _to, text in RecordingSms.sent if "new message" in text] == [
        alerts().get().body + " Reply STOP to opt out."
    ]


def test_old_activity_brings_no_alert(db, clock):
    released(texting(), at(DAY, 8))
    sweep(clock, at(DAY, 20, 1))  # 12 hours and a minute later
    assert not alerts().exists()


def test_a_switched_off_alert_rule_sends_nothing(db, clock):
    OutreachSetting.objects.create(rule="activity_alert", enabled=False)
    released(texting(), at(DAY, 10))
    counts = sweep(clock, at(DAY, 10, 5))
    assert counts["activity_alert"] == {
        "claimed": 0,
        "already": 0,
        "suppressed": 0,
        "failed": 0,
        "switched_off": 1,
    }
    assert not alerts().exists()


def test_the_sweep_is_in_the_beat_schedule_and_takes_no_arguments(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["frequent-outreach"]
    assert entry["task"] == "messaging.tasks.frequent_outreach"
    assert entry["schedule"] <= 600
    assert not entry.get("args")


# --- Two workers at once ------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_results_message_and_one_alert_per_patient(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "tests.messaging.test_results_education.RecordingSms"
    RecordingSms.sent = []
    now = at(DAY, 15)
    patients = [texting() for _ in range(6)]
    for patient in patients:
        released(patient, at(DAY, 9), object_id=f"R-{patient.pk}-a")
        released(patient, at(DAY, 14, 30), object_id=f"R-{patient.pk}-b")
    barrier = threading.Barrier(2)
    failures = []

    def worker(moment):
        try:
            barrier.wait()
            frequent_run(now=moment, synchronous=True)
        except Exception as error:  # collected, asserted below
            failures.append(error)
        finally:
            connection.close()

    # Two moments a few seconds apart: the alert's one-hour rule, not its period, must hold.
    threads = [
        threading.Thread(target=worker, args=(now,)),
        threading.Thread(target=worker, args=(now + dt.timedelta(seconds=7),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert education().count() == 6
    assert alerts().count() == 6
    assert ResultEducationItem.objects.count() == 6
    assert len(RecordingSms.sent) == 12


def test_the_demo_sends_results_education_once_through_the_claims(db):
    from messaging.demo import demo_results_education

    patient = enrolled()
    two_days_ago = timezone.localdate() - dt.timedelta(days=2)
    released(patient, at(two_days_ago, 9), object_id="demo-res-1")
    assert demo_results_education(days=5) == 1
    assert demo_results_education(days=5) == 0
    message = education().get()
    assert (message.status, message.job, message.period) == ("sent", "demo", f"{two_days_ago}")
    assert list(message.result_items.values_list("result_key", flat=True)) == ["demo-res-1"]
