"""Closing the feedback loop: managers read survey comments, tag them, count the tags,
and publish what they changed, which tells the patients who asked, once."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from messaging.models import (
    Communication,
    CommunicationStatus,
    FeedbackChange,
    OptOut,
    OutreachChannel,
    OutreachRule,
    OutreachSetting,
    SurveyCommentTag,
    SurveyInvitation,
)
from messaging.outreach import communication_send
from messaging.selectors import feedback as feedback_selectors
from messaging.selectors.feedback import enrollment_age, tag_counts_by_month
from messaging.services.feedback import FeedbackError, comment_tag_add, feedback_change_publish
from metrics.charts import trend_description, trend_markers, trend_svg
from patients.models import EventType, NotificationChannel
from portal_adoption.feedback_hooks import ChangeMarker, published_changes
from portal_adoption.models import AccessAction, AccessLogEntry
from portal_adoption.roles import Role
from tests.conftest import requires_postgres
from tests.factories import ActivityEventFactory, PatientFactory, staff

NOW = dt.datetime(2026, 5, 20, 15, 0, tzinfo=dt.UTC)  # 11:00 in New York, not quiet hours


def at(day: dt.date, hour=12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def survey_comment(patient, *, score=4, comment="Booking is hard", when=None, tags=()):
    """An answered satisfaction survey, as outreach_claim and survey_answer leave it."""
    when = when or timezone.now()
    period = f"{when:%Y-%m}-{SurveyInvitation.objects.count()}"
    communication = Communication.objects.create(
        patient=patient,
        rule=OutreachRule.SATISFACTION_SURVEY,
        period=period,
        channel=OutreachChannel.EMAIL,
        subject="How is the portal working for you?",
        body="Answer here",
        status=CommunicationStatus.SENT,
    )
    invitation = SurveyInvitation.objects.create(
        communication=communication,
        patient=patient,
        expires_at=when + dt.timedelta(days=14),
        answered_at=when,
        score=score,
        comment=comment,
    )
    for tag in tags:
        SurveyCommentTag.objects.create(invitation=invitation, tag=tag)
    return invitation


def activated(patient, day: dt.date):
    ActivityEventFactory(
        patient=patient, type=EventType.PORTAL_ACTIVATED, occurred_at=at(day), channel="portal"
    )
    return patient


@pytest.fixture(autouse=True)
def _now_and_outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(NOW, tick=False):
        yield


AFTER_COMMIT = []


@pytest.fixture
def enqueued(monkeypatch, django_capture_on_commit_callbacks):
    """The ids handed to the workers; `publish` runs the after-commit callbacks."""
    from messaging import tasks

    ids = []
    monkeypatch.setattr(tasks.send_communication, "delay", ids.append)
    AFTER_COMMIT[:] = [django_capture_on_commit_callbacks]
    yield ids
    AFTER_COMMIT.clear()


def publish(manager, tag="scheduling", text="we simplified appointment scheduling.", **kw):
    with AFTER_COMMIT[0](execute=True):
        return feedback_change_publish(tag=tag, text_en=text, by=manager, **kw)


def changes_sent(change=None):
    rows = Communication.objects.filter(rule=OutreachRule.FEEDBACK_CHANGE)
    return rows.filter(period=str(change.pk)) if change else rows


# --- The comments page ------------------------------------------------------------


def test_enrollment_age_is_whole_months_then_days_and_blank_before_activation():
    assert enrollment_age(at(dt.date(2026, 1, 10)), at(dt.date(2026, 5, 20))) == "4 months"
    # One day short of five months is still four.
    assert enrollment_age(at(dt.date(2025, 12, 21)), at(dt.date(2026, 5, 20))) == "4 months"
    assert enrollment_age(at(dt.date(2025, 12, 20)), at(dt.date(2026, 5, 20))) == "5 months"
    assert enrollment_age(at(dt.date(2026, 4, 20)), at(dt.date(2026, 5, 20))) == "1 month"
    assert enrollment_age(at(dt.date(2026, 4, 21)), at(dt.date(2026, 5, 20))) == "29 days"
    assert enrollment_age(at(dt.date(2026, 5, 21)), at(dt.date(2026, 5, 20))) == ""
    assert enrollment_age(None, at(dt.date(2026, 5, 20))) == ""


def test_a_manager_sees_each_comment_with_its_score_date_and_enrollment_age(client, manager, db):
    ana = activated(PatientFactory(given_name="Ana", family_name="Ruiz"), dt.date(2026, 1, 10))
    ben = activated(PatientFactory(given_name="Ben", family_name="Cole"), dt.date(2026, 5, 1))
    survey_comment(
        ana, score=2, comment="Booking takes <b>forever</b>", when=at(dt.date(2026, 5, 18))
    )
    survey_comment(ben, score=5, comment="Love the app", when=at(dt.date(2026, 5, 13)))
    survey_comment(ben, score=3, comment="", when=at(dt.date(2026, 5, 14)))  # a score, no words
    client.force_login(manager)
    page = client.get(reverse("messaging:feedback"))
    assert page.status_code == 200
    rows = {c.patient.given_name: c for c in page.context["comments"]}
    assert set(rows) == {"Ana", "Ben"}
    assert (rows["Ana"].score, rows["Ana"].enrollment_age) == (2, "4 months")
    assert (rows["Ben"].score, rows["Ben"].enrollment_age) == (5, "12 days")
    html = page.content.decode()
    assert "2026-05-18" in html and "2/5" in html and "4 months" in html
    # Patient-written text is escaped, never markup.
    assert "Booking takes &lt;b&gt;forever&lt;/b&gt;" in html
    assert "<b>forever</b>" not in html


def test_each_read_of_the_comments_writes_one_access_log_row_listing_each_patient(
    client, manager, db
):
    ana, ben = PatientFactory(), PatientFactory()
    survey_comment(ana, comment="secret words one")
    survey_comment(ana, comment="secret words two")
    survey_comment(ben, comment="secret words three")
    client.force_login(manager)
    client.get(reverse("messaging:feedback"))
    rows = AccessLogEntry.objects.filter(resource="survey_comments")
    (row,) = rows
    assert set(row.listed_patients.values_list("patient", flat=True)) == {ana.pk, ben.pk}
    assert set(rows.values_list("action", flat=True)) == {AccessAction.LIST}
    assert set(rows.values_list("user", flat=True)) == {manager.pk}
    for row in AccessLogEntry.objects.all():
        assert "secret" not in f"{row.resource} {row.object_id} {row.path}"


def test_the_manager_filters_the_comments_by_month_and_tag(client, manager, db):
    patient = PatientFactory()
    april = survey_comment(patient, comment="april login", when=at(dt.date(2026, 4, 30), 23))
    may = survey_comment(patient, comment="may login", when=at(dt.date(2026, 5, 1), 0))
    may_billing = survey_comment(patient, comment="may bill", when=at(dt.date(2026, 5, 2)))
    SurveyCommentTag.objects.create(invitation=may, tag="login")
    SurveyCommentTag.objects.create(invitation=april, tag="login")
    SurveyCommentTag.objects.create(invitation=may_billing, tag="billing")
    untagged = survey_comment(patient, comment="nothing yet", when=at(dt.date(2026, 5, 3)))
    client.force_login(manager)

    def shown(query):
        page = client.get(reverse("messaging:feedback"), query)
        assert page.status_code == 200
        return {c.pk for c in page.context["comments"]}

    assert shown({"month": "2026-05"}) == {may.pk, may_billing.pk, untagged.pk}
    assert shown({"month": "2026-04"}) == {april.pk}
    assert shown({"month": "2026-05", "tag": "login"}) == {may.pk}
    assert shown({"tag": "login"}) == {may.pk, april.pk}
    assert shown({"tag": "untagged"}) == {untagged.pk}


@pytest.mark.parametrize(
    "query",
    [{"month": "2026-13"}, {"month": "0001-01"}, {"month": "May"}, {"tag": "food"}, {"page": "0"}],
)
def test_a_bad_filter_gets_400_with_a_message_and_no_comments(client, manager, db, query):
    survey_comment(PatientFactory(), comment="Zanzibar words")
    client.force_login(manager)
    page = client.get(reverse("messaging:feedback"), query)
    assert page.status_code == 400
    assert page.context["filter_errors"]
    assert b"Zanzibar" not in page.content
    assert not AccessLogEntry.objects.filter(resource="survey_comments").exists()


def test_a_nurse_cannot_open_the_feedback_page(client, nurse, db):
    client.force_login(nurse)
    assert client.get(reverse("messaging:feedback")).status_code == 403


# --- Tags ----------------------------------------------------------------------------


def tag_post(client, invitation, tag, action="add", **extra):
    return client.post(
        reverse("messaging:feedback_tag", args=[invitation.pk]),
        {"tag": tag, "action": action, **extra},
        follow=True,
    )


def test_a_manager_adds_and_removes_tags_with_a_flash_message(client, manager, db):
    invitation = survey_comment(PatientFactory())
    client.force_login(manager)
    page = tag_post(client, invitation, "scheduling")
    assert [str(m) for m in page.context["messages"]] == ["Tagged “Scheduling”."]
    tag_post(client, invitation, "login")
    again = tag_post(client, invitation, "login")  # a double click
    assert [str(m) for m in again.context["messages"]] == ["It was tagged “Login” already."]
    assert sorted(invitation.tags.values_list("tag", flat=True)) == ["login", "scheduling"]
    removed = tag_post(client, invitation, "scheduling", action="remove")
    assert [str(m) for m in removed.context["messages"]] == ["“Scheduling” removed."]
    assert list(invitation.tags.values_list("tag", flat=True)) == ["login"]
    assert invitation.tags.get().tagged_by == manager
    changes = AccessLogEntry.objects.filter(resource="survey_comment_tags")
    assert changes.count() == 3  # two added (the repeat changed nothing), one removed
    assert {(r.action, r.patient_id, r.object_id) for r in changes} == {
        (AccessAction.CHANGE, invitation.patient_id, str(invitation.pk))
    }


def test_tagging_keeps_the_filters_and_refuses_a_bad_tag(client, manager, db):
    invitation = survey_comment(PatientFactory())
    client.force_login(manager)
    response = client.post(
        reverse("messaging:feedback_tag", args=[invitation.pk]),
        {"tag": "login", "action": "add", "return_month": "2026-05", "return_tag": "login"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?month=2026-05&tag=login#comment-{invitation.pk}")
    bad = client.post(
        reverse("messaging:feedback_tag", args=[invitation.pk]), {"tag": "food", "action": "add"}
    )
    assert bad.status_code == 400
    assert invitation.tags.count() == 1


def test_an_answer_without_a_comment_cannot_be_tagged(manager, db):
    invitation = survey_comment(PatientFactory(), comment="")
    with pytest.raises(FeedbackError):
        comment_tag_add(invitation=invitation, tag="login", by=manager)


def test_counts_by_tag_per_month_for_the_last_twelve_months(db):
    patient = PatientFactory()
    survey_comment(patient, when=at(dt.date(2026, 5, 2)), tags=["scheduling", "login"])
    survey_comment(patient, when=at(dt.date(2026, 5, 9)), tags=["scheduling"])
    survey_comment(patient, when=at(dt.date(2026, 3, 31), 23), tags=["billing"])  # March locally
    survey_comment(patient, when=at(dt.date(2025, 6, 1)), tags=["other"])  # 12th month back
    survey_comment(patient, when=at(dt.date(2025, 5, 31)), tags=["other"])  # 13th: not counted
    survey_comment(patient, when=at(dt.date(2026, 5, 10)))  # untagged: no count
    rows = tag_counts_by_month(dt.date(2026, 5, 20))
    assert len(rows) == 12
    assert [r.month for r in rows[:3]] == [
        dt.date(2026, 5, 1),
        dt.date(2026, 4, 1),
        dt.date(2026, 3, 1),
    ]
    by_month = {r.month: r for r in rows}
    # Order: scheduling, messaging, login, results, billing, other.
    assert by_month[dt.date(2026, 5, 1)].counts == [2, 0, 1, 0, 0, 0]
    assert by_month[dt.date(2026, 5, 1)].total == 2  # two comments, three tags
    assert by_month[dt.date(2026, 4, 1)].counts == [0] * 6
    assert by_month[dt.date(2026, 3, 1)].counts == [0, 0, 0, 0, 1, 0]
    assert by_month[dt.date(2025, 6, 1)].counts == [0, 0, 0, 0, 0, 1]
    assert dt.date(2025, 5, 1) not in by_month


def test_the_page_shows_the_counts_table(client, manager, db):
    survey_comment(PatientFactory(), when=at(dt.date(2026, 5, 2)), tags=["results"])
    client.force_login(manager)
    page = client.get(reverse("messaging:feedback"))
    assert page.context["counts"][0].counts == [0, 0, 0, 1, 0, 0]
    assert b'id="tag-counts"' in page.content


# --- Publishing what we changed ---------------------------------------------------------


def test_publishing_sends_one_message_per_patient_who_commented_on_the_tag(
    manager, db, enqueued, settings
):
    twice = PatientFactory(given_name="Tess")
    survey_comment(twice, tags=["scheduling"], comment="booking is slow")
    survey_comment(twice, tags=["scheduling", "login"], comment="booking again")
    other_tag = PatientFactory()
    survey_comment(other_tag, tags=["billing"])
    untagged = PatientFactory()
    survey_comment(untagged)
    opted_out = PatientFactory()
    survey_comment(opted_out, tags=["scheduling"])
    OptOut.objects.create(patient=opted_out, channel=OutreachChannel.EMAIL, source="test")

    change, published = publish(manager, text="we simplified appointment scheduling.")
    assert published
    rows = changes_sent(change)
    assert sorted(rows.values_list("patient_id", flat=True)) == sorted([twice.pk, opted_out.pk])
    sent = rows.get(patient=twice)
    assert sent.status == CommunicationStatus.QUEUED
    assert sent.body == (
        "Hello Tess, thank you for telling us how the Riverside Family Practice patient portal "
        "works for you. Based on your feedback: we simplified appointment scheduling. Sign in "
        f"at {settings.PORTAL_LOGIN_URL} to see it."
    )
    assert (sent.job, sent.period) == ("feedback change", str(change.pk))
    held = rows.get(patient=opted_out)
    assert (held.status, held.reason) == (CommunicationStatus.SUPPRESSED, "opted out")
    assert change.outcome == {
        "claimed": 1,
        "suppressed": 1,
        "already": 0,
        "failed": 0,
        "switched_off": 0,
    }
    assert enqueued == [sent.pk]


def test_the_message_goes_out_through_the_ordinary_send(manager, db, enqueued):
    patient = PatientFactory(email="tess@example.org")
    survey_comment(patient, tags=["login"])
    change, _new = publish(manager, tag="login", text="signing in now takes one step.")
    assert communication_send(enqueued[0]) == CommunicationStatus.SENT
    assert mail.outbox[0].to == ["tess@example.org"]
    assert "signing in now takes one step." in mail.outbox[0].body
    assert "/unsubscribe/" in mail.outbox[0].body
    assert changes_sent(change).get().sent_at is not None


def test_a_spanish_speaking_patient_gets_the_spanish_frame_and_note(manager, db, enqueued):
    patient = PatientFactory(given_name="Lucía", preferred_language="es")
    survey_comment(patient, tags=["results"])
    change, _new = feedback_change_publish(
        tag="results",
        text_en="results now explain the normal ranges.",
        text_es="los resultados ahora explican los rangos normales.",
        by=manager,
    )
    body = changes_sent(change).get().body
    assert body.startswith("Hola Lucía, gracias por contarnos")
    assert "Según sus comentarios: los resultados ahora explican los rangos normales." in body
    # No Spanish note written: the English one inside the Spanish frame.
    survey_comment(patient, tags=["billing"])
    second, _new = publish(manager, tag="billing", text="you can pay in the portal.")
    assert "Según sus comentarios: you can pay in the portal." in changes_sent(second).get().body


def test_a_text_published_at_night_waits_for_the_morning(manager, db, enqueued, settings):
    settings.SMS_BACKEND = "tests.messaging.test_outreach.RecordingSms"
    patient = PatientFactory(notification_channel=NotificationChannel.SMS)
    survey_comment(patient, tags=["messaging"])
    night = dt.datetime(2026, 5, 21, 3, 0, tzinfo=dt.UTC)  # 23:00 in New York
    with time_machine.travel(night, tick=False):
        change, _new = publish(manager, tag="messaging", text="replies come faster.")
    text = changes_sent(change).get()
    assert (text.channel, text.status) == (OutreachChannel.SMS, CommunicationStatus.QUEUED)
    assert communication_send(text.pk) == CommunicationStatus.QUEUED  # not before 08:00
    assert timezone.localtime(text.not_before).time() == dt.time(8, 0)


def test_the_next_note_on_a_tag_answers_only_the_comments_since_the_last_one(manager, db, enqueued):
    early, late = PatientFactory(), PatientFactory()
    survey_comment(early, tags=["scheduling"], when=at(dt.date(2026, 3, 2)))
    first, _new = publish(manager, at=at(dt.date(2026, 4, 1)))
    survey_comment(late, tags=["scheduling"], when=at(dt.date(2026, 4, 15)))
    second, _new = publish(manager, text="you can now book online on weekends.")
    assert list(changes_sent(first).values_list("patient_id", flat=True)) == [early.pk]
    assert list(changes_sent(second).values_list("patient_id", flat=True)) == [late.pk]


def test_a_double_clicked_publish_publishes_and_sends_once(
    client, manager, db, enqueued, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    survey_comment(patient, tags=["scheduling"])
    client.force_login(manager)
    form = {
        "tag": "scheduling",
        "text_en": "we simplified appointment scheduling.",
        "idempotency_key": "6f1c2b0e9d8a4c7e8f0a1b2c3d4e5f60",
    }
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(reverse("messaging:feedback_publish"), form, follow=True)
        second = client.post(reverse("messaging:feedback_publish"), form, follow=True)
    assert [str(m) for m in first.context["messages"]] == [
        "The note on “Scheduling” is published: 1 patient who commented on it gets a message."
    ]
    assert [str(m) for m in second.context["messages"]] == [
        "This note was published already; nothing was sent again."
    ]
    assert FeedbackChange.objects.count() == 1
    assert changes_sent().count() == 1
    assert len(enqueued) == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_five_publishes_of_one_note_at_the_same_instant_send_once(monkeypatch):
    from messaging import tasks
    from tests.messaging.test_double_submit import at_once

    sent_ids = []
    monkeypatch.setattr(tasks.send_communication, "delay", sent_ids.append)
    manager = staff("maria", Role.MANAGER)
    survey_comment(PatientFactory(), tags=["scheduling"])
    survey_comment(PatientFactory(), tags=["scheduling"])

    def send():
        change, _new = feedback_change_publish(
            tag="scheduling", text_en="faster booking.", by=manager, idempotency_key="same"
        )
        return change.pk

    assert len(set(at_once(5, send))) == 1
    assert FeedbackChange.objects.count() == 1
    assert changes_sent().count() == 2
    assert sorted(sent_ids) == sorted(changes_sent().values_list("pk", flat=True))


def test_publishing_without_the_one_time_key_or_text_is_refused(client, manager, db):
    client.force_login(manager)
    no_key = client.post(
        reverse("messaging:feedback_publish"), {"tag": "login", "text_en": "faster sign-in."}
    )
    no_text = client.post(
        reverse("messaging:feedback_publish"),
        {"tag": "login", "text_en": "  ", "idempotency_key": "k1"},
    )
    assert (no_key.status_code, no_text.status_code) == (400, 400)
    assert not FeedbackChange.objects.exists()


def test_a_switched_off_rule_publishes_the_note_and_sends_nothing(client, manager, db, enqueued):
    OutreachSetting.objects.create(rule=OutreachRule.FEEDBACK_CHANGE, enabled=False)
    survey_comment(PatientFactory(), tags=["login"])
    client.force_login(manager)
    with AFTER_COMMIT[0](execute=True):
        page = client.post(
            reverse("messaging:feedback_publish"),
            {"tag": "login", "text_en": "faster sign-in.", "idempotency_key": "k2"},
            follow=True,
        )
    assert "switched off" in str(next(iter(page.context["messages"])))
    assert FeedbackChange.objects.get().outcome["switched_off"] == 1
    assert not changes_sent().exists()
    assert enqueued == []


def test_a_patient_whose_message_fails_is_skipped_and_recorded(manager, db, enqueued, monkeypatch):
    from messaging import outreach
    from portal_adoption.models import NightlyFailure

    bad, good = PatientFactory(given_name="Rosa"), PatientFactory()
    survey_comment(bad, tags=["login"])
    survey_comment(good, tags=["login"])
    real = outreach._compose

    def compose(patient, rule, today, *rest):
        if patient.pk == bad.pk:
            raise ValueError("cannot write it")
        return real(patient, rule, today, *rest)

    monkeypatch.setattr(outreach, "_compose", compose)
    change, _new = publish(manager, tag="login")
    assert list(changes_sent(change).values_list("patient_id", flat=True)) == [good.pk]
    assert change.outcome["failed"] == 1
    failure = NightlyFailure.objects.get()
    assert (failure.rule, failure.patient_id) == (OutreachRule.FEEDBACK_CHANGE, bad.pk)


def test_a_deactivated_patient_is_not_told(manager, db, enqueued):
    gone = PatientFactory(deactivated_on=dt.date(2026, 5, 1))
    survey_comment(gone, tags=["login"])
    publish(manager, tag="login")
    assert not changes_sent().exists()


def test_the_message_is_in_the_patients_communications_log(client, manager, db, enqueued):
    patient = PatientFactory()
    survey_comment(patient, tags=["login"])
    publish(manager, tag="login", text="signing in now takes one step.")
    client.force_login(manager)
    page = client.get(reverse("messaging:patient_communications", args=[patient.pk]))
    assert b"What we changed after your feedback" in page.content


# --- The satisfaction trend's markers ------------------------------------------------------


def twelve_months(last: dt.date):
    months = []
    month = last
    for _i in range(12):
        months.insert(0, (month, 4.2))
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return months


def test_the_satisfaction_chart_marks_the_month_of_a_published_note(manager, db, enqueued):
    publish(manager, tag="scheduling", at=at(dt.date(2026, 3, 31), 22))  # March, locally
    publish(manager, tag="login", at=at(dt.date(2024, 3, 5)))  # outside the twelve months
    points = twelve_months(dt.date(2026, 4, 1))
    assert published_changes(dt.date(2025, 5, 1), dt.date(2026, 4, 1)) == [
        ChangeMarker(dt.date(2026, 3, 1), "Scheduling")
    ]
    assert trend_markers("satisfaction", points) == [(dt.date(2026, 3, 1), "Scheduling")]
    assert trend_markers("enrollment_rate", points) == []
    assert b"Scheduling" in trend_svg(
        "satisfaction", points, 4.5, trend_markers("satisfaction", points)
    )
    assert b"Scheduling" not in trend_svg("enrollment_rate", points)
    assert "Scheduling in March 2026" in trend_description("satisfaction", points)


def test_the_pdf_draws_the_same_marker_without_being_told(manager, db, enqueued):
    """The PDF's chart pages call draw_trend without markers: it asks the registry itself."""
    from matplotlib.figure import Figure

    from metrics.charts import draw_trend

    publish(manager, tag="results", at=at(dt.date(2026, 2, 10)))
    ax = Figure().add_subplot()
    draw_trend(ax, "satisfaction", twelve_months(dt.date(2026, 4, 1)), 4.5, title="Satisfaction")
    assert "Results" in [text.get_text() for text in ax.texts]


def test_the_dashboard_chart_url_draws_the_marker(client, manager, db, enqueued):
    publish(manager, tag="billing", at=at(dt.date(2026, 5, 3)))
    client.force_login(manager)
    svg = client.get(
        reverse("metrics:chart", kwargs={"figure": "satisfaction"}), {"month": "2026-05"}
    )
    assert svg.status_code == 200
    assert b"Billing" in svg.content


def test_the_registry_is_filled_by_the_messaging_app(db):
    from portal_adoption import feedback_hooks

    assert feedback_hooks._published_changes == [feedback_selectors.published_change_markers]


# --- The demo practice ---------------------------------------------------------------------


def test_the_demo_writes_comments_tags_and_one_published_change_once(client, db, enqueued):
    from django.core.management import call_command

    from messaging.demo import DEMO_FEEDBACK_JOB, demo_feedback_load
    from patients.demo import demo_email
    from tests.factories import UserFactory

    manager = UserFactory(username="manager", email=demo_email("manager"), roles=["manager"])
    for n in range(40):
        patient = activated(PatientFactory(), dt.date(2025, 9, 1))
        ActivityEventFactory(
            patient=patient,
            type=EventType.SURVEY_RESPONSE,
            score=1 + n % 5,
            object_id=f"srv-{n}",
            occurred_at=at(dt.date(2026, 1, 1) + dt.timedelta(days=2 * n)),
        )
    with AFTER_COMMIT[0](execute=True):
        written = demo_feedback_load(share=0.5)
    assert 10 <= written <= 30
    comments = SurveyInvitation.objects.exclude(comment="")
    assert comments.count() == written
    # Each comment is the demo event's own answer: same score and moment.
    for invitation in comments:
        event = invitation.patient.events.get(type=EventType.SURVEY_RESPONSE)
        assert (invitation.score, invitation.answered_at) == (event.score, event.occurred_at)
    assert 0 < SurveyCommentTag.objects.count() < written
    change = FeedbackChange.objects.get()
    assert (change.tag, change.written_by) == ("scheduling", manager)
    assert timezone.localdate(change.published_at) == dt.date(2026, 3, 21)
    assert Communication.objects.filter(job=DEMO_FEEDBACK_JOB).count() == written
    # Twice is once.
    call_command("demo_messages", count=0)
    assert SurveyInvitation.objects.exclude(comment="").count() == written
    assert FeedbackChange.objects.count() == 1
    client.force_login(manager)
    assert len(client.get(reverse("messaging:feedback")).context["comments"]) == written
