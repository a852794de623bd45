"""Fatima works the nine-step checklist while the patient stands at the desk."""

import datetime as dt
import threading
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from enrollment.models import (
    STEPS_BEFORE_THE_NOTE,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStep,
    Incentive,
    Step,
)
from enrollment.selectors import staff_credit
from enrollment.services import (
    EnrollmentError,
    contact_check,
    enrollment_collect_contact,
    enrollment_complete,
    enrollment_open,
    enrollment_skip,
    enrollment_tick,
)
from patients.models import ActivityEvent, EventType
from portal_adoption.roles import Role
from tests.conftest import requires_postgres
from tests.factories import PatientFactory, staff


def answer_the_rest(enrollment, clerk, reason="in_a_hurry"):
    """Steps 4 to 8 skipped for a reason, and step 8 ticked: what completing now needs."""
    for step in STEPS_BEFORE_THE_NOTE:
        if not enrollment.steps.filter(step=step).exists():
            enrollment_skip(enrollment=enrollment, step=step, reason=reason, by=clerk)
    enrollment_tick(enrollment=enrollment, step=Step.RECORD_IN_EHR, by=clerk)


def tick(client, enrollment, step, **extra):
    return client.post(
        reverse("enrollment:tick", kwargs={"pk": enrollment.pk}), {"step": step, **extra}
    )


def start(client, patient):
    client.post(reverse("enrollment:start", kwargs={"pk": patient.pk}))
    return Enrollment.objects.get(patient=patient, status=EnrollmentStatus.IN_PROGRESS)


def give_contact(
    client, enrollment, email="rosa@example.org", mobile="202-555-0143", channel="sms"
):
    return client.post(
        reverse("enrollment:contact", kwargs={"pk": enrollment.pk}),
        {"email": email, "mobile_phone": mobile, "notification_channel": channel},
    )


def test_the_whole_checklist_enrolls_the_patient_and_sets_the_follow_up(
    client, front_desk_clerk, patient
):
    client.force_login(front_desk_clerk)
    enrollment = start(client, patient)
    # Any order: the app first, then the contact details, then the rest.
    tick(client, enrollment, Step.INSTALL_APP)
    give_contact(client, enrollment)
    for step in (Step.SEND_INVITATION, Step.FIRST_LOGIN, Step.CONFIRM_ACCESS, Step.REFERENCE_CARD):
        tick(client, enrollment, step)
    client.post(
        reverse("enrollment:feature", kwargs={"pk": enrollment.pk}), {"feature": "messaging"}
    )
    tick(client, enrollment, Step.RECORD_IN_EHR)
    response = client.post(reverse("enrollment:complete", kwargs={"pk": enrollment.pk}))

    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert enrollment.completed_by == front_desk_clerk
    assert enrollment.duration_seconds is not None and enrollment.duration_seconds < 60
    assert enrollment.follow_up_due_on == timezone.localdate() + dt.timedelta(days=7)
    assert enrollment.steps.filter(step=Step.SET_FOLLOW_UP).exists()
    events = ActivityEvent.objects.filter(patient=patient).order_by("occurred_at")
    assert [(e.type, e.channel) for e in events] == [
        (EventType.APP_INSTALLED, "front_desk"),
        (EventType.PORTAL_INVITED, "front_desk"),
        (EventType.PORTAL_ACTIVATED, "front_desk"),
    ]
    patient.refresh_from_db()
    assert (patient.email, patient.mobile_phone, patient.notification_channel) == (
        "rosa@example.org",
        "+12025550143",
        "sms",
    )


def test_the_ehr_note_says_what_was_done_and_is_ready_to_copy(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    enrollment = start(client, patient)
    give_contact(client, enrollment)
    for step in (Step.SEND_INVITATION, Step.FIRST_LOGIN, Step.INSTALL_APP, Step.CONFIRM_ACCESS):
        tick(client, enrollment, step)
    client.post(
        reverse("enrollment:feature", kwargs={"pk": enrollment.pk}), {"feature": "messaging"}
    )
    tick(client, enrollment, Step.REFERENCE_CARD, reason="in_a_hurry")
    tick(client, enrollment, Step.RECORD_IN_EHR)
    client.post(reverse("enrollment:complete", kwargs={"pk": enrollment.pk}))
    page = client.get(
        reverse("enrollment:completed", kwargs={"pk": enrollment.pk})
    ).content.decode()
    today = timezone.localdate().isoformat()
    expected = (
        f"Portal enrollment completed at front desk on {today} by Fatima "
        f"{front_desk_clerk.last_name}; app installed; patient shown secure messaging."
    )
    enrollment.refresh_from_db()
    assert enrollment.ehr_note == expected
    assert enrollment.ehr_note_produced_at is not None
    assert 'data-copy-from="#ehr-note"' in page


def test_completing_needs_the_contact_invitation_and_first_login(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    enrollment = start(client, patient)
    tick(client, enrollment, Step.SEND_INVITATION)
    response = client.post(
        reverse("enrollment:complete", kwargs={"pk": enrollment.pk}), follow=True
    )
    # Said once: the page's message area, not again inside the checklist.
    assert response.content.decode().count("Tick these steps first") == 1
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.IN_PROGRESS
    assert not ActivityEvent.objects.exists()


def test_double_submitting_a_step_or_the_completion_is_harmless(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    details = contact_check(email="a@example.org", mobile_phone="", notification_channel="email")
    enrollment_collect_contact(enrollment=enrollment, details=details, by=front_desk_clerk)
    for step in (Step.SEND_INVITATION, Step.SEND_INVITATION, Step.FIRST_LOGIN):
        enrollment_tick(enrollment=enrollment, step=step, by=front_desk_clerk)
    answer_the_rest(enrollment, front_desk_clerk)
    first = enrollment_complete(enrollment=enrollment, by=front_desk_clerk)
    second = enrollment_complete(enrollment=enrollment, by=front_desk_clerk)
    assert first.completed_at == second.completed_at
    assert (
        EnrollmentStep.objects.filter(enrollment=enrollment, step=Step.SEND_INVITATION).count() == 1
    )
    assert ActivityEvent.objects.count() == 2


def test_the_clock_runs_from_the_first_tick(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    assert enrollment.first_tick_at is None
    first = enrollment_tick(enrollment=enrollment, step=Step.CONFIRM_ACCESS, by=front_desk_clerk)
    enrollment_tick(enrollment=enrollment, step=Step.INSTALL_APP, by=front_desk_clerk)
    enrollment.refresh_from_db()
    assert enrollment.first_tick_at == first.ticked_at


def test_an_invalid_email_names_the_problem_and_saves_nothing(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    enrollment = start(client, patient)
    response = give_contact(client, enrollment, email="rosa@@example", channel="email")
    assert response.status_code == 400
    assert "is not an email address" in response.content.decode()
    assert not enrollment.steps.exists()


def test_a_typo_looking_email_domain_warns_but_does_not_block(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    enrollment = start(client, patient)
    response = give_contact(client, enrollment, email="rosa@gmial.com")
    page = client.get(
        reverse("enrollment:checklist", kwargs={"pk": enrollment.pk})
    ).content.decode()
    assert response.status_code == 302
    assert "did they mean @gmail.com?" in page
    assert enrollment.steps.filter(step=Step.COLLECT_CONTACT).exists()


def test_text_notifications_need_a_mobile_number(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    enrollment = start(client, patient)
    response = give_contact(client, enrollment, email="rosa@example.org", mobile="", channel="sms")
    assert response.status_code == 400
    assert "Text notifications need a mobile number" in response.content.decode()


def test_an_incentive_is_recorded_with_its_value(client, front_desk_clerk, patient):
    gift = Incentive.objects.create(kind="gift_card", name="$10 gift card", value="10.00")
    client.force_login(front_desk_clerk)
    enrollment = start(client, patient)
    client.post(
        reverse("enrollment:incentive", kwargs={"pk": enrollment.pk}), {"incentive": gift.pk}
    )
    enrollment.refresh_from_db()
    assert (enrollment.incentive, str(enrollment.incentive_value)) == (gift, "10.00")


def test_two_clerks_opening_the_same_patient_share_one_enrollment(
    client, front_desk_clerk, patient
):
    other_clerk = staff("jo", Role.FRONT_DESK)
    first = enrollment_open(patient=patient, by=front_desk_clerk)
    second = enrollment_open(patient=patient, by=other_clerk)
    assert first.pk == second.pk


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_clerks_starting_at_the_same_instant_get_one_enrollment():
    patient = PatientFactory()
    clerks = [staff(f"clerk{n}") for n in range(6)]
    barrier = threading.Barrier(len(clerks))
    opened, failures = [], []

    def open_as(clerk):
        try:
            barrier.wait()
            opened.append(enrollment_open(patient=patient, by=clerk).pk)
        except Exception as error:  # collected and asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_as, args=(c,)) for c in clerks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(set(opened)) == 1
    assert Enrollment.objects.filter(patient=patient).count() == 1


def test_a_finished_enrollment_cannot_be_ticked_again(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    Enrollment.objects.filter(pk=enrollment.pk).update(status=EnrollmentStatus.ABANDONED)
    enrollment.refresh_from_db()
    with pytest.raises(EnrollmentError):
        enrollment_tick(enrollment=enrollment, step=Step.INSTALL_APP, by=front_desk_clerk)


def complete_one(clerk, when):
    patient = PatientFactory()
    enrollment = enrollment_open(patient=patient, by=clerk)
    Enrollment.objects.filter(pk=enrollment.pk).update(
        status=EnrollmentStatus.COMPLETED, completed_by=clerk, completed_at=when
    )


def test_each_clerk_gets_credit_for_this_month_and_last(front_desk_clerk, manager):
    now = timezone.localtime()
    this_month = now.replace(day=1, hour=12)
    last_month = (this_month - dt.timedelta(days=3)).replace(day=2)
    for when in (this_month, this_month, last_month):
        complete_one(front_desk_clerk, when)
    complete_one(manager, last_month)
    credit = {row.name: (row.this_month, row.last_month) for row in staff_credit(now=now)}
    assert credit[front_desk_clerk.get_full_name()] == (2, 1)
    assert credit[manager.get_full_name()] == (0, 1)


def test_the_front_desk_home_page_shows_the_credit(client, front_desk_clerk):
    complete_one(front_desk_clerk, timezone.now())
    client.force_login(front_desk_clerk)
    page = client.get(reverse("home")).content.decode()
    assert "Enrollments by staff" in page
    assert front_desk_clerk.get_full_name() in page


def test_complete_and_stop_stay_on_screen_while_the_steps_scroll(client, front_desk_clerk, patient):
    """On a 1024 x 768 tablet the nine steps run to ~1,800 px: the action bar is sticky.

    Checked in Chromium at 1024 x 768 (the button stays inside the window at
    the top, mid-way and at the end of the page); here, that the buttons are
    in the bar and the stylesheet makes the bar stick.
    """
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    client.force_login(front_desk_clerk)
    page = client.get(reverse("enrollment:checklist", args=[enrollment.pk])).content.decode()
    bar = page[page.index('class="checklist-actions') :]
    bar = bar[: bar.index("</div>")]
    assert "Complete enrollment" in bar and "Stop for now" in bar
    css = Path(finders.find("css/app.css")).read_text()
    rule = css[css.index(".checklist-actions {") :]
    rule = rule[: rule.index("}")]
    assert "position: sticky" in rule and "bottom: 0" in rule
