"""Enrollment at check-in: the checklist, declines, QR self-enrollment, follow-ups."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.languages import PatientLanguage
from portal_adoption.models import RolledUpMonth


class Step(models.TextChoices):
    """The nine steps of the front desk's checklist (workflows.md), in order."""

    COLLECT_CONTACT = "collect_contact", _("Collect the current email address and mobile number")
    SEND_INVITATION = "send_invitation", _("Send the portal invitation while the patient is here")
    FIRST_LOGIN = "first_login", _("Help the patient finish the first login")
    SHOW_FEATURE = "show_feature", _("Show one key feature: messaging or scheduling")
    INSTALL_APP = "install_app", _("Help install the mobile app")
    CONFIRM_ACCESS = "confirm_access", _("Confirm the patient can get in and find their way")
    REFERENCE_CARD = "reference_card", _("Hand over the quick reference card")
    RECORD_IN_EHR = "record_in_ehr", _("Record the enrollment in the EHR")
    SET_FOLLOW_UP = "set_follow_up", _("Set the follow-up: a reminder if no login within a week")


# Contact details and the invitation are the enrollment itself, and step 9 is
# set by completing: these three are never skipped.
STEPS_NEVER_SKIPPED = (Step.COLLECT_CONTACT, Step.SEND_INVITATION, Step.SET_FOLLOW_UP)
# Step 8 records in the EHR what steps 1 to 7 did, so it comes after them.
STEPS_BEFORE_THE_NOTE = tuple(Step)[: list(Step).index(Step.RECORD_IN_EHR)]


class SkipReason(models.TextChoices):
    """Why a step of the checklist was left out: the short list the desk chooses from.

    The playbook asks for the whole checklist at every enrollment, so a step
    is either done or skipped for one of these reasons, never left blank.
    """

    NO_SMARTPHONE = "no_smartphone", _("Patient has no smartphone")
    DECLINED = "declined", _("Patient declined")
    IN_A_HURRY = "in_a_hurry", _("Patient in a hurry")
    # Only for step 3, and set by a QR code: the patient creates the portal
    # login on their own phone after consenting, out of the clerk's sight.
    ON_OWN_PHONE = "on_own_phone", _("Left to the patient's own phone (QR code)")
    OTHER = "other", _("Other reason")


# The reasons that make sense for each step the desk may skip (steps 1, 2 and
# 9 are never skipped). A patient without a smartphone can still be shown a
# feature or given the card; pasting the note depends on the EHR, not on the
# patient, so step 8 only takes a reason in words.
_PATIENT_REASONS = (SkipReason.IN_A_HURRY, SkipReason.DECLINED, SkipReason.OTHER)
_DEVICE_REASONS = (SkipReason.NO_SMARTPHONE, *_PATIENT_REASONS)
SKIP_REASONS_BY_STEP = {
    Step.FIRST_LOGIN: (*_DEVICE_REASONS, SkipReason.ON_OWN_PHONE),
    Step.SHOW_FEATURE: _PATIENT_REASONS,
    Step.INSTALL_APP: _DEVICE_REASONS,
    Step.CONFIRM_ACCESS: _DEVICE_REASONS,
    Step.REFERENCE_CARD: _PATIENT_REASONS,
    Step.RECORD_IN_EHR: (SkipReason.OTHER,),
}


def desk_skip_choices(step: str | None = None) -> list[tuple[str, str]]:
    """The reasons a clerk chooses from, for one step or for any.

    "Left to the patient's own phone" is never chosen: a QR code sets it.
    """
    allowed = SKIP_REASONS_BY_STEP.get(step, ()) if step else tuple(SkipReason)
    return [
        (reason.value, reason.label)
        for reason in SkipReason
        if reason in allowed and reason != SkipReason.ON_OWN_PHONE
    ]


class EnrollmentMethod(models.TextChoices):
    DESK = "desk", _("At the desk, with help")
    QR = "qr", _("QR code on the patient's phone")


class EnrollmentStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    ABANDONED = "abandoned", _("Stopped")


class FeatureShown(models.TextChoices):
    MESSAGING = "messaging", _("Secure messaging")
    SCHEDULING = "scheduling", _("Online scheduling")


class IncentiveKind(models.TextChoices):
    COPAY_DISCOUNT = "copay_discount", _("Copay discount")
    MONTHLY_DRAW = "monthly_draw", _("Monthly draw")
    GIFT_CARD = "gift_card", _("Gift card")


class Incentive(models.Model):
    """An incentive the practice offers for enrolling, kept by managers."""

    kind = models.CharField(_("kind"), max_length=16, choices=IncentiveKind.choices)
    name = models.CharField(_("name"), max_length=100)
    value = models.DecimalField(_("value"), max_digits=8, decimal_places=2, null=True, blank=True)
    active = models.BooleanField(_("offered now"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-active", "name"]
        verbose_name = _("incentive")
        verbose_name_plural = _("incentives")

    def __str__(self):
        return self.name


class Enrollment(models.Model):
    """One enrollment at the desk, from the first tick to completion."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="enrollments"
    )
    method = models.CharField(
        _("method"), max_length=8, choices=EnrollmentMethod.choices, default=EnrollmentMethod.DESK
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=EnrollmentStatus.choices,
        default=EnrollmentStatus.IN_PROGRESS,
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("opened"), default=timezone.now)
    first_tick_at = models.DateTimeField(_("first step ticked"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enrollments_completed",
    )
    duration_seconds = models.PositiveIntegerField(_("time taken (s)"), null=True, blank=True)
    feature_shown = models.CharField(
        _("feature shown"), max_length=16, choices=FeatureShown.choices, blank=True
    )
    incentive = models.ForeignKey(
        Incentive, on_delete=models.PROTECT, null=True, blank=True, related_name="enrollments"
    )
    incentive_value = models.DecimalField(
        _("incentive value"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    ehr_note = models.TextField(_("EHR note"), blank=True)
    ehr_note_produced_at = models.DateTimeField(_("EHR note produced"), null=True, blank=True)
    follow_up_due_on = models.DateField(_("follow-up due"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            # Two clerks opening the same patient share one enrollment.
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status="in_progress"),
                name="one_enrollment_in_progress_per_patient",
            )
        ]
        indexes = [
            models.Index(fields=["completed_by", "completed_at"], name="enrollment_credit_idx"),
        ]
        permissions = [("enroll_patient", _("Can enroll patients at check-in"))]

    def __str__(self):
        return f"Enrollment #{self.pk}"


class EnrollmentStep(models.Model):
    """A step answered: done (no skip reason) or skipped for a reason; who and when.

    Answering twice is the same answer: one row per step and enrollment.
    """

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(_("step"), max_length=24, choices=Step.choices)
    ticked_at = models.DateTimeField(_("ticked"), default=timezone.now)
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    skip_reason = models.CharField(
        _("skipped because"), max_length=16, choices=SkipReason.choices, blank=True
    )
    skip_note = models.CharField(_("in the clerk's words"), max_length=200, blank=True)

    class Meta:
        ordering = ["ticked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], name="one_tick_per_step"),
            models.CheckConstraint(
                condition=Q(skip_reason="") | ~Q(step__in=[str(s) for s in STEPS_NEVER_SKIPPED]),
                name="steps_never_skipped",
            ),
            models.CheckConstraint(
                condition=~Q(skip_reason=SkipReason.OTHER) | ~Q(skip_note=""),
                name="other_skip_reason_says_why",
            ),
        ]

    def __str__(self):
        return f"{self.enrollment} {self.step}"

    @property
    def done(self) -> bool:
        return not self.skip_reason

    @property
    def skipped(self) -> bool:
        return bool(self.skip_reason)


class DeclineReason(models.TextChoices):
    NO_EMAIL = "no_email", _("“I don't check email”")
    NOT_COMFORTABLE = "not_comfortable", _("“I'm not good with computers”")
    PRIVACY = "privacy", _("“I'm worried about privacy”")
    NO_BENEFIT = "no_benefit", _("“I don't see the benefit”")
    OTHER = "other", _("Another reason")


class Remedy(models.TextChoices):
    SMS_SWITCH = "sms_switch", _("Switched notifications to text messages")
    ONE_TO_ONE_HELP = "one_to_one_help", _("Offered one-to-one help now")
    TECH_HELP_SEAT = "tech_help_seat", _("Booked a seat at the tech-help session")
    PRIVACY_HANDOUT = "privacy_handout", _("Gave the privacy handout")
    BENEFIT_EXPLAINED = "benefit_explained", _("Explained the benefit that fits")
    NONE = "none", _("Nothing accepted")


class Decline(models.Model):
    """A patient said no: why, and what the clerk offered on the spot."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="portal_declines"
    )
    reason = models.CharField(_("reason"), max_length=16, choices=DeclineReason.choices)
    reason_text = models.CharField(_("in the patient's words"), max_length=300, blank=True)
    remedies = models.JSONField(_("offered"), default=list)
    benefit_explained = models.CharField(_("benefit explained"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("decline")
        verbose_name_plural = _("declines")
        indexes = [models.Index(fields=["patient", "recorded_at"], name="decline_patient_idx")]

    def __str__(self):
        return f"Decline #{self.pk}"


class TechHelpSession(models.Model):
    """A weekly tech-help session with a fixed number of seats."""

    starts_at = models.DateTimeField(_("starts"))
    location = models.ForeignKey(
        "patients.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    capacity = models.PositiveSmallIntegerField(_("seats"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("tech-help session")
        verbose_name_plural = _("tech-help sessions")
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="session_has_seats")
        ]

    def __str__(self):
        return f"Tech help {self.starts_at:%Y-%m-%d %H:%M}"


class TechHelpBooking(models.Model):
    session = models.ForeignKey(TechHelpSession, on_delete=models.PROTECT, related_name="bookings")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(_("booked"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "patient"], name="one_seat_per_patient")
        ]

    def __str__(self):
        return f"{self.session} booking #{self.pk}"


class QrInvitation(models.Model):
    """A single-use QR code for self-enrollment. Its token carries only this id.

    Its two moments time the playbook's 90-second QR enrollment: created_at
    is when the code was shown at the desk, used_at when the patient gave
    consent on their phone (a code is used by a consenting patient only).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, related_name="qr_invitations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("shown"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("consent given"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="qr_shown_idx")]

    def __str__(self):
        return f"QR invitation {self.pk}"


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Reached: will log in")
    HELPED = "helped", _("Reached and helped to log in")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    NOT_INTERESTED = "not_interested", _("Not interested any more")


class FollowUpCall(models.Model):
    """A call to a patient on the follow-up list, and how it went."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=16, choices=CallOutcome.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    called_at = models.DateTimeField(_("called"), default=timezone.now)

    class Meta:
        ordering = ["-called_at", "-id"]
        indexes = [models.Index(fields=["patient", "called_at"], name="followup_call_patient_idx")]

    def __str__(self):
        return f"Follow-up call #{self.pk}"


# --- Scripts for every role, and what each conversation led to ------------------------


class ScriptKey(models.TextChoices):
    """The playbook's scripts: what staff say about the portal, and where."""

    CHECKIN = "checkin", _("At check-in (front desk)")
    VISIT = "visit", _("During the visit (clinical staff)")
    PHONE_BOOKING = "phone_booking", _("Phone: the patient calls to book")
    PHONE_RESULTS = "phone_results", _("Phone: the patient calls for results")


PHONE_SCRIPTS = (ScriptKey.PHONE_BOOKING, ScriptKey.PHONE_RESULTS)


class Script(models.Model):
    """The wording of one script in one language, as the practice has edited it.

    The playbook's wording is the default (enrollment.playbook.PLAYBOOK_SCRIPTS,
    loaded by a data migration); a manager may change it, or restore it.
    """

    key = models.CharField(_("script"), max_length=16, choices=ScriptKey.choices)
    language = models.CharField(_("language"), max_length=8, choices=PatientLanguage.choices)
    text = models.TextField(_("wording"), max_length=1000)
    updated_at = models.DateTimeField(_("changed"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["key", "language"]
        verbose_name = _("script")
        verbose_name_plural = _("scripts")
        constraints = [
            models.UniqueConstraint(fields=["key", "language"], name="one_script_per_language")
        ]

    def __str__(self):
        return f"{self.key} ({self.language})"


class ConversationOutcome(models.TextChoices):
    MENTIONED_IN_VISIT = "mentioned_in_visit", _("Portal mentioned in visit")
    ALREADY_ENROLLED = "already_enrolled", _("Already enrolled")
    WANTS_INVITATION = "wants_invitation", _("Wants an invitation")
    DECLINED = "declined", _("Declined")


# The outcomes each script may record.
OUTCOMES_BY_SCRIPT = {
    ScriptKey.VISIT: (ConversationOutcome.MENTIONED_IN_VISIT,),
    ScriptKey.PHONE_BOOKING: (
        ConversationOutcome.ALREADY_ENROLLED,
        ConversationOutcome.WANTS_INVITATION,
        ConversationOutcome.DECLINED,
    ),
    ScriptKey.PHONE_RESULTS: (
        ConversationOutcome.ALREADY_ENROLLED,
        ConversationOutcome.WANTS_INVITATION,
        ConversationOutcome.DECLINED,
    ),
}
CONVERSATION_KEY_MAX_LENGTH = 64


class PortalConversation(models.Model):
    """A script used with a patient (in the visit or on the phone) and how it ended.

    A "declined" outcome links the Decline it recorded, so the next check-in
    shows the reason and its remedy; "wants an invitation" puts the patient
    on the follow-up list until an invitation or activation arrives.
    """

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="portal_conversations"
    )
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    script = models.CharField(
        _("script"),
        max_length=16,
        choices=[(k.value, k.label) for k in ScriptKey if k != ScriptKey.CHECKIN],
    )
    outcome = models.CharField(_("outcome"), max_length=24, choices=ConversationOutcome.choices)
    decline = models.OneToOneField(
        Decline, on_delete=models.PROTECT, null=True, blank=True, related_name="conversation"
    )
    language = models.CharField(_("language"), max_length=8)
    at = models.DateTimeField(_("when"), default=timezone.now)
    # The outcome form's one-time key: a double click records the outcome once.
    idempotency_key = models.CharField(max_length=CONVERSATION_KEY_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("portal conversation")
        verbose_name_plural = _("portal conversations")
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="one_conversation_per_key",
            ),
            models.CheckConstraint(
                condition=Q(script="visit", outcome="mentioned_in_visit")
                | (
                    Q(script__in=["phone_booking", "phone_results"])
                    & Q(outcome__in=["already_enrolled", "wants_invitation", "declined"])
                ),
                name="conversation_outcome_fits_script",
            ),
            models.CheckConstraint(
                condition=Q(outcome="declined", decline__isnull=False)
                | (~Q(outcome="declined") & Q(decline__isnull=True)),
                name="declined_conversation_links_decline",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "outcome", "at"], name="conversation_patient_idx"),
            models.Index(fields=["staff", "at"], name="conversation_staff_idx"),
        ]
        permissions = [
            ("use_visit_script", _("Can use the visit script and record a portal mention")),
            ("use_phone_scripts", _("Can use the phone scripts and record their outcome")),
        ]

    def __str__(self):
        return f"Portal conversation #{self.pk}"


class CohortTallyMonth(RolledUpMonth):
    """A month of the incentive cohorts rolled up (enrollment.rollups), and as of when.

    The cohort figures are judged at `computed_at` (an enrollment is "due" at
    30 days when its day 30 had passed then).
    """


class CohortTally(models.Model):
    """Completed enrollments of one local day and incentive kind ("" for none): the
    incentive report's counts, as of the month's rollup. No patient data."""

    month = models.DateField(_("month"))
    day = models.DateField(_("day completed"))
    kind = models.CharField(_("incentive kind"), max_length=16, blank=True)
    enrolled = models.PositiveIntegerField(default=0)
    due_30 = models.PositiveIntegerField(default=0)
    active_30 = models.PositiveIntegerField(default=0)
    due_90 = models.PositiveIntegerField(default=0)
    active_90 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "kind"], name="one_cohort_tally_per_day_kind")
        ]

    def __str__(self):
        return f"{self.day} {self.kind or '-'}"
