"""Writes for enrolment at check-in. Every row written names the member of staff."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from enrollment.models import (
    CallOutcome,
    Decline,
    DeclineReason,
    Enrollment,
    EnrollmentMethod,
    EnrollmentStatus,
    EnrollmentStep,
    FeatureShown,
    FollowUpCall,
    Incentive,
    QrInvitation,
    Remedy,
    Step,
    TechHelpBooking,
    TechHelpSession,
)
from patients.models import Channel, EventType, NotificationChannel, Patient
from patients.rules import EventData
from patients.services import event_record, patient_contact_update
from portal_adoption.contact import ContactInvalid, email_normalised, phone_to_e164

FOLLOW_UP_DAYS = 7
QR_LIFETIME = timedelta(minutes=15)
QR_SALT = "enrollment.qr"
# Steps 1-3 make a patient enrolled; the others are done when the patient wants them.
STEPS_NEEDED_TO_COMPLETE = (Step.COLLECT_CONTACT, Step.SEND_INVITATION, Step.FIRST_LOGIN)


class EnrollmentError(ValueError):
    """A request the enrolment cannot honour; the message says what to do."""


class ContactError(EnrollmentError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


# --- The checklist --------------------------------------------------------------


def enrollment_open(*, patient: Patient, by, method: str = EnrollmentMethod.DESK) -> Enrollment:
    """The patient's enrolment in progress, started now if there is none.

    Two clerks opening the same patient at once get the same enrolment: the
    unique constraint on in-progress enrolments decides the race.
    """
    existing = _in_progress(patient)
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Enrollment.objects.create(patient=patient, started_by=by, method=method)
    except IntegrityError:
        existing = _in_progress(patient)
        if existing is None:
            raise
        return existing


def _in_progress(patient: Patient) -> Enrollment | None:
    return Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.IN_PROGRESS).first()


def enrollment_tick(*, enrollment: Enrollment, step: str, by) -> EnrollmentStep:
    """Tick a step; ticking it again (a double tap) changes nothing."""
    _require_in_progress(enrollment)
    now = timezone.now()
    with transaction.atomic():
        tick, _created = EnrollmentStep.objects.get_or_create(
            enrollment=enrollment, step=Step(step), defaults={"ticked_by": by, "ticked_at": now}
        )
        # The clock starts at the first tick, whoever makes it.
        Enrollment.objects.filter(pk=enrollment.pk, first_tick_at__isnull=True).update(
            first_tick_at=tick.ticked_at
        )
    enrollment.refresh_from_db(fields=["first_tick_at"])
    return tick


def enrollment_untick(*, enrollment: Enrollment, step: str) -> None:
    """Undo a tick made by mistake, while the enrolment is still open."""
    _require_in_progress(enrollment)
    EnrollmentStep.objects.filter(enrollment=enrollment, step=step).delete()


def _require_in_progress(enrollment: Enrollment) -> None:
    if enrollment.status != EnrollmentStatus.IN_PROGRESS:
        raise EnrollmentError(_("This enrolment is finished: open the patient again."))


@dataclass(frozen=True)
class ContactDetails:
    email: str
    mobile_phone: str
    notification_channel: str


def contact_check(*, email: str, mobile_phone: str, notification_channel: str) -> ContactDetails:
    """Checked and normalised contact details, or ContactError naming the field."""
    email, mobile_phone = email.strip(), mobile_phone.strip()
    if notification_channel not in NotificationChannel.values:
        raise ContactError(
            "notification_channel", _("Choose how the patient wants to be notified.")
        )
    try:
        email = email_normalised(email) if email else ""
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
def enrollment_collect_contact(*, enrollment: Enrollment, details: ContactDetails, by) -> list[str]:
    """Step 1: store the patient's contact details and preference, and tick the step."""
    changed = patient_contact_update(
        patient=enrollment.patient,
        email=details.email,
        mobile_phone=details.mobile_phone,
        notification_channel=details.notification_channel,
    )
    enrollment_tick(enrollment=enrollment, step=Step.COLLECT_CONTACT, by=by)
    return changed


def enrollment_set_feature(*, enrollment: Enrollment, feature: str, by) -> None:
    """Step 4, with the feature that was shown (it goes into the EHR note)."""
    Enrollment.objects.filter(pk=enrollment.pk).update(feature_shown=FeatureShown(feature))
    enrollment.feature_shown = feature
    enrollment_tick(enrollment=enrollment, step=Step.SHOW_FEATURE, by=by)


def enrollment_set_incentive(*, enrollment: Enrollment, incentive: Incentive | None) -> None:
    _require_in_progress(enrollment)
    enrollment.incentive = incentive
    enrollment.incentive_value = incentive.value if incentive else None
    enrollment.save(update_fields=["incentive", "incentive_value"])


def enrollment_complete(*, enrollment: Enrollment, by) -> Enrollment:
    """Finish the enrolment: events, the EHR note and the follow-up, all at once.

    1. Lock the enrolment; if it is completed already (a double submit),
       return it unchanged.
    2. Refuse while steps 1-3 are not ticked.
    3. Record portal_invited and portal_activated (channel front_desk) at
       the times their steps were ticked, through the event service, with
       ids derived from the enrolment so they are written once.
    4. Tick step 9, set the follow-up a week out, store the duration and
       the EHR note text.
    """
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status == EnrollmentStatus.COMPLETED:
            return enrollment
        _require_in_progress(enrollment)
        ticks = {t.step: t for t in enrollment.steps.all()}
        missing = [str(Step(s).label) for s in STEPS_NEEDED_TO_COMPLETE if s not in ticks]
        if missing:
            raise EnrollmentError(
                _("Tick these steps first: %(steps)s.") % {"steps": "; ".join(missing)}
            )
        now = timezone.now()
        _record_portal_events(enrollment, ticks)
        if Step.SET_FOLLOW_UP not in ticks:
            ticks[Step.SET_FOLLOW_UP] = EnrollmentStep.objects.create(
                enrollment=enrollment, step=Step.SET_FOLLOW_UP, ticked_by=by, ticked_at=now
            )
        enrollment.status = EnrollmentStatus.COMPLETED
        enrollment.completed_at = now
        enrollment.completed_by = by
        enrollment.duration_seconds = int((now - enrollment.first_tick_at).total_seconds())
        enrollment.follow_up_due_on = timezone.localdate(now) + timedelta(days=FOLLOW_UP_DAYS)
        enrollment.ehr_note = ehr_note_text(enrollment, ticks, by)
        enrollment.ehr_note_produced_at = now
        enrollment.save()
    return enrollment


def _record_portal_events(enrollment: Enrollment, ticks: dict) -> None:
    patient = enrollment.patient
    for step, event_type in (
        (Step.SEND_INVITATION, EventType.PORTAL_INVITED),
        (Step.FIRST_LOGIN, EventType.PORTAL_ACTIVATED),
    ):
        event_record(
            patient=patient,
            data=EventData(
                event_id=f"enrollment-{enrollment.pk}-{event_type}",
                patient_external_id=patient.external_id,
                type=event_type,
                occurred_at=ticks[step].ticked_at,
                channel=Channel.FRONT_DESK,
            ),
        )


def ehr_note_text(enrollment: Enrollment, ticks: dict, by) -> str:
    """The sentence the clerk pastes into the EHR, in the practice's language."""
    with translation.override(settings.LANGUAGE_CODE):
        parts = [
            _("Portal enrolment completed at front desk on %(date)s by %(name)s")
            % {
                "date": timezone.localdate(enrollment.completed_at).isoformat(),
                "name": by.get_full_name() or by.get_username(),
            }
        ]
        if enrollment.method == EnrollmentMethod.QR:
            parts.append(_("patient self-enrolled by QR code"))
        parts.append(_("app installed") if Step.INSTALL_APP in ticks else _("app not installed"))
        if enrollment.feature_shown == FeatureShown.MESSAGING:
            parts.append(_("patient shown secure messaging"))
        elif enrollment.feature_shown == FeatureShown.SCHEDULING:
            parts.append(_("patient shown online scheduling"))
        if Step.REFERENCE_CARD in ticks:
            parts.append(_("quick reference card given"))
        if enrollment.incentive_id:
            parts.append(_("incentive: %(name)s") % {"name": enrollment.incentive.name})
        return "; ".join(parts) + "."


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


# --- QR self-enrolment --------------------------------------------------------------


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
    """The patient finished on their phone: steps 1-3 are done, in the clerk's name.

    Marking the code used is a compare-and-set, so a code works once even if
    the form is sent twice or from two phones.
    """
    invitation = qr_invitation_for_token(token)
    with transaction.atomic():
        used = QrInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not used:
            raise QrUnusable(_("This code has been used already."))
        enrollment = invitation.enrollment
        clerk = invitation.created_by
        # Only a code the patient used makes this a QR enrolment (the EHR note says so).
        Enrollment.objects.filter(pk=enrollment.pk).update(method=EnrollmentMethod.QR)
        enrollment.method = EnrollmentMethod.QR
        enrollment_collect_contact(enrollment=enrollment, details=details, by=clerk)
        for step in (Step.SEND_INVITATION, Step.FIRST_LOGIN):
            enrollment_tick(enrollment=enrollment, step=step, by=clerk)
    return invitation
