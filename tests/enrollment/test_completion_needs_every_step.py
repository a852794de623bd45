"""Fatima completes an enrollment only when each of steps 1 to 8 is answered (issue 17).

Each case leaves exactly one step unanswered, so a refusal names the rule that
refused: the contact step on its own, not the contact and the invitation at once.
"""

import pytest

from enrollment.models import (
    STEPS_BEFORE_THE_NOTE,
    EnrollmentStatus,
    FeatureShown,
    SkipReason,
    Step,
)
from enrollment.services import (
    EnrollmentError,
    contact_check,
    enrollment_collect_contact,
    enrollment_complete,
    enrollment_open,
    enrollment_set_feature,
    enrollment_skip,
    enrollment_tick,
    enrollment_untick,
)
from patients.models import ActivityEvent


def answer(enrollment, step, clerk):
    """Step `step` done, as the desk does it."""
    if step == Step.COLLECT_CONTACT:
        details = contact_check(
            email="rosa@example.org", mobile_phone="202-555-0143", notification_channel="sms"
        )
        enrollment_collect_contact(enrollment=enrollment, details=details, by=clerk)
    elif step == Step.SHOW_FEATURE:
        enrollment_set_feature(enrollment=enrollment, feature=FeatureShown.MESSAGING, by=clerk)
    else:
        enrollment_tick(enrollment=enrollment, step=step, by=clerk)


def all_but(left_out, patient, clerk):
    """Every step of 1 to 8 answered but `left_out` (step 8 skipped: no note pasted,
    so a step it would describe can still be undone)."""
    enrollment = enrollment_open(patient=patient, by=clerk)
    for step in STEPS_BEFORE_THE_NOTE:
        answer(enrollment, step, clerk)
    if left_out == Step.RECORD_IN_EHR:
        return enrollment
    enrollment_skip(
        enrollment=enrollment,
        step=Step.RECORD_IN_EHR,
        reason=SkipReason.OTHER,
        note="EHR down; the note is pasted later",
        by=clerk,
    )
    enrollment_untick(enrollment=enrollment, step=left_out)
    return enrollment


@pytest.mark.parametrize("left_out", [*STEPS_BEFORE_THE_NOTE, Step.RECORD_IN_EHR])
def test_fatima_cannot_complete_with_one_step_unanswered(front_desk_clerk, patient, left_out):
    enrollment = all_but(left_out, patient, front_desk_clerk)

    with pytest.raises(EnrollmentError) as refused:
        enrollment_complete(enrollment=enrollment, by=front_desk_clerk)

    assert str(refused.value) == (
        f"Tick these steps first, or skip them with the reason: {left_out.label}."
    )
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.IN_PROGRESS
    assert not ActivityEvent.objects.exists()

    answer(enrollment, left_out, front_desk_clerk)
    done = enrollment_complete(enrollment=enrollment, by=front_desk_clerk)
    assert done.status == EnrollmentStatus.COMPLETED


def test_undoing_a_step_for_one_patient_leaves_another_patients_step_ticked(front_desk_clerk, db):
    from tests.factories import PatientFactory

    rosa = enrollment_open(patient=PatientFactory(given_name="Rosa"), by=front_desk_clerk)
    hugo = enrollment_open(patient=PatientFactory(given_name="Hugo"), by=front_desk_clerk)
    for enrollment in (rosa, hugo):
        enrollment_tick(enrollment=enrollment, step=Step.SEND_INVITATION, by=front_desk_clerk)

    enrollment_untick(enrollment=rosa, step=Step.SEND_INVITATION)

    assert not rosa.steps.filter(step=Step.SEND_INVITATION).exists()
    assert hugo.steps.filter(step=Step.SEND_INVITATION).exists()


def test_after_the_note_is_pasted_the_follow_up_can_be_undone_but_not_a_step_it_describes(
    front_desk_clerk, patient
):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    for step in STEPS_BEFORE_THE_NOTE:
        answer(enrollment, step, front_desk_clerk)
    enrollment_tick(enrollment=enrollment, step=Step.RECORD_IN_EHR, by=front_desk_clerk)
    enrollment_tick(enrollment=enrollment, step=Step.SET_FOLLOW_UP, by=front_desk_clerk)

    enrollment_untick(enrollment=enrollment, step=Step.SET_FOLLOW_UP)
    assert not enrollment.steps.filter(step=Step.SET_FOLLOW_UP).exists()

    with pytest.raises(EnrollmentError, match="The EHR note is pasted already"):
        enrollment_untick(enrollment=enrollment, step=Step.SEND_INVITATION)
    assert enrollment.steps.filter(step=Step.SEND_INVITATION).exists()
