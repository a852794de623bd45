"""Writes for enrollment at check-in. Every row written names the member of staff."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.ehr_note import ehr_note_ready, ehr_note_text
from enrollment.models import (
    OUTCOMES_BY_SCRIPT,
    SKIP_REASONS_BY_STEP,
    STEPS_BEFORE_THE_NOTE,
    STEPS_NEVER_SKIPPED,
    CallOutcome,
    ConversationOutcome,
    Decline,
    DeclineReason,
    Enrollment,
    EnrollmentMethod,
    EnrollmentStatus,
    EnrollmentStep,
    FeatureShown,
    FollowUpCall,
    Incentive,
    PortalConversation,
    QrInvitation,
    Remedy,
    Script,
    ScriptKey,
    SkipReason,
    Step,
    TechHelpBooking,
    TechHelpSession,
)
from enrollment.playbook import PLAYBOOK_SCRIPTS, SHIPPED_LANGUAGES, playbook_wording
from patients.models import Channel, EventType, NotificationChannel, Patient
from patients.rules import EventData
from patients.services import event_record, patient_contact_update
from portal_adoption.contact import ContactInvalid, email_normalized, phone_to_e164

FOLLOW_UP_DAYS = 7
QR_LIFETIME = timedelta(minutes=15)
QR_SALT = "enrollment.qr"


class EnrollmentError(ValueError):
    """A request the enrollment cannot honor; the message says what to do."""


class ContactError(EnrollmentError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


# --- The checklist --------------------------------------------------------------


def enrollment_open(
    *, patient: Patient, by, method: str = EnrollmentMethod.DESK, now: datetime | None = None
) -> Enrollment:
    """The patient's enrollment in progress, started now if there is none.

    `now` is for the demo's history only (patients/demo.py); the desk leaves it out.

    Two clerks opening the same patient at once get the same enrollment: the
    unique constraint on in-progress enrollments decides the race.
    """
    existing = _in_progress(patient)
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Enrollment.objects.create(
                patient=patient, started_by=by, method=method, started_at=now or timezone.now()
            )
    except IntegrityError:
        existing = _in_progress(patient)
        if existing is None:
            raise
        return existing


def _in_progress(patient: Patient) -> Enrollment | None:
    return Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.IN_PROGRESS).first()


def enrollment_tick(
    *, enrollment: Enrollment, step: str, by, now: datetime | None = None
) -> EnrollmentStep:
    """Mark a step done; ticking it again (a double tap) changes nothing.

    Ticking step 8 stores the EHR note shown above its button: the tick says
    that this text was pasted, so it is kept exactly as it was shown.
    """
    return _answer(enrollment=enrollment, step=Step(step), by=by, now=now)


def enrollment_skip(
    *,
    enrollment: Enrollment,
    step: str,
    reason: str,
    by,
    note: str = "",
    now: datetime | None = None,
) -> EnrollmentStep:
    """Leave a step out for a reason from the short list; sending it twice changes nothing.

    Steps 1, 2 and 9 cannot be skipped; each other step takes the reasons
    that make sense for it (SKIP_REASONS_BY_STEP); "other" needs the reason
    in words.
    """
    step, reason, note = Step(step), SkipReason(reason), note.strip()[:200]
    if step in STEPS_NEVER_SKIPPED:
        raise EnrollmentError(_("“%(step)s” cannot be skipped.") % {"step": step.label})
    allowed = SKIP_REASONS_BY_STEP[step]
    if reason not in allowed:
        raise EnrollmentError(
            _("“%(reason)s” is not a reason to skip “%(step)s”: choose %(allowed)s.")
            % {
                "reason": reason.label,
                "step": step.label,
                "allowed": ", ".join(
                    f"“{r.label}”" for r in allowed if r != SkipReason.ON_OWN_PHONE
                ),
            }
        )
    if reason == SkipReason.OTHER and not note:
        raise EnrollmentError(_("Say in a few words why the step is skipped."))
    return _answer(
        enrollment=enrollment, step=step, by=by, skip_reason=reason, skip_note=note, now=now
    )


def _answer(
    *,
    enrollment: Enrollment,
    step: Step,
    by,
    skip_reason: str = "",
    skip_note: str = "",
    now: datetime | None = None,
) -> EnrollmentStep:
    """Record a step's answer once; the first answer of all starts the clock.

    1. Lock the enrollment, so that answers, undos and the completion of one
       enrollment are decided one after the other.
    2. The same answer again is a repeat and changes nothing; another answer
       to an answered step must undo it first.
    3. Step 8 needs steps 1 to 7 answered and stores the note; once it is
       done, the steps the note describes are fixed (_require_note_open).
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_in_progress(enrollment)
        answers = {a.step: a for a in locked.steps.select_related("ticked_by")}
        existing = answers.get(step)
        if existing is not None:
            if (existing.skip_reason, existing.skip_note) != (skip_reason, skip_note) and (
                existing.skip_reason or skip_reason
            ):
                raise EnrollmentError(
                    _("“%(step)s” is answered already: undo it first to change the answer.")
                    % {"step": step.label}
                )
            return existing
        if step == Step.RECORD_IN_EHR:
            _require_note_ready(answers)
        else:
            _require_note_open(answers, step)
        answer = EnrollmentStep.objects.create(
            enrollment=locked,
            step=step,
            ticked_by=by,
            ticked_at=now,
            skip_reason=skip_reason,
            skip_note=skip_note,
        )
        if step == Step.RECORD_IN_EHR and answer.done:
            locked.ehr_note = ehr_note_text(locked, answers, by, on=timezone.localdate(now))
            locked.ehr_note_produced_at = now
            locked.save(update_fields=["ehr_note", "ehr_note_produced_at"])
        # The clock starts at the first answer, whoever gives it. The row is locked, so
        # what it says is current: later answers need no write.
        if locked.first_tick_at is None:
            Enrollment.objects.filter(pk=locked.pk, first_tick_at__isnull=True).update(
                first_tick_at=now
            )
            locked.first_tick_at = now
    # The caller's copy, as stored (it was read before the lock).
    enrollment.first_tick_at = locked.first_tick_at
    enrollment.ehr_note, enrollment.ehr_note_produced_at = (
        locked.ehr_note,
        locked.ehr_note_produced_at,
    )
    return answer


def enrollment_untick(*, enrollment: Enrollment, step: str) -> None:
    """Undo an answer given by mistake, while the enrollment is still open.

    Undoing step 8 drops its note: the steps can change again, and the note
    shown next is the one to paste.
    """
    step = Step(step)
    with transaction.atomic():
        locked = _locked_in_progress(enrollment)
        if step == Step.RECORD_IN_EHR:
            locked.ehr_note, locked.ehr_note_produced_at = "", None
            locked.save(update_fields=["ehr_note", "ehr_note_produced_at"])
        else:
            _require_note_open(_answers(locked), step)
        EnrollmentStep.objects.filter(enrollment=locked, step=step).delete()
    enrollment.refresh_from_db(fields=["ehr_note", "ehr_note_produced_at"])


def _locked_in_progress(enrollment: Enrollment) -> Enrollment:
    # Only the enrollment's row: its incentive may be none (an outer join).
    locked = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("incentive")
        .get(pk=enrollment.pk)
    )
    _require_in_progress(locked)
    return locked


def _answers(enrollment: Enrollment) -> dict[str, EnrollmentStep]:
    return {a.step: a for a in enrollment.steps.all()}


def _require_in_progress(enrollment: Enrollment) -> None:
    if enrollment.status != EnrollmentStatus.IN_PROGRESS:
        raise EnrollmentError(_("This enrollment is finished: open the patient again."))


def _require_note_ready(answers: dict[str, EnrollmentStep]) -> None:
    if not ehr_note_ready(answers):
        missing = [str(s.label) for s in STEPS_BEFORE_THE_NOTE if s not in answers]
        raise EnrollmentError(
            _("The EHR note is written from steps 1 to 7: finish or skip these first: %(steps)s.")
            % {"steps": "; ".join(missing)}
        )


def _require_note_open(answers: dict[str, EnrollmentStep], step: str | None = None) -> None:
    """Refuse to change what the pasted note describes; steps 8 and 9 are not in it."""
    if step in (Step.RECORD_IN_EHR, Step.SET_FOLLOW_UP):
        return
    pasted = answers.get(Step.RECORD_IN_EHR)
    if pasted is not None and pasted.done:
        raise EnrollmentError(
            _(
                "The EHR note is pasted already: undo step 8 first, change the step, "
                "then paste the new note."
            )
        )


@dataclass(frozen=True)
class ContactDetails:
    email: str
    mobile_phone: str
    notification_channel: str


def contact_check(*, email: str, mobile_phone: str, notification_channel: str) -> ContactDetails:
    """Checked and normalized contact details, or ContactError naming the field."""
    email, mobile_phone = email.strip(), mobile_phone.strip()
    if notification_channel not in NotificationChannel.values:
        raise ContactError(
            "notification_channel", _("Choose how the patient wants to be notified.")
        )
    try:
        email = email_normalized(email) if email else ""
    except ContactInvalid:
        raise ContactError(
            "email",
            _("“%(value)s” is not an email address: check it with the patient.") % {"value": email},
        ) from None
    try:
        mobile_phone = phone_to_e164(mobile_phone) if mobile_phone else ""
    except ContactInvalid:
        raise ContactError(
            "mobile_phone",
            _("“%(value)s” is not a valid mobile number: include the area code.")
            % {"value": mobile_phone},
        ) from None
    if notification_channel == NotificationChannel.EMAIL and not email:
        raise ContactError("email", _("Email notifications need an email address."))
    if notification_channel == NotificationChannel.SMS and not mobile_phone:
        raise ContactError("mobile_phone", _("Text notifications need a mobile number."))
    return ContactDetails(email, mobile_phone, notification_channel)


@transaction.atomic
def enrollment_collect_contact(
    *, enrollment: Enrollment, details: ContactDetails, by, now: datetime | None = None
) -> list[str]:
    """Step 1: store the patient's contact details and preference, and tick the step."""
    _require_in_progress(enrollment)
    changed = patient_contact_update(
        patient=enrollment.patient,
        email=details.email,
        mobile_phone=details.mobile_phone,
        notification_channel=details.notification_channel,
    )
    enrollment_tick(enrollment=enrollment, step=Step.COLLECT_CONTACT, by=by, now=now)
    return changed


@transaction.atomic
def enrollment_set_feature(
    *, enrollment: Enrollment, feature: str, by, now: datetime | None = None
) -> None:
    """Step 4, with the feature that was shown (it goes into the EHR note)."""
    feature = FeatureShown(feature)
    _require_note_open(_answers(_locked_in_progress(enrollment)))
    enrollment_tick(enrollment=enrollment, step=Step.SHOW_FEATURE, by=by, now=now)
    Enrollment.objects.filter(pk=enrollment.pk).update(feature_shown=feature)
    enrollment.feature_shown = feature


@transaction.atomic
def enrollment_set_incentive(*, enrollment: Enrollment, incentive: Incentive | None) -> None:
    """The incentive given for enrolling (it goes into the EHR note)."""
    _require_note_open(_answers(_locked_in_progress(enrollment)))
    enrollment.incentive = incentive
    enrollment.incentive_value = incentive.value if incentive else None
    enrollment.save(update_fields=["incentive", "incentive_value"])


def enrollment_complete(*, enrollment: Enrollment, by, now: datetime | None = None) -> Enrollment:
    """Finish the enrollment: events, the EHR note and the follow-up, all at once.

    1. Lock the enrollment; if it is completed already (a double submit),
       return it unchanged.
    2. Refuse while any of steps 1-8 is unanswered: the playbook uses the
       whole checklist, so each step is done or skipped with a reason.
    3. Record what the desk saw, at the times its steps were answered,
       through the event service, with ids derived from the enrollment so
       each is written once (_record_events).
    4. Tick step 9, set the follow-up a week out, store the duration; the
       EHR note is the one pasted at step 8, or written now if step 8 was
       skipped.
    """
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status == EnrollmentStatus.COMPLETED:
            return enrollment
        _require_in_progress(enrollment)
        answers = _answers(enrollment)
        missing = [str(s.label) for s in Step if s != Step.SET_FOLLOW_UP and s not in answers]
        if missing:
            raise EnrollmentError(
                _("Tick these steps first, or skip them with the reason: %(steps)s.")
                % {"steps": "; ".join(missing)}
            )
        now = now or timezone.now()
        _record_events(enrollment, answers)
        if Step.SET_FOLLOW_UP not in answers:
            answers[Step.SET_FOLLOW_UP] = EnrollmentStep.objects.create(
                enrollment=enrollment, step=Step.SET_FOLLOW_UP, ticked_by=by, ticked_at=now
            )
        enrollment.status = EnrollmentStatus.COMPLETED
        enrollment.completed_at = now
        enrollment.completed_by = by
        enrollment.duration_seconds = int((now - enrollment.first_tick_at).total_seconds())
        enrollment.follow_up_due_on = timezone.localdate(now) + timedelta(days=FOLLOW_UP_DAYS)
        if not answers[Step.RECORD_IN_EHR].done:
            enrollment.ehr_note = ehr_note_text(enrollment, answers, by, timezone.localdate(now))
            enrollment.ehr_note_produced_at = now
        enrollment.save()
    return enrollment


def _record_events(enrollment: Enrollment, answers: dict[str, EnrollmentStep]) -> None:
    """The events of a completed checklist: only what really happened at the desk.

    - portal_invited at step 2: the desk sent the invitation (front_desk),
      or the patient consented on the QR page (kiosk: the feed's channel
      vocabulary in activity-feed.md has no "qr", and a code scanned at the
      desk is self-service at the practice, as a kiosk is).
    - portal_activated at step 3, and only if it was done: the clerk watched
      the patient finish the first login (the playbook's step 3), which is
      what "enrolled" means. A skipped step 3, and every QR enrollment where
      the patient logs in later on their own phone, leave activation to the
      portal feed, as for every other patient.
    - app_installed at step 5, if done: the clerk helped install the app
      (front_desk, allowed by patients/rules.py for exactly this). "No
      smartphone" or "declined" record the reason on the step, no event.
    """
    invited_channel = (
        Channel.KIOSK if enrollment.method == EnrollmentMethod.QR else Channel.FRONT_DESK
    )
    recorded = [(Step.SEND_INVITATION, EventType.PORTAL_INVITED, invited_channel)]
    if answers[Step.FIRST_LOGIN].done:
        recorded.append((Step.FIRST_LOGIN, EventType.PORTAL_ACTIVATED, Channel.FRONT_DESK))
    if answers[Step.INSTALL_APP].done:
        recorded.append((Step.INSTALL_APP, EventType.APP_INSTALLED, Channel.FRONT_DESK))
    patient = enrollment.patient
    for step, event_type, channel in recorded:
        event_record(
            patient=patient,
            data=EventData(
                event_id=f"enrollment-{enrollment.pk}-{event_type}",
                patient_external_id=patient.external_id,
                type=event_type,
                occurred_at=answers[step].ticked_at,
                channel=channel,
            ),
        )


def enrollment_abandon(*, enrollment: Enrollment) -> None:
    Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.IN_PROGRESS).update(
        status=EnrollmentStatus.ABANDONED
    )


# --- Declines and tech help -----------------------------------------------------


class SessionFull(EnrollmentError):
    pass


@transaction.atomic
def decline_record(
    *,
    patient: Patient,
    reason: str,
    remedies: list[str],
    by,
    reason_text: str = "",
    benefit_explained: str = "",
    tech_help_session: TechHelpSession | None = None,
    now: datetime | None = None,
) -> Decline:
    """Record a no, what was offered, and act on what the patient accepted."""
    reason = DeclineReason(reason)
    remedies = [Remedy(r) for r in remedies] or [Remedy.NONE]
    if reason == DeclineReason.OTHER and not reason_text.strip():
        raise EnrollmentError(_("Write the patient's reason in their words."))
    if Remedy.TECH_HELP_SEAT in remedies:
        if tech_help_session is None:
            raise EnrollmentError(_("Choose the tech-help session to book."))
        tech_help_book(session=tech_help_session, patient=patient, by=by)
    if Remedy.SMS_SWITCH in remedies:
        patient.notification_channel = NotificationChannel.SMS
        patient.save(update_fields=["notification_channel", "updated_at"])
    in_progress = _in_progress(patient)
    if in_progress:
        enrollment_abandon(enrollment=in_progress)
    return Decline.objects.create(
        patient=patient,
        reason=reason,
        reason_text=reason_text.strip()[:300],
        remedies=list(remedies),
        benefit_explained=benefit_explained[:200],
        recorded_by=by,
        recorded_at=now or timezone.now(),
    )


def tech_help_book(*, session: TechHelpSession, patient: Patient, by) -> TechHelpBooking:
    """A seat for the patient; a full session refuses, even with two clerks at once.

    The session row is locked while seats are counted, so two bookings for
    the last seat are decided one after the other.
    """
    with transaction.atomic():
        session = TechHelpSession.objects.select_for_update().get(pk=session.pk)
        existing = TechHelpBooking.objects.filter(session=session, patient=patient).first()
        if existing:
            return existing
        if session.bookings.count() >= session.capacity:
            raise SessionFull(_("That session is full: choose another one."))
        return TechHelpBooking.objects.create(session=session, patient=patient, booked_by=by)


def tech_help_session_create(
    *, starts_at: datetime, capacity: int, location, by
) -> TechHelpSession:
    if capacity < 1:
        raise EnrollmentError(_("A session needs at least one seat."))
    return TechHelpSession.objects.create(
        starts_at=starts_at, capacity=capacity, location=location, created_by=by
    )


# --- Incentives and follow-up calls ----------------------------------------------


def incentive_create(*, kind: str, name: str, value=None) -> Incentive:
    return Incentive.objects.create(kind=kind, name=name.strip(), value=value)


def incentive_set_active(*, incentive: Incentive, active: bool) -> None:
    Incentive.objects.filter(pk=incentive.pk).update(active=active)


def follow_up_call_record(*, patient: Patient, outcome: str, note: str, by) -> FollowUpCall:
    return FollowUpCall.objects.create(
        patient=patient, outcome=CallOutcome(outcome), note=note.strip()[:300], called_by=by
    )


# --- QR self-enrollment --------------------------------------------------------------


def qr_invitation_create(*, enrollment: Enrollment, by) -> tuple[QrInvitation, str]:
    """A single-use code valid 15 minutes. The token holds only the invitation's id."""
    _require_in_progress(enrollment)
    now = timezone.now()
    invitation = QrInvitation.objects.create(
        enrollment=enrollment, created_by=by, created_at=now, expires_at=now + QR_LIFETIME
    )
    return invitation, signing.dumps(str(invitation.pk), salt=QR_SALT)


class QrUnusable(EnrollmentError):
    """The code is unknown, expired or used: the patient asks the desk for a new one."""


def qr_invitation_for_token(token: str) -> QrInvitation:
    try:
        invitation_id = signing.loads(token, salt=QR_SALT, max_age=QR_LIFETIME.total_seconds())
    except signing.BadSignature:
        raise QrUnusable(_("This code has expired or is not valid.")) from None
    invitation = (
        QrInvitation.objects.select_related("enrollment__patient").filter(pk=invitation_id).first()
    )
    if invitation is None or invitation.used_at or invitation.expires_at <= timezone.now():
        raise QrUnusable(_("This code has been used or has expired."))
    return invitation


def qr_invitation_redeem(*, token: str, details: ContactDetails) -> QrInvitation:
    """The patient consented on their phone: steps 1 and 2 are done, in the clerk's name.

    1. Marking the code used is a compare-and-set, so a code works once even
       if the form is sent twice or from two phones; used_at is the moment
       of consent, which times the playbook's 90 seconds.
    2. Steps 1 and 2 are ticked: the patient confirmed the contact details
       and was invited (portal_invited, channel kiosk, at completion).
    3. Step 3 is left to the patient's own phone, unless the clerk answered
       it already: the page only links to the portal, and nobody sees the
       first login happen, so activation comes from the portal feed. The
       clerk who does watch it can undo the answer and tick step 3.
    4. An enrollment that can no longer take the answers (stopped, completed,
       its EHR note pasted) makes the code unusable, and nothing is kept.
    """
    invitation = qr_invitation_for_token(token)
    with transaction.atomic():
        used = QrInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not used:
            raise QrUnusable(_("This code has been used already."))
        try:
            _qr_answers(invitation, details)
        except QrUnusable:
            raise
        except EnrollmentError as error:
            raise QrUnusable(str(error)) from None
    return invitation


def _qr_answers(invitation: QrInvitation, details: ContactDetails) -> None:
    enrollment = invitation.enrollment
    clerk = invitation.created_by
    # Only a code the patient used makes this a QR enrollment (the EHR note says so).
    Enrollment.objects.filter(pk=enrollment.pk).update(method=EnrollmentMethod.QR)
    enrollment.method = EnrollmentMethod.QR
    enrollment_collect_contact(enrollment=enrollment, details=details, by=clerk)
    enrollment_tick(enrollment=enrollment, step=Step.SEND_INVITATION, by=clerk)
    if not enrollment.steps.filter(step=Step.FIRST_LOGIN).exists():
        enrollment_skip(
            enrollment=enrollment, step=Step.FIRST_LOGIN, reason=SkipReason.ON_OWN_PHONE, by=clerk
        )


# --- Scripts and the conversations they lead to -------------------------------------

SCRIPT_MAX_LENGTH = 1000


def script_update(*, script: Script, text: str, by) -> Script:
    """The practice's own wording for a script in one language."""
    text = " ".join(text.split())
    if not text:
        raise EnrollmentError(_("Write what staff should say: the wording cannot be empty."))
    if len(text) > SCRIPT_MAX_LENGTH:
        raise EnrollmentError(
            _("Keep the script under %(max)s characters: it is read out in a few seconds.")
            % {"max": SCRIPT_MAX_LENGTH}
        )
    script.text, script.updated_at, script.updated_by = text, timezone.now(), by
    script.save(update_fields=["text", "updated_at", "updated_by"])
    return script


def script_restore(*, script: Script, by) -> Script:
    """Put the playbook's wording back."""
    return script_update(script=script, text=playbook_wording(script.key, script.language), by=by)


def scripts_ensure() -> int:
    """Store the playbook's wording of every script the practice has not stored yet."""
    created = 0
    for key in PLAYBOOK_SCRIPTS:
        for language in SHIPPED_LANGUAGES:
            _row, made = Script.objects.get_or_create(
                key=key, language=language, defaults={"text": playbook_wording(key, language)}
            )
            created += made
    return created


def conversation_record(
    *,
    patient: Patient,
    script: str,
    outcome: str,
    by,
    language: str = "en",
    idempotency_key: str = "",
    decline_reason: str = "",
    decline_text: str = "",
    at: datetime | None = None,
) -> tuple[PortalConversation, bool]:
    """Record a script's use and its outcome: (the conversation, whether it is new).

    1. The outcome must be one its script offers (OUTCOMES_BY_SCRIPT).
    2. A repeat of the same one-time key by the same person (a double
       click) returns the first conversation and records nothing; the
       unique constraint decides a race between the two requests.
    3. "Declined" records a Decline through decline_record, with the reason
       and nothing accepted on the phone, so the next check-in shows it with
       its remedy; the conversation links it.
    4. "Wants an invitation" needs nothing more: the follow-up list reads it.
    """
    script, outcome = ScriptKey(script), ConversationOutcome(outcome)
    if script == ScriptKey.CHECKIN or outcome not in OUTCOMES_BY_SCRIPT[script]:
        raise EnrollmentError(
            _("“%(outcome)s” is not an outcome of this script.") % {"outcome": outcome.label}
        )
    if outcome == ConversationOutcome.DECLINED and not decline_reason:
        raise EnrollmentError(_("Choose the reason the patient gave."))
    language = language if language in SHIPPED_LANGUAGES else "en"
    if idempotency_key:
        existing = _conversation_for_key(by, idempotency_key)
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            decline = None
            if outcome == ConversationOutcome.DECLINED:
                decline = decline_record(
                    patient=patient,
                    reason=decline_reason,
                    remedies=[],
                    reason_text=decline_text,
                    by=by,
                )
            conversation = PortalConversation.objects.create(
                patient=patient,
                staff=by,
                script=script,
                outcome=outcome,
                decline=decline,
                language=language,
                at=at or timezone.now(),
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        existing = _conversation_for_key(by, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    return conversation, True


def _conversation_for_key(by, key: str) -> PortalConversation | None:
    return PortalConversation.objects.filter(staff=by, idempotency_key=key).first()
