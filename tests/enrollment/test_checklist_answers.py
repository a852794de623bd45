"""What each answer of the checklist stores, when, and for which patient only.

Found by mutation testing (tests/README.md): the demo's backdated history,
an answer given twice in two different ways, the list of steps still missing
before the note, and services that reached past their own patient.
"""

import datetime as dt

import pytest
from django.utils import timezone

from enrollment.models import (
    STEPS_BEFORE_THE_NOTE,
    Enrollment,
    EnrollmentMethod,
    EnrollmentStatus,
    EnrollmentStep,
    SkipReason,
    Step,
)
from enrollment.services import (
    EnrollmentError,
    contact_check,
    enrollment_abandon,
    enrollment_collect_contact,
    enrollment_complete,
    enrollment_open,
    enrollment_skip,
    enrollment_tick,
)
from tests.factories import PatientFactory

MONDAY_MORNING = timezone.make_aware(dt.datetime(2026, 3, 2, 9, 5))
CONTACT = contact_check(email="rosa@example.org", mobile_phone="", notification_channel="email")


def minutes_later(minutes):
    return MONDAY_MORNING + dt.timedelta(minutes=minutes)


def test_the_demo_history_keeps_every_moment_it_was_given(front_desk_clerk, patient):
    """patients/demo.py backdates whole checklists: each stored time is the one given."""
    enrollment = enrollment_open(
        patient=patient, by=front_desk_clerk, method=EnrollmentMethod.QR, now=MONDAY_MORNING
    )
    assert (enrollment.started_at, enrollment.method) == (MONDAY_MORNING, EnrollmentMethod.QR)

    enrollment_collect_contact(
        enrollment=enrollment, details=CONTACT, by=front_desk_clerk, now=minutes_later(1)
    )
    # The caller's copy says when the clock started, as stored.
    assert enrollment.first_tick_at == minutes_later(1)
    enrollment_tick(
        enrollment=enrollment, step=Step.SEND_INVITATION, by=front_desk_clerk, now=minutes_later(2)
    )
    for offset, step in enumerate(STEPS_BEFORE_THE_NOTE[2:], start=3):
        enrollment_skip(
            enrollment=enrollment,
            step=step,
            reason=SkipReason.IN_A_HURRY,
            by=front_desk_clerk,
            now=minutes_later(offset),
        )
    enrollment_tick(
        enrollment=enrollment, step=Step.RECORD_IN_EHR, by=front_desk_clerk, now=minutes_later(9)
    )
    assert enrollment.ehr_note_produced_at == minutes_later(9)
    assert enrollment.ehr_note.startswith(
        "Portal enrollment completed at front desk on 2026-03-02 by"
    )

    enrollment_complete(enrollment=enrollment, by=front_desk_clerk, now=minutes_later(10))

    stored = {a.step: a.ticked_at for a in EnrollmentStep.objects.filter(enrollment=enrollment)}
    assert stored == {
        Step.COLLECT_CONTACT: minutes_later(1),
        Step.SEND_INVITATION: minutes_later(2),
        **{step: minutes_later(n) for n, step in enumerate(STEPS_BEFORE_THE_NOTE[2:], start=3)},
        Step.RECORD_IN_EHR: minutes_later(9),
        Step.SET_FOLLOW_UP: minutes_later(10),
    }
    enrollment.refresh_from_db()
    assert enrollment.first_tick_at == minutes_later(1)
    assert enrollment.completed_at == minutes_later(10)
    assert enrollment.follow_up_due_on == dt.date(2026, 3, 9)


def test_a_demo_checklist_completed_without_pasting_dates_its_note_that_day(
    front_desk_clerk, patient
):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk, now=MONDAY_MORNING)
    enrollment_collect_contact(
        enrollment=enrollment, details=CONTACT, by=front_desk_clerk, now=minutes_later(1)
    )
    enrollment_tick(enrollment=enrollment, step=Step.SEND_INVITATION, by=front_desk_clerk)
    for step in STEPS_BEFORE_THE_NOTE[2:]:
        enrollment_skip(enrollment=enrollment, step=step, reason="in_a_hurry", by=front_desk_clerk)
    enrollment_skip(
        enrollment=enrollment,
        step=Step.RECORD_IN_EHR,
        reason=SkipReason.OTHER,
        note="EHR down",
        by=front_desk_clerk,
    )

    enrollment_complete(enrollment=enrollment, by=front_desk_clerk, now=minutes_later(10))

    enrollment.refresh_from_db()
    assert enrollment.ehr_note_produced_at == minutes_later(10)
    assert "on 2026-03-02 by" in enrollment.ehr_note


def test_a_ticked_step_and_a_skip_without_words_keep_no_note(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    ticked = enrollment_tick(enrollment=enrollment, step=Step.SHOW_FEATURE, by=front_desk_clerk)
    skipped = enrollment_skip(
        enrollment=enrollment, step=Step.INSTALL_APP, reason="no_smartphone", by=front_desk_clerk
    )

    stored = {a.step: (a.skip_reason, a.skip_note) for a in enrollment.steps.all()}
    assert stored == {
        Step.SHOW_FEATURE: ("", ""),
        Step.INSTALL_APP: (SkipReason.NO_SMARTPHONE, ""),
    }
    assert (ticked.skip_note, skipped.skip_note) == ("", "")


def test_a_long_skip_note_is_kept_to_its_first_200_characters(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    words = "The patient's phone is shared with the family " * 6

    enrollment_skip(
        enrollment=enrollment,
        step=Step.INSTALL_APP,
        reason=SkipReason.OTHER,
        note=words,
        by=front_desk_clerk,
    )

    assert enrollment.steps.get().skip_note == words.strip()[:200]


@pytest.mark.parametrize(
    "first, then",
    [("tick", "skip"), ("skip", "tick")],
    ids=["a_ticked_step_cannot_be_skipped", "a_skipped_step_cannot_be_ticked"],
)
def test_changing_an_answer_needs_an_undo_first(front_desk_clerk, patient, first, then):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)

    def answer(how):
        if how == "tick":
            return enrollment_tick(
                enrollment=enrollment, step=Step.INSTALL_APP, by=front_desk_clerk
            )
        return enrollment_skip(
            enrollment=enrollment, step=Step.INSTALL_APP, reason="declined", by=front_desk_clerk
        )

    kept = answer(first)
    with pytest.raises(EnrollmentError, match="is answered already: undo it first"):
        answer(then)

    assert list(enrollment.steps.values_list("pk", "skip_reason")) == [(kept.pk, kept.skip_reason)]


def test_the_note_is_refused_with_the_names_of_the_steps_still_open(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    enrollment_collect_contact(enrollment=enrollment, details=CONTACT, by=front_desk_clerk)
    enrollment_tick(enrollment=enrollment, step=Step.SEND_INVITATION, by=front_desk_clerk)
    for step in STEPS_BEFORE_THE_NOTE[2:-1]:
        enrollment_tick(enrollment=enrollment, step=step, by=front_desk_clerk)

    with pytest.raises(EnrollmentError) as refused:
        enrollment_tick(enrollment=enrollment, step=Step.RECORD_IN_EHR, by=front_desk_clerk)

    message = str(refused.value)
    assert message.endswith(f"finish or skip these first: {Step.REFERENCE_CARD.label}.")
    assert str(Step.COLLECT_CONTACT.label) not in message


def test_the_first_answer_starts_only_this_patients_clock(front_desk_clerk):
    waiting = enrollment_open(patient=PatientFactory(), by=front_desk_clerk)
    at_the_desk = enrollment_open(patient=PatientFactory(), by=front_desk_clerk)

    enrollment_tick(enrollment=at_the_desk, step=Step.SHOW_FEATURE, by=front_desk_clerk)

    waiting.refresh_from_db()
    assert waiting.first_tick_at is None


def test_a_patient_whose_last_enrollment_was_stopped_starts_a_new_one(front_desk_clerk, patient):
    stopped = enrollment_open(patient=patient, by=front_desk_clerk)
    enrollment_abandon(enrollment=stopped)

    opened = enrollment_open(patient=patient, by=front_desk_clerk)

    assert opened.pk != stopped.pk
    assert opened.status == EnrollmentStatus.IN_PROGRESS


def test_stopping_one_patients_enrollment_leaves_the_others_in_progress(front_desk_clerk):
    stopped = enrollment_open(patient=PatientFactory(), by=front_desk_clerk)
    other = enrollment_open(patient=PatientFactory(), by=front_desk_clerk)

    enrollment_abandon(enrollment=stopped)

    statuses = dict(Enrollment.objects.values_list("pk", "status"))
    assert statuses == {
        stopped.pk: EnrollmentStatus.ABANDONED,
        other.pk: EnrollmentStatus.IN_PROGRESS,
    }


def test_a_stop_sent_after_completion_leaves_the_enrollment_completed(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    Enrollment.objects.filter(pk=enrollment.pk).update(status=EnrollmentStatus.COMPLETED)

    enrollment_abandon(enrollment=enrollment)

    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED
