"""Fatima uses the whole checklist: every step done or skipped with a reason (issue 11, items 5-6).

The playbook asks for the whole checklist at every enrollment. A step the
patient does not want is skipped with a reason from a short list, never left
blank; and the EHR note is on screen before step 8, whose tick says it was
pasted.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.models import (
    STEPS_BEFORE_THE_NOTE,
    EnrollmentStatus,
    EnrollmentStep,
    Incentive,
    SkipReason,
    Step,
)
from enrollment.services import (
    EnrollmentError,
    enrollment_open,
    enrollment_skip,
    enrollment_tick,
)
from patients.models import ActivityEvent, EventType
from tests.enrollment.test_checklist import give_contact, start, tick

NOTE_LATER = "The note to paste appears here once steps 1 to 7 are done or skipped"


def complete(client, enrollment):
    return client.post(reverse("enrollment:complete", kwargs={"pk": enrollment.pk}), follow=True)


def checklist_page(client, enrollment):
    return client.get(
        reverse("enrollment:checklist", kwargs={"pk": enrollment.pk})
    ).content.decode()


def show_messaging(client, enrollment):
    client.post(
        reverse("enrollment:feature", kwargs={"pk": enrollment.pk}), {"feature": "messaging"}
    )


def steps_1_to_3(client, enrollment):
    give_contact(client, enrollment)
    tick(client, enrollment, Step.SEND_INVITATION)
    tick(client, enrollment, Step.FIRST_LOGIN)


def answers(enrollment):
    return {a.step: a.skip_reason for a in EnrollmentStep.objects.filter(enrollment=enrollment)}


@pytest.fixture
def desk(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    return client


# --- Item 5: the whole checklist ------------------------------------------------------


def test_fatima_cannot_complete_with_steps_4_to_8_left_blank(desk, patient):
    enrollment = start(desk, patient)
    steps_1_to_3(desk, enrollment)

    response = complete(desk, enrollment)

    html = response.content.decode()
    assert "Tick these steps first, or skip them with the reason" in html
    for step in (Step.SHOW_FEATURE, Step.INSTALL_APP, Step.CONFIRM_ACCESS):
        assert str(step.label) in html
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.IN_PROGRESS
    assert not ActivityEvent.objects.exists()


def test_fatima_skips_the_steps_the_patient_does_not_want_with_a_reason_and_completes(
    desk, patient
):
    enrollment = start(desk, patient)
    steps_1_to_3(desk, enrollment)
    show_messaging(desk, enrollment)
    tick(desk, enrollment, Step.INSTALL_APP, reason="no_smartphone")
    tick(desk, enrollment, Step.CONFIRM_ACCESS)
    tick(desk, enrollment, Step.REFERENCE_CARD, reason="other", note="Card printer jammed")
    tick(desk, enrollment, Step.RECORD_IN_EHR, reason="other", note="EHR is down")

    response = complete(desk, enrollment)

    assert response.status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert answers(enrollment) == {
        Step.COLLECT_CONTACT: "",
        Step.SEND_INVITATION: "",
        Step.FIRST_LOGIN: "",
        Step.SHOW_FEATURE: "",
        Step.INSTALL_APP: SkipReason.NO_SMARTPHONE,
        Step.CONFIRM_ACCESS: "",
        Step.REFERENCE_CARD: SkipReason.OTHER,
        Step.RECORD_IN_EHR: SkipReason.OTHER,
        Step.SET_FOLLOW_UP: "",
    }
    card = enrollment.steps.get(step=Step.REFERENCE_CARD)
    assert card.skip_note == "Card printer jammed"


def test_the_checklist_shows_a_skipped_step_with_its_reason_and_offers_the_short_list(
    desk, patient
):
    enrollment = start(desk, patient)
    tick(desk, enrollment, Step.CONFIRM_ACCESS, reason="declined")

    html = checklist_page(desk, enrollment)

    assert "Skipped: Patient declined" in html
    assert "is-skipped" in html
    for label in ("Patient has no smartphone", "Patient in a hurry", "Another reason"):
        assert label in html
    # The QR code's own reason is never offered to the clerk.
    assert 'value="on_own_phone"' not in html
    # Steps 1 and 2 are the enrollment itself: no skip form for them.
    contact = html.split('id="step-collect_contact"')[1].split("</li>")[0]
    invitation = html.split('id="step-send_invitation"')[1].split("</li>")[0]
    assert "skip-step" not in contact and "skip-step" not in invitation


@pytest.mark.parametrize(
    ("step", "fields", "message"),
    [
        (Step.COLLECT_CONTACT, {"reason": "in_a_hurry"}, "cannot be skipped"),
        (Step.SEND_INVITATION, {"reason": "declined"}, "cannot be skipped"),
        (Step.CONFIRM_ACCESS, {"reason": "other", "note": "  "}, "Say in a few words why"),
        (Step.CONFIRM_ACCESS, {"reason": "bored"}, "Select a valid choice"),
        (Step.CONFIRM_ACCESS, {"reason": "on_own_phone"}, "Select a valid choice"),
        (Step.CONFIRM_ACCESS, {"reason": "other", "note": "x" * 201}, "at most 200"),
        (Step.REFERENCE_CARD, {"reason": "no_smartphone"}, "is not a reason to skip"),
    ],
)
def test_a_skip_without_an_acceptable_reason_is_refused_and_says_why(
    desk, patient, step, fields, message
):
    enrollment = start(desk, patient)

    response = desk.post(
        reverse("enrollment:tick", kwargs={"pk": enrollment.pk}), {"step": step, **fields}
    )
    page = desk.get(response["Location"]).content.decode()

    assert message in page
    assert not enrollment.steps.exists()


def test_a_reason_given_by_mistake_is_undone_and_the_step_ticked(desk, patient):
    enrollment = start(desk, patient)
    tick(desk, enrollment, Step.CONFIRM_ACCESS, reason="in_a_hurry")

    tick(desk, enrollment, Step.CONFIRM_ACCESS)  # refused: answered already
    assert answers(enrollment) == {Step.CONFIRM_ACCESS: SkipReason.IN_A_HURRY}
    tick(desk, enrollment, Step.CONFIRM_ACCESS, undo="1")
    tick(desk, enrollment, Step.CONFIRM_ACCESS)

    assert answers(enrollment) == {Step.CONFIRM_ACCESS: ""}


def test_the_same_skip_sent_twice_is_one_answer(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    first = enrollment_skip(
        enrollment=enrollment, step=Step.INSTALL_APP, reason="no_smartphone", by=front_desk_clerk
    )
    second = enrollment_skip(
        enrollment=enrollment, step=Step.INSTALL_APP, reason="no_smartphone", by=front_desk_clerk
    )
    assert first.pk == second.pk
    assert enrollment.steps.count() == 1


def test_a_skip_starts_the_clock_like_a_tick(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    skip = enrollment_skip(
        enrollment=enrollment, step=Step.SHOW_FEATURE, reason="in_a_hurry", by=front_desk_clerk
    )
    enrollment.refresh_from_db()
    assert enrollment.first_tick_at == skip.ticked_at


# --- Item 6: the EHR note before step 8 ----------------------------------------------------


def test_step_8_cannot_be_ticked_before_the_note_exists(desk, patient):
    enrollment = start(desk, patient)
    steps_1_to_3(desk, enrollment)

    before = checklist_page(desk, enrollment)
    tick(desk, enrollment, Step.RECORD_IN_EHR)
    after = checklist_page(desk, enrollment)

    assert NOTE_LATER in before
    assert "Pasted in the EHR" not in before
    assert 'id="ehr-note"' not in before
    step_8 = before.split('id="step-record_in_ehr"')[1].split("</li>")[0]
    assert "skip-step" not in step_8
    assert "finish or skip these first" in after
    assert not enrollment.steps.filter(step=Step.RECORD_IN_EHR).exists()
    enrollment.refresh_from_db()
    assert enrollment.ehr_note == ""


def test_fatima_sees_the_note_before_step_8_and_her_tick_keeps_what_she_pasted(
    desk, front_desk_clerk, patient
):
    enrollment = start(desk, patient)
    steps_1_to_3(desk, enrollment)
    show_messaging(desk, enrollment)
    for step in (Step.INSTALL_APP, Step.CONFIRM_ACCESS, Step.REFERENCE_CARD):
        tick(desk, enrollment, step)

    html = checklist_page(desk, enrollment)
    today = timezone.localdate().isoformat()
    shown = (
        f"Portal enrollment completed at front desk on {today} by Fatima "
        f"{front_desk_clerk.last_name}; app installed; patient shown secure messaging; "
        "quick reference card given."
    )
    step_8 = html.split('id="step-record_in_ehr"')[1].split("</li>")[0]
    assert shown in step_8
    assert 'data-copy-from="#ehr-note"' in step_8
    assert "Pasted in the EHR" in step_8
    # The note depends on the EHR, not on the patient: only a reason in words skips it.
    assert 'value="in_a_hurry"' not in step_8 and 'name="note"' in step_8
    assert NOTE_LATER not in html

    tick(desk, enrollment, Step.RECORD_IN_EHR)
    enrollment.refresh_from_db()
    assert enrollment.ehr_note == shown
    assert enrollment.ehr_note_produced_at is not None

    complete(desk, enrollment)
    enrollment.refresh_from_db()
    assert enrollment.ehr_note == shown
    done = desk.get(reverse("enrollment:completed", kwargs={"pk": enrollment.pk}))
    page = done.content.decode()
    assert "tick it off below" not in page
    assert "Pasted into the patient's chart at" in page
    assert shown in page


def test_once_the_note_is_pasted_the_steps_it_describes_are_fixed(desk, front_desk_clerk, patient):
    gift = Incentive.objects.create(kind="gift_card", name="$10 gift card", value="10.00")
    enrollment = start(desk, patient)
    steps_1_to_3(desk, enrollment)
    show_messaging(desk, enrollment)
    tick(desk, enrollment, Step.INSTALL_APP, reason="declined")
    tick(desk, enrollment, Step.CONFIRM_ACCESS)
    tick(desk, enrollment, Step.REFERENCE_CARD)
    tick(desk, enrollment, Step.RECORD_IN_EHR)
    enrollment.refresh_from_db()
    pasted = enrollment.ehr_note
    assert "app not installed: patient declined" in pasted

    # The steps the note describes offer no "Undo" any more; step 8 does.
    html = checklist_page(desk, enrollment)
    assert html.count('name="undo"') == 1
    assert 'name="undo"' in html.split('id="step-record_in_ehr"')[1].split("</li>")[0]

    tick(desk, enrollment, Step.INSTALL_APP, undo="1")
    desk.post(
        reverse("enrollment:feature", kwargs={"pk": enrollment.pk}), {"feature": "scheduling"}
    )
    desk.post(reverse("enrollment:incentive", kwargs={"pk": enrollment.pk}), {"incentive": gift.pk})
    html = checklist_page(desk, enrollment)

    assert "The EHR note is pasted already: undo step 8 first" in html
    enrollment.refresh_from_db()
    assert answers(enrollment)[Step.INSTALL_APP] == SkipReason.DECLINED
    assert (enrollment.feature_shown, enrollment.incentive) == ("messaging", None)
    assert enrollment.ehr_note == pasted

    # Undoing step 8 frees the steps; the next note says what changed.
    tick(desk, enrollment, Step.RECORD_IN_EHR, undo="1")
    tick(desk, enrollment, Step.INSTALL_APP, undo="1")
    tick(desk, enrollment, Step.INSTALL_APP)
    enrollment.refresh_from_db()
    assert enrollment.ehr_note == ""
    assert "app installed" in checklist_page(desk, enrollment)


def test_a_skipped_step_8_leaves_the_note_to_paste_on_the_completed_page(desk, patient):
    enrollment = start(desk, patient)
    steps_1_to_3(desk, enrollment)
    for step in STEPS_BEFORE_THE_NOTE[3:]:
        tick(desk, enrollment, step, reason="in_a_hurry")
    tick(desk, enrollment, Step.RECORD_IN_EHR, reason="other", note="EHR is down")
    complete(desk, enrollment)

    page = desk.get(reverse("enrollment:completed", kwargs={"pk": enrollment.pk})).content.decode()

    enrollment.refresh_from_db()
    assert enrollment.ehr_note.startswith("Portal enrollment completed at front desk")
    assert "Step 8 was skipped (Other reason)" in page
    assert "paste this note into the patient's chart as soon as you can" in page
    assert "tick it off below" not in page


def test_the_service_refuses_step_8_before_steps_1_to_7(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    with pytest.raises(EnrollmentError, match="finish or skip these first"):
        enrollment_tick(enrollment=enrollment, step=Step.RECORD_IN_EHR, by=front_desk_clerk)
    assert not EnrollmentStep.objects.exists()


def test_the_first_login_is_recorded_only_when_fatima_saw_it(desk, patient):
    """Step 3 done: the clerk watched the first login, the playbook's "enrolled".
    Skipped: the patient is invited, and activation comes from the portal feed."""
    enrollment = start(desk, patient)
    give_contact(desk, enrollment)
    tick(desk, enrollment, Step.SEND_INVITATION)
    tick(desk, enrollment, Step.FIRST_LOGIN, reason="in_a_hurry")
    for step in STEPS_BEFORE_THE_NOTE[3:]:
        tick(desk, enrollment, step, reason="in_a_hurry")
    tick(desk, enrollment, Step.RECORD_IN_EHR)
    enrollment.refresh_from_db()
    assert "first login still to do" in enrollment.ehr_note

    complete(desk, enrollment)

    events = ActivityEvent.objects.filter(patient=patient)
    assert [(e.type, e.channel) for e in events] == [(EventType.PORTAL_INVITED, "front_desk")]
    page = desk.get(reverse("enrollment:completed", kwargs={"pk": enrollment.pk})).content.decode()
    assert "Rosa Delgado is invited" in page
    assert "is enrolled" not in page


def test_an_enrollment_completed_before_every_step_was_needed_still_shows_its_note(
    desk, front_desk_clerk, patient
):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    for step in (Step.COLLECT_CONTACT, Step.SEND_INVITATION, Step.FIRST_LOGIN):
        EnrollmentStep.objects.create(enrollment=enrollment, step=step, ticked_by=front_desk_clerk)
    type(enrollment).objects.filter(pk=enrollment.pk).update(
        status=EnrollmentStatus.COMPLETED,
        completed_at=timezone.now(),
        completed_by=front_desk_clerk,
        duration_seconds=80,
        ehr_note="Portal enrollment completed at front desk.",
    )

    page = desk.get(reverse("enrollment:completed", kwargs={"pk": enrollment.pk})).content.decode()

    assert "Rosa Delgado is enrolled" in page
    assert "Step 8 is not recorded" in page
    assert "Portal enrollment completed at front desk." in page
