"""The nightly workers remind, nudge and survey patients, and never spam one."""

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import io
import threading

import pytest
from django.core import mail, signing
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from messaging import channels, outreach
from messaging.models import Communication, NightlyRun, OptOut, SurveyInvitation
from messaging.outreach import (
    communication_send,
    outreach_run,
    quiet_hours_end,
    survey_answer,
)
from messaging.tasks import nightly_outreach
from patients.models import ActivityEvent, EventType, PatientLatest
from portal_adoption.models import NightlyFailure
from tests.conftest import requires_postgres
from tests.factories import ActivityEventFactory, PatientFactory

TODAY = dt.date(2026, 3, 18)


def at(day: dt.date, hour=10):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def invited(days_before: int, **fields):
    patient = PatientFactory(**fields)
    ActivityEventFactory(
        patient=patient,
        type=EventType.PORTAL_INVITED,
        channel="front_desk",
        occurred_at=at(TODAY - dt.timedelta(days=days_before)),
    )
    return patient


def reminders():
    return Communication.objects.filter(rule="no_login_reminder")


@pytest.fixture(autouse=True)
def _email_and_sms(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "tests.messaging.test_outreach.RecordingSms"
    RecordingSms.sent = []


class RecordingSms:
    sent: list = []

    def send(self, *, to, text):
        RecordingSms.sent.append((to, text))
        return "ok"


def test_a_patient_invited_seven_days_ago_gets_one_reminder_and_not_on_day_six(db):
    day_seven = invited(7)
    invited(6)
    outreach_run(today=TODAY, synchronous=True)
    assert list(reminders().values_list("patient", flat=True)) == [day_seven.pk]
    assert [m.to for m in mail.outbox] == [[day_seven.email]]
    body = mail.outbox[0].body
    assert body.startswith(f"Hello {day_seven.given_name}, your Riverside Family Practice")
    assert "{" not in body


def test_a_login_on_day_six_cancels_the_reminder(db):
    patient = invited(7)
    ActivityEventFactory(
        patient=patient, type=EventType.LOGIN, occurred_at=at(TODAY - dt.timedelta(days=1))
    )
    outreach_run(today=TODAY, synchronous=True)
    assert not reminders().exists()


@pytest.mark.parametrize("reading", ["kept latest", "the log"])
def test_a_login_before_the_invitation_does_not_cancel_the_reminder(db, reading):
    if reading == "the log":
        # A login kept past the window's far edge (a row stored before the feed checked
        # it) makes the rule read every patient's latest times from the log instead.
        PatientLatest.objects.create(
            patient=PatientFactory(), login_at=dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
        )
    invitation = at(TODAY - dt.timedelta(days=8))
    before = invited(8)  # logged in a minute before the front desk invited her
    ActivityEventFactory(
        patient=before, type=EventType.LOGIN, occurred_at=invitation - dt.timedelta(minutes=1)
    )
    long_before = invited(8)  # an old account, last used a year ago
    ActivityEventFactory(
        patient=long_before, type=EventType.LOGIN, occurred_at=invitation - dt.timedelta(days=365)
    )
    same_instant = invited(8)  # logged in at the desk as the invitation was recorded
    ActivityEventFactory(patient=same_instant, type=EventType.LOGIN, occurred_at=invitation)

    outreach_run(today=TODAY, synchronous=True)

    assert sorted(reminders().values_list("patient", flat=True)) == [before.pk, long_before.pk]


def test_running_the_night_twice_sends_each_reminder_once(db):
    invited(9)
    outreach_run(today=TODAY, synchronous=True)
    outreach_run(today=TODAY, synchronous=True)
    outreach_run(today=TODAY + dt.timedelta(days=1), synchronous=True)
    assert reminders().count() == 1
    assert len([m for m in mail.outbox if "patient portal is ready" in m.subject]) == 1


def test_an_opted_out_patient_gets_nothing_and_the_log_says_why(db):
    patient = invited(8)
    OptOut.objects.create(patient=patient, channel="email", source="test")
    outreach_run(today=TODAY, synchronous=True)
    communication = reminders().get()
    assert (communication.status, communication.reason) == ("suppressed", "opted out")
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("claimed", "may_go"),
    [
        ((19, 6, 0), (19, 8, 0)),  # early morning: 08:00 that morning
        ((19, 7, 59), (19, 8, 0)),  # a minute before eight: waits the minute
        ((19, 8, 0), (19, 8, 0)),  # at eight: goes now
        ((19, 9, 0), (19, 9, 0)),
        ((19, 20, 59), (19, 20, 59)),  # the last minute before nine: goes now
        ((19, 21, 0), (20, 8, 0)),  # at nine: waits for the next morning
        ((18, 22, 15), (19, 8, 0)),
    ],
    ids=["06:00", "07:59", "08:00", "09:00", "20:59", "21:00", "22:15"],
)
def test_a_text_due_in_quiet_hours_waits_until_eight(db, claimed, may_go):
    def march(day, hour, minute):
        return timezone.make_aware(dt.datetime(2026, 3, day, hour, minute))

    assert quiet_hours_end(march(*claimed)) == march(*may_go)


def test_a_text_claimed_at_night_is_not_sent_before_morning(db, monkeypatch):
    patient = invited(8, notification_channel="sms", mobile_phone="+12025550143")
    night = timezone.make_aware(dt.datetime(2026, 3, 18, 23, 0))
    monkeypatch.setattr(timezone, "now", lambda: night)
    outreach_run(today=TODAY, synchronous=True)
    communication = reminders().get(patient=patient)
    assert communication.status == "queued"
    assert RecordingSms.sent == []
    monkeypatch.setattr(timezone, "now", lambda: night + dt.timedelta(hours=9, minutes=1))
    assert communication_send(communication.pk) == "sent"
    assert RecordingSms.sent[0][0] == "+12025550143"
    assert "Reply STOP" in RecordingSms.sent[0][1]


def test_texts_are_in_the_patients_language_with_english_for_the_rest(db):
    spanish = invited(8, preferred_language="es")
    japanese = invited(8, preferred_language="ja")
    vietnamese = invited(8, preferred_language="vi")
    chinese = invited(8, preferred_language="zh-CN")
    creole = invited(8, preferred_language="ht")
    outreach_run(today=TODAY, synchronous=True)
    assert reminders().get(patient=spanish).subject == "Su portal del paciente está listo"
    assert reminders().get(patient=japanese).subject == "患者ポータルの準備ができました"
    reminder = reminders().get(patient=vietnamese)
    assert reminder.subject == "Cổng thông tin bệnh nhân của quý vị đã sẵn sàng"
    assert reminder.body.startswith(f"Xin chào {vietnamese.given_name}, cổng thông tin")
    assert reminders().get(patient=chinese).subject == "您的患者门户已准备就绪"
    # No texts in Haitian Creole: English.
    assert reminders().get(patient=creole).subject == "Your patient portal is ready"


def test_a_failure_between_claim_and_send_is_retried_without_a_duplicate(db, monkeypatch):
    patient = invited(8)
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise channels.DeliveryError("smtp down")

    monkeypatch.setattr(channels, "send_email", flaky)
    run = outreach_run(today=TODAY, synchronous=True)
    communication = reminders().get(patient=patient)
    assert (communication.status, communication.attempts) == ("queued", 1)
    assert run.failed == 1
    failure = NightlyFailure.objects.get()
    assert (failure.step, failure.patient_id) == (
        f"sending communication #{communication.pk}",
        patient.pk,
    )
    assert (failure.error_class, failure.message) == ("DeliveryError", "smtp down")
    assert communication_send(communication.pk) == "sent"
    assert communication_send(communication.pk) == "sent"  # a repeated task sends nothing
    assert len(calls) == 2


def test_a_send_interrupted_after_marking_is_never_resent(db, monkeypatch):
    patient = invited(8)
    outreach_run(today=TODAY)  # claimed; the send is enqueued after commit
    communication = reminders().get()
    assert (communication.status, mail.outbox) == ("queued", [])
    # The worker marked it "sending", then died before it knew whether the mail left.
    Communication.objects.filter(pk=communication.pk).update(status="sending", attempts=1)
    delivered = []
    monkeypatch.setattr(channels, "send_email", lambda **kwargs: delivered.append(kwargs))
    monkeypatch.setattr(channels, "send_sms", lambda **kwargs: delivered.append(kwargs))

    assert communication_send(communication.pk) == "sending"
    outreach_run(today=TODAY, synchronous=True)  # the next night does not resend it either

    assert delivered == []
    assert mail.outbox == []
    communication.refresh_from_db()
    assert (communication.status, communication.attempts, communication.sent_at) == (
        "sending",
        1,
        None,
    )
    assert reminders().filter(patient=patient).count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_night_at_once_send_each_reminder_once(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for _ in range(10):
        invited(8)
    barrier = threading.Barrier(2)
    failures = []

    def night():
        try:
            barrier.wait()
            outreach_run(today=TODAY, synchronous=True)
        except Exception as error:  # collected, asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=night) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert reminders().count() == 10
    assert reminders().filter(status="sent").count() == 10
    assert len([m for m in mail.outbox if "patient portal is ready" in m.subject]) == 10


REDIS_DOWN_SCRIPT = """
import datetime, django, json
django.setup()
from django.test import Client
from messaging.models import Communication
from messaging.outreach import outreach_run
outreach_run(today=datetime.date(2026, 3, 18))
page = Client().get("/login/")
print(json.dumps({
    "login_page": page.status_code,
    "statuses": list(Communication.objects.values_list("status", flat=True)),
}))
"""


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_web_still_works_and_the_next_run_sends(settings):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    invited(8)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": "redis://127.0.0.1:9/0",  # a closed port
        "ALLOWED_HOSTS": "testserver",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    result = subprocess.run(
        [sys.executable, "-c", REDIS_DOWN_SCRIPT],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["login_page"] == 200
    assert seen["statuses"] and set(seen["statuses"]) == {"queued"}
    assert "could not enqueue communication" in result.stderr
    # Redis is back: the next run sends what was left queued, once.
    outreach_run(today=TODAY, synchronous=True)
    assert set(reminders().values_list("status", flat=True)) == {"sent"}


def test_the_app_nudge_goes_to_patients_enrolled_two_weeks_without_the_app(db):
    nudged = PatientFactory()
    ActivityEventFactory(
        patient=nudged,
        type=EventType.PORTAL_ACTIVATED,
        occurred_at=at(TODAY - dt.timedelta(days=14)),
    )
    has_app = PatientFactory()
    ActivityEventFactory(
        patient=has_app,
        type=EventType.PORTAL_ACTIVATED,
        occurred_at=at(TODAY - dt.timedelta(days=20)),
    )
    ActivityEventFactory(patient=has_app, type=EventType.APP_INSTALLED, channel="app")
    outreach_run(today=TODAY, synchronous=True)
    nudges = Communication.objects.filter(rule="app_nudge")
    assert list(nudges.values_list("patient", flat=True)) == [nudged.pk]
    assert "Install the app" in nudges.get().body


def test_the_feature_of_the_month_reaches_every_enrolled_patient_once_a_month(db):
    enrolled = PatientFactory()
    ActivityEventFactory(patient=enrolled, type=EventType.PORTAL_ACTIVATED, occurred_at=at(TODAY))
    PatientFactory()  # not enrolled
    outreach_run(today=TODAY, synchronous=True)
    outreach_run(today=TODAY + dt.timedelta(days=3), synchronous=True)
    outreach_run(today=TODAY + dt.timedelta(days=20), synchronous=True)  # April
    features = Communication.objects.filter(rule="feature_of_month")
    assert sorted(features.values_list("period", flat=True)) == ["2026-03", "2026-04"]


def survey_token(patient):
    ActivityEventFactory(patient=patient, type=EventType.LOGIN, occurred_at=at(TODAY))
    outreach_run(today=TODAY, synchronous=True)
    invitation = SurveyInvitation.objects.get(patient=patient)
    assert "/survey/" in invitation.communication.body
    assert "{" not in invitation.communication.body
    return signing.dumps(invitation.pk, salt=outreach.SURVEY_SALT)


def test_a_survey_link_records_one_answer_as_a_survey_response(client, db):
    patient = PatientFactory()
    token = survey_token(patient)
    page = client.get(reverse("outreach:survey", args=[token]))
    assert page.status_code == 200
    client.post(reverse("outreach:survey", args=[token]), {"score": "4", "comment": "good"})
    again = client.post(reverse("outreach:survey", args=[token]), {"score": "1"})
    assert again.status_code == 410
    event = ActivityEvent.objects.get(type=EventType.SURVEY_RESPONSE)
    assert (event.patient, event.score) == (patient, 4)


def test_a_vietnamese_patient_answers_the_survey_in_vietnamese(client, db):
    patient = PatientFactory(given_name="Lan", preferred_language="vi")
    token = survey_token(patient)
    invitation = SurveyInvitation.objects.get(patient=patient)
    assert invitation.communication.subject == "Cổng thông tin có hữu ích với quý vị không?"

    page = client.get(reverse("outreach:survey", args=[token])).content.decode()
    wrong = client.post(reverse("outreach:survey", args=[token]), {"score": "9"})
    thanks = client.post(reverse("outreach:survey", args=[token]), {"score": "5"})

    assert '<html lang="vi">' in page
    assert "Lan, quý vị hài lòng với cổng thông tin bệnh nhân ở mức nào?" in page
    assert "Hãy chọn một số từ 1 đến 5." in wrong.content.decode()
    assert "Xin cảm ơn." in thanks.content.decode()


def test_a_used_survey_link_says_so_in_every_patient_language(client, db):
    token = survey_token(PatientFactory(preferred_language="ja"))
    client.post(reverse("outreach:survey", args=[token]), {"score": "3"})

    html = client.get(reverse("outreach:survey", args=[token])).content.decode()

    for words in (
        "This link no longer works",
        "Este enlace ya no funciona",
        "このリンクはもう使えません",
        "此链接已失效",
        "Liên kết này không còn dùng được nữa",
    ):
        assert words in html


def test_a_spanish_text_ends_with_how_to_stop_in_spanish(db, monkeypatch):
    patient = invited(
        8, notification_channel="sms", mobile_phone="+12025550143", preferred_language="es"
    )
    # Mid-morning for the claim too: at night quiet hours would hold the text until 08:00.
    monkeypatch.setattr(timezone, "now", lambda: at(TODAY, 10))
    outreach_run(today=TODAY, synchronous=True)
    communication = reminders().get(patient=patient)
    assert communication_send(communication.pk) == "sent"
    assert RecordingSms.sent[0][1].endswith("Responda STOP para no recibir más mensajes.")


def test_an_expired_survey_link_is_refused(client, db):
    token = survey_token(PatientFactory())
    SurveyInvitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(reverse("outreach:survey", args=[token])).status_code == 410
    with pytest.raises(outreach.LinkUnusable):
        survey_answer(token=token, score=5)


def test_the_unsubscribe_link_stops_email_at_once(client, db):
    patient = invited(8)
    token = signing.dumps(patient.pk, salt=outreach.UNSUBSCRIBE_SALT)
    client.post(reverse("outreach:unsubscribe", args=[token]))
    assert OptOut.objects.filter(patient=patient, channel="email").exists()
    outreach_run(today=TODAY, synchronous=True)
    assert mail.outbox == []


def signed_post(client, url, data, secret):
    payload = "http://testserver" + url + "".join(f"{k}{v}" for k, v in sorted(data.items()))
    signature = base64.b64encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha1).digest())
    return client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature.decode())


def test_an_sms_stop_opts_the_number_out(client, db, settings, monkeypatch):
    settings.TWILIO_AUTH_TOKEN = "secret"
    patient = invited(8, notification_channel="sms", mobile_phone="+12025550143")
    url = reverse("outreach:sms_inbound")
    assert client.post(url, {"From": "+12025550143", "Body": "STOP"}).status_code == 403
    response = signed_post(client, url, {"From": "+12025550143", "Body": " Stop "}, "secret")
    assert response.status_code == 200
    assert list(OptOut.objects.values_list("patient", "channel")) == [(patient.pk, "sms")]

    # Mid-morning: no quiet hours in the way. She texted STOP: no more texts.
    monkeypatch.setattr(timezone, "now", lambda: at(TODAY, 10))
    outreach_run(today=TODAY, synchronous=True)

    reminder = reminders().get(patient=patient)
    assert (reminder.channel, reminder.status, reminder.reason) == (
        "sms",
        "suppressed",
        "opted out",
    )
    assert RecordingSms.sent == []


def test_a_text_opt_out_stops_texts_but_not_email_and_an_email_opt_out_the_reverse(db, monkeypatch):
    texts_but_stopped_them = invited(8, notification_channel="sms")
    emails_but_stopped_texts = invited(8, notification_channel="email")
    texts_but_stopped_email = invited(8, notification_channel="sms")
    OptOut.objects.create(patient=texts_but_stopped_them, channel="sms", source="sms STOP")
    OptOut.objects.create(patient=emails_but_stopped_texts, channel="sms", source="sms STOP")
    OptOut.objects.create(patient=texts_but_stopped_email, channel="email", source="unsubscribe")
    monkeypatch.setattr(timezone, "now", lambda: at(TODAY, 10))

    outreach_run(today=TODAY, synchronous=True)

    outcome = {c.patient_id: (c.channel, c.status) for c in reminders().select_related("patient")}
    assert outcome == {
        texts_but_stopped_them.pk: ("sms", "suppressed"),
        emails_but_stopped_texts.pk: ("email", "sent"),
        texts_but_stopped_email.pk: ("sms", "sent"),
    }
    assert [m.to for m in mail.outbox] == [[emails_but_stopped_texts.email]]
    assert [to for to, _text in RecordingSms.sent] == [texts_but_stopped_email.mobile_phone]


def test_a_second_run_that_night_surveys_the_same_patients_once(db, settings):
    settings.SURVEY_SAMPLE_SIZE = 4
    for _ in range(24):
        ActivityEventFactory(patient=PatientFactory(), type=EventType.LOGIN, occurred_at=at(TODAY))

    outreach_run(today=TODAY, synchronous=True)
    first = sorted(SurveyInvitation.objects.values_list("patient", flat=True))
    outreach_run(today=TODAY, synchronous=True)  # a restart that night
    outreach_run(today=TODAY + dt.timedelta(days=1), synchronous=True)  # the next night

    assert len(first) == 4
    assert sorted(SurveyInvitation.objects.values_list("patient", flat=True)) == first
    assert [p.pk for p in outreach.due_survey(TODAY)] == first
    assert [p.pk for p in outreach.due_survey(TODAY + dt.timedelta(days=1))] == first


class FakeTwilio(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        FakeTwilio.received.append(
            (self.path, self.headers["Authorization"], self.rfile.read(length))
        )
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"sid": "SM123"}')

    def log_message(self, *args):
        pass


def test_the_twilio_adapter_posts_to_the_messages_api(settings):
    server = http.server.HTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{server.server_port}"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC1", "tok"
    settings.TWILIO_FROM_NUMBER = "+15550100"
    assert channels.TwilioSmsBackend().send(to="+12025550143", text="Hi") == "SM123"
    thread.join(timeout=5)
    server.server_close()
    path, authorization, body = FakeTwilio.received[0]
    assert path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert authorization == "Basic " + base64.b64encode(b"AC1:tok").decode()
    assert b"To=%2B12025550143" in body and b"Body=Hi" in body


def test_the_twilio_adapter_reports_an_unreachable_provider(settings):
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(channels.DeliveryError):
        channels.TwilioSmsBackend().send(to="+12025550143", text="Hi")


def test_the_communications_log_is_readable_through_the_api(client, front_desk_clerk, db):
    patient = invited(8)
    outreach_run(today=TODAY, synchronous=True)
    client.force_login(front_desk_clerk)
    response = client.get(reverse("api_communications"), {"patient": patient.external_id})
    rows = response.json()
    assert [(r["rule"], r["status"], r["job"]) for r in rows] == [
        ("no_login_reminder", "sent", "nightly")
    ]


def test_manage_py_nightly_runs_the_whole_job(db, capsys):
    invited(8)
    call_command("nightly", "--date", TODAY.isoformat())
    assert "no_login_reminder 1" in capsys.readouterr().out
    assert reminders().get().status == "sent"


def test_the_manager_sees_last_night_and_tonight(client, manager, db):
    invited(8)
    client.force_login(manager)
    page = client.get(reverse("messaging:outreach")).content.decode()
    assert "The workers have not run yet" in page
    outreach_run(synchronous=True)
    assert "Last night" in client.get(reverse("messaging:outreach")).content.decode()


def test_a_manager_picks_the_feature_of_the_month_and_its_text(client, manager, db):
    enrolled = PatientFactory(given_name="Rosa")
    ActivityEventFactory(patient=enrolled, type=EventType.PORTAL_ACTIVATED, occurred_at=at(TODAY))
    client.force_login(manager)
    response = client.post(
        reverse("messaging:outreach"),
        {"feature": "payments", "text_en": "Hi {first_name}, pay online: {portal_url}"},
    )
    assert response.status_code == 302
    bad = client.post(
        reverse("messaging:outreach"), {"feature": "payments", "text_en": "Hi {name}"}
    )
    assert bad.status_code == 400
    outreach_run(synchronous=True)
    feature = Communication.objects.get(rule="feature_of_month")
    assert feature.body.startswith("Hi Rosa, pay online: https://")


def test_the_patients_page_lists_what_was_sent_including_staff_replies(client, nurse, db):
    from messaging.services import Inbound, message_receive, message_reply

    patient = invited(8)
    outreach_run(today=TODAY, synchronous=True)
    message = message_receive(
        inbound=Inbound(
            message_id="p-1",
            patient=patient,
            subject="Refill",
            body="refill please",
            sent_at=timezone.now(),
        )
    )[0]
    message_reply(message=message, body="Sent to your pharmacy.", by=nurse)
    client.force_login(nurse)
    page = client.get(reverse("messaging:patient_communications", args=[patient.pk]))
    html = page.content.decode()
    assert "Reminder: no login a week after enrollment" in html
    assert "Portal message" in html and "Nora" in html


# --- A poisoned row or a failing step never stops the night (issue 10, finding 2(b)) ---

POISONED_TIMES = [
    pytest.param("0001-01-01T00:00:00+00:00", id="year-1-utc"),
    pytest.param("0001-01-01T00:00:00+14:00", id="year-1-plus-14", marks=requires_postgres),
    pytest.param("9999-12-31T23:59:59-12:00", id="year-9999-minus-12", marks=requires_postgres),
]


def poisoned(patient, when: str, *types):
    """Events stored straight with the ORM, as rows from before the feed checked times."""
    for type_ in types:
        ActivityEventFactory(
            patient=patient, type=type_, occurred_at=dt.datetime.fromisoformat(when)
        )
    return patient


@pytest.mark.parametrize("when", POISONED_TIMES)
def test_events_outside_the_window_are_no_evidence_and_stop_no_reminder(db, when):
    plain = invited(8)
    shadowed = poisoned(invited(8), when, EventType.PORTAL_INVITED)
    ghost = poisoned(
        PatientFactory(),
        when,
        EventType.PORTAL_INVITED,
        EventType.PORTAL_ACTIVATED,
        EventType.LOGIN,
    )

    call_command("nightly", "--date", TODAY.isoformat(), stdout=io.StringIO())
    nightly_outreach.apply().get()  # tonight, as the Celery beat runs it

    assert set(reminders().values_list("patient", flat=True)) == {plain.pk, shadowed.pk}
    assert not Communication.objects.filter(patient=ghost).exists()
    assert not NightlyFailure.objects.exists()


def test_a_rule_that_fails_is_recorded_and_the_other_rules_still_run(db, monkeypatch):
    patient = invited(8, given_name="Rosa")

    def broken(today):
        raise RuntimeError("could not read Rosa Delgado's row")

    rules = [
        outreach.Rule(rule.key, broken, rule.period) if rule.key == "app_nudge" else rule
        for rule in outreach.RULES
    ]
    monkeypatch.setattr(outreach, "RULES", rules)

    run = outreach_run(today=TODAY, synchronous=True)

    assert reminders().get().patient == patient
    assert reminders().get().status == "sent"
    assert run.failed == 1
    assert run.counts["app_nudge"]["failed"] == 1
    assert run.counts["no_login_reminder"] == {
        "claimed": 1,
        "already": 0,
        "suppressed": 0,
        "failed": 0,
    }
    failure = NightlyFailure.objects.get()
    assert (failure.job, failure.night, failure.rule) == ("outreach", TODAY, "app_nudge")
    assert (failure.step, failure.patient_id) == ("finding who is due", None)
    assert failure.error_class == "RuntimeError"
    assert "Rosa" not in failure.message  # the exception's text may quote a patient


def compose_failing_for(bad_patient):
    real = outreach._compose

    def compose(patient, rule, today, *rest):
        if patient.pk == bad_patient.pk:
            raise ValueError(f"cannot fill the text for {patient.given_name} {patient.email}")
        return real(patient, rule, today, *rest)

    return compose


def test_a_patient_whose_message_fails_is_skipped_and_the_others_get_theirs(db, monkeypatch):
    bad = invited(8, given_name="Rosa")
    good = invited(9)
    monkeypatch.setattr(outreach, "_compose", compose_failing_for(bad))

    run = outreach_run(today=TODAY, synchronous=True)

    assert list(reminders().values_list("patient", "status")) == [(good.pk, "sent")]
    assert run.failed == 1
    failure = NightlyFailure.objects.get()
    assert (failure.rule, failure.patient_id, failure.error_class) == (
        "no_login_reminder",
        bad.pk,
        "ValueError",
    )
    assert "Rosa" not in failure.message and bad.email not in failure.message
    # The next night tries the patient again: nothing was claimed for them.
    monkeypatch.undo()
    outreach_run(today=TODAY, synchronous=True)
    assert reminders().filter(patient=bad, status="sent").exists()


def test_a_poisoned_row_that_slips_past_the_window_fails_only_its_patient(
    client, manager, monkeypatch
):
    """Were the window ever missed, the guard still holds: one patient fails, not the night."""
    plain = invited(8)
    ghost = poisoned(PatientFactory(), "0001-01-01T00:00:00+00:00", EventType.PORTAL_INVITED)
    monkeypatch.setattr(outreach, "plausible_events", ActivityEvent.objects.all)
    # The no-login rule reads each patient's latest invitation from PatientLatest,
    # whose trigger skips that row: the row slips past there too.
    PatientLatest.objects.create(patient=ghost, offered_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC))

    run = outreach_run(today=TODAY, synchronous=True)

    assert list(reminders().values_list("patient", "status")) == [(plain.pk, "sent")]
    assert run.failed == 1
    failure = NightlyFailure.objects.get()
    assert (failure.patient_id, failure.error_class) == (ghost.pk, "OverflowError")
    client.force_login(manager)
    page = client.get(reverse("messaging:outreach")).content.decode()
    assert f">#{ghost.pk}</a>" in page and "OverflowError" in page


def fail_the_figures_of(month_that_fails):
    from metrics import services

    real = services.month_tallies

    def month_tallies(month, **kwargs):
        if month.replace(day=1) == month_that_fails:
            raise OverflowError("date value out of range")
        return real(month, **kwargs)

    return services, "month_tallies", month_tallies


def test_manage_py_nightly_goes_on_after_failures_then_exits_non_zero(db, monkeypatch):
    bad, good = invited(8, given_name="Rosa"), invited(8)
    monkeypatch.setattr(*fail_the_figures_of(TODAY.replace(day=1)))
    monkeypatch.setattr(outreach, "_compose", compose_failing_for(bad))
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match=r"^2 step\(s\) failed and were skipped"):
        call_command("nightly", "--date", TODAY.isoformat(), stdout=out, stderr=err)

    assert "Failed: computing the figures of 2026-03: OverflowError" in err.getvalue()
    assert "Nightly 2026-03-18: 1 messages claimed, 1 failed" in out.getvalue()
    assert list(reminders().values_list("patient", "status")) == [(good.pk, "sent")]
    assert sorted(NightlyFailure.objects.values_list("job", flat=True)) == [
        "outreach",
        "rollup",
    ]


def test_the_nightly_celery_task_records_a_failed_patient_and_claims_the_rest(db, monkeypatch):
    today = timezone.localdate()

    def invited_before_today(**fields):
        patient = PatientFactory(**fields)
        ActivityEventFactory(
            patient=patient,
            type=EventType.PORTAL_INVITED,
            occurred_at=at(today - dt.timedelta(days=8)),
        )
        return patient

    bad, good = invited_before_today(), invited_before_today()
    monkeypatch.setattr(outreach, "_compose", compose_failing_for(bad))

    run_id = nightly_outreach.apply().get()

    assert NightlyRun.objects.get(pk=run_id).failed == 1
    assert list(reminders().values_list("patient", flat=True)) == [good.pk]
    assert NightlyFailure.objects.get().patient_id == bad.pk


def test_the_manager_sees_each_failed_step_on_the_nightly_page(client, manager, monkeypatch):
    bad = invited(8, given_name="Rosalind", family_name="Quintero")
    monkeypatch.setattr(*fail_the_figures_of(TODAY.replace(day=1)))
    monkeypatch.setattr(outreach, "_compose", compose_failing_for(bad))
    with pytest.raises(CommandError):
        call_command("nightly", "--date", TODAY.isoformat(), stdout=io.StringIO())
    client.force_login(manager)

    page = client.get(reverse("messaging:outreach")).content.decode()

    card = page[page.index('id="nightly-failures"') :]
    card = card[: card.index("</table>")]
    assert "computing the figures of 2026-03" in card
    assert "Dashboard figures" in card and "Reminders and campaigns" in card
    assert "Reminder: no login a week after enrollment" in card
    assert f'href="{reverse("patients:detail", args=[bad.pk])}">#{bad.pk}</a>' in card
    assert card.count("OverflowError") == 1 and card.count("ValueError") == 1
    assert "Rosalind" not in card and "Quintero" not in card and bad.email not in card
    assert "2 steps failed and were skipped" not in page  # the run counts outreach only
    assert "1 step failed and was skipped" in page


def test_the_nightly_page_says_when_nothing_failed(client, manager):
    outreach_run(today=TODAY, synchronous=True)
    client.force_login(manager)
    page = client.get(reverse("messaging:outreach")).content.decode()
    assert "No step of the nightly jobs failed in the last 7 days." in page


# --- No patient data in logs by default (issue 10, finding 8) --------------------------


def test_without_an_sms_provider_texts_go_by_email_or_are_marked_not_sent(db, settings, capsys):
    settings.SMS_BACKEND = "messaging.channels.NoSmsBackend"
    with_email = invited(8, notification_channel="sms", email="rosa@example.org")
    phone_only = invited(8, notification_channel="sms", email="", mobile_phone="+12025550199")

    outreach_run(today=TODAY, synchronous=True)

    by_email = reminders().get(patient=with_email)
    assert (by_email.channel, by_email.status) == ("email", "sent")
    not_sent = reminders().get(patient=phone_only)
    assert (not_sent.channel, not_sent.status) == ("sms", "suppressed")
    assert not_sent.reason == "no SMS provider configured"
    assert RecordingSms.sent == []
    printed = capsys.readouterr()
    assert "+12025550199" not in printed.out + printed.err


def test_the_manager_sees_why_a_text_was_not_sent(client, manager, settings):
    settings.SMS_BACKEND = "messaging.channels.NoSmsBackend"
    patient = invited(8, notification_channel="sms", email="")
    outreach_run(today=TODAY, synchronous=True)
    client.force_login(manager)
    page = client.get(reverse("messaging:patient_communications", args=[patient.pk]))
    assert "no SMS provider configured" in page.content.decode()


def settings_outside_django(**env) -> dict:
    """The application's settings as a fresh process computes them from `env`."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import json, portal_adoption.settings as s; "
        "print(json.dumps({'email': s.EMAIL_BACKEND, 'sms': s.SMS_BACKEND}))"
    )
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EMAIL_", "SMS_", "TWILIO_", "DEBUG", "PAM_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={**clean, "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_outside_debug_email_defaults_to_smtp_and_texts_to_twilio_or_nothing():
    assert settings_outside_django(DEBUG="false") == {
        "email": "django.core.mail.backends.smtp.EmailBackend",
        "sms": "messaging.channels.NoSmsBackend",
    }
    assert (
        settings_outside_django(DEBUG="false", TWILIO_ACCOUNT_SID="AC123")["sms"]
        == "messaging.channels.TwilioSmsBackend"
    )
    assert settings_outside_django(DEBUG="true") == {
        "email": "django.core.mail.backends.console.EmailBackend",
        "sms": "messaging.channels.ConsoleSmsBackend",
    }


# The deploy checks include the database role check (portal_adoption.W050): it reads the
# connected role, so these tests need the database.
def deploy_check_ids(settings, **overrides) -> set[str]:
    from django.core.management.base import SystemCheckError

    for name, value in overrides.items():
        setattr(settings, name, value)
    try:
        call_command("check", "--deploy", stdout=io.StringIO(), stderr=io.StringIO())
    except SystemCheckError as error:
        return {code for code in ("messaging.E001", "messaging.E002") if code in str(error)}
    return set()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, {"messaging.E001"}),
        ({"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"}, {"messaging.E001"}),
        ({"SMS_BACKEND": "messaging.channels.ConsoleSmsBackend"}, {"messaging.E002"}),
        ({"SMS_BACKEND": "messaging.channels.FileSmsBackend"}, {"messaging.E002"}),
        (
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "SMS_BACKEND": "messaging.channels.NoSmsBackend",
            },
            set(),
        ),
        ({"SMS_BACKEND": "messaging.channels.TwilioSmsBackend"}, set()),
    ],
    ids=["console-email", "file-email", "console-sms", "file-sms", "defaults", "twilio"],
)
def test_console_and_file_backends_outside_debug_are_a_deployment_error(
    db, settings, overrides, expected
):
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.SMS_BACKEND = "messaging.channels.NoSmsBackend"
    assert deploy_check_ids(settings, **overrides) == expected


def test_console_backends_are_fine_for_development(db, settings):
    settings.DEBUG = True
    assert (
        deploy_check_ids(
            settings,
            EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
            SMS_BACKEND="messaging.channels.ConsoleSmsBackend",
        )
        == set()
    )


def test_the_deploy_check_passes_with_the_documented_defaults():
    """`check --deploy` with DEBUG off and no email or SMS settings: no error of ours."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EMAIL_", "SMS_", "TWILIO_", "DEBUG", "PAM_", "SECURE_"))
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=Path(__file__).resolve().parents[2],
        env={**clean, "DEBUG": "false", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "localhost"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "messaging.E00" not in output
    assert "ERRORS:" not in output


def enrolled_patients(count: int) -> list:
    patients = PatientFactory.create_batch(count)
    for patient in patients:
        ActivityEventFactory(
            patient=patient, type=EventType.PORTAL_ACTIVATED, occurred_at=at(TODAY)
        )
    return patients


def test_the_manager_sees_how_many_are_due_tonight_and_the_names_of_the_first_twenty(
    client, manager, db
):
    enrolled_patients(23)
    client.force_login(manager)

    response = client.get(reverse("messaging:outreach"))

    feature = next(
        row for row in response.context["rule_rows"] if row["rule"] == "feature_of_month"
    )
    assert feature["tonight"] == 23
    (listed,) = [v for rule, v in response.context["preview"] if rule == "feature_of_month"]
    assert (listed.total, len(listed.patients)) == (23, 20)
    assert "Feature of the month · 23" in response.content.decode()


def test_the_overview_asks_the_same_number_of_queries_for_five_or_fifty_enrolled_patients(
    client, manager, db, settings
):
    from django.test.utils import CaptureQueriesContext

    # Counted on every load: the count itself must ask as many queries for 50 as for 5
    # (kept for minutes, a second load would not count at all).
    settings.OUTREACH_PREVIEW_MINUTES = 0
    client.force_login(manager)
    # A week's recall batch larger than both lists: a batch that those never booked
    # fill is found without the query for the others (due_annual_exam_recall).
    outreach.outreach_setting_save(
        rule="annual_exam_recall", enabled=True, user=manager, options={"per_week": 100}
    )
    enrolled_patients(5)
    client.get(reverse("messaging:outreach"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("messaging:outreach"))
    enrolled_patients(45)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("messaging:outreach"))

    assert len(many) == len(few)


def test_tonights_preview_leaves_out_a_patient_already_reminded_for_that_invitation(db):
    # Invited at 22:30 on day 8, practice time: already the next day in UTC, so the
    # reminder's period (the practice day) is only right if the database uses the
    # practice's time zone as the Python rule does.
    late_evening = timezone.make_aware(
        dt.datetime.combine(TODAY - dt.timedelta(days=8), dt.time(22, 30))
    )
    reminded, not_yet = PatientFactory.create_batch(2)
    for patient in (reminded, not_yet):
        ActivityEventFactory(
            patient=patient, type=EventType.PORTAL_INVITED, occurred_at=late_evening
        )
    period = f"{TODAY - dt.timedelta(days=8):%Y-%m-%d}"
    Communication.objects.create(
        patient=reminded, rule="no_login_reminder", period=period, channel="email", body="x"
    )
    Communication.objects.create(  # an earlier invitation's reminder does not count
        patient=not_yet, rule="no_login_reminder", period="2025-01-02", channel="email", body="x"
    )

    preview = outreach.outreach_preview(today=TODAY, shown=20)["no_login_reminder"]

    assert (preview.total, preview.patients) == (1, [not_yet])
    no_login = outreach.RULES[0]
    (due_reminded,) = no_login.due(TODAY).filter(pk=reminded.pk)
    assert no_login.period(due_reminded, TODAY) == period  # the Python rule agrees


def test_tonights_counts_are_what_the_night_then_claims_rule_by_rule(db):
    """Hand-counted: who each rule reaches tonight, in the preview and then in the run."""
    invited(8)  # no-login reminder
    relogged = invited(20)  # logged in, then invited again 9 days ago: reminded again
    ActivityEventFactory(
        patient=relogged, type=EventType.LOGIN, occurred_at=at(TODAY, 0) - dt.timedelta(days=15)
    )
    ActivityEventFactory(
        patient=relogged,
        type=EventType.PORTAL_INVITED,
        occurred_at=at(TODAY) - dt.timedelta(days=9),
    )
    came_back = invited(9)  # logged in since: nothing
    ActivityEventFactory(
        patient=came_back, type=EventType.LOGIN, occurred_at=at(TODAY) - dt.timedelta(days=2)
    )
    enrolled_long_ago, with_app, enrolled_lately = PatientFactory.create_batch(3)
    for patient, days in ((enrolled_long_ago, 20), (with_app, 20), (enrolled_lately, 5)):
        ActivityEventFactory(
            patient=patient,
            type=EventType.PORTAL_ACTIVATED,
            occurred_at=at(TODAY) - dt.timedelta(days=days),
        )
    ActivityEventFactory(
        patient=with_app, type=EventType.APP_INSTALLED, occurred_at=at(TODAY) - dt.timedelta(days=3)
    )
    expected = {
        # invited(8), relogged, and the two activated 20 days ago without a login;
        # not came_back (a login since), nor enrolled_lately (5 days)
        "no_login_reminder": 4,
        "app_nudge": 1,  # enrolled_long_ago: with_app has the app, enrolled_lately is too new
        "feature_of_month": 3,  # every enrolled patient
        "annual_exam_recall": 3,  # the enrolled, none ever booked an annual exam
    }

    preview = outreach.outreach_preview(today=TODAY)
    run = outreach_run(today=TODAY, synchronous=True)

    for rule, count in expected.items():
        assert preview[rule].total == count, rule
        assert run.counts[rule]["claimed"] + run.counts[rule]["suppressed"] == count, rule
