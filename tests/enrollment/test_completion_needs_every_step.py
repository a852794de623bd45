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
