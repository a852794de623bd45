"""Patient messages from the portal, the team queues that work them, and replies."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal_adoption.models import RolledUpMonth


class Category(models.TextChoices):
    CLINICAL = "clinical", _("Clinical")
    ADMINISTRATIVE = "administrative", _("Administrative")
    BILLING = "billing", _("Billing")


class Queue(models.TextChoices):
    """A team's queue. No message waits in a general pile (workflows.md)."""

    NURSING = "nursing", _("Nursing")
    FRONT_DESK = "front_desk", _("Front desk")
    BILLING = "billing", _("Billing")
    PROVIDER = "provider", _("Provider task list")


QUEUE_FOR_CATEGORY = {
    Category.CLINICAL: Queue.NURSING,
    Category.ADMINISTRATIVE: Queue.FRONT_DESK,
    Category.BILLING: Queue.BILLING,
}


class MessageStatus(models.TextChoices):
    NEW = "new", _("New")
    CLAIMED = "claimed", _("Being worked")
    WAITING_PROVIDER = "waiting_provider", _("Waiting for the provider")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (MessageStatus.NEW, MessageStatus.CLAIMED, MessageStatus.WAITING_PROVIDER)

# Database ids are 32-bit integers: a larger number in a request names no row.
LARGEST_ID = 2**31 - 1

# Form keys are 32 hex digits; API clients usually send a UUID.
IDEMPOTENCY_KEY_MAX_LENGTH = 64
# Visible ASCII only: a header cannot carry more, and a form key is hex.
IDEMPOTENCY_KEY_PATTERN = rf"[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}"


class ClassificationSource(models.TextChoices):
    RULE = "rule", _("A routing rule")
    DEFAULT = "default", _("The default category")
    PERSON = "person", _("A member of staff")


class Message(models.Model):
    """One secure message from a patient, as the portal delivered it."""

    message_id = models.CharField(_("portal message id"), max_length=128, unique=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="portal_messages"
    )
    thread_id = models.CharField(_("thread"), max_length=128, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("message"))
    sent_at = models.DateTimeField(_("sent"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    classified_by = models.CharField(
        _("classified by"), max_length=8, choices=ClassificationSource.choices
    )
    urgent = models.BooleanField(_("urgent"), default=False)
    red_flags = models.JSONField(_("red flags found"), default=list, blank=True)
    queue = models.CharField(_("queue"), max_length=16, choices=Queue.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=MessageStatus.choices, default=MessageStatus.NEW
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("worked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages_owned",
    )
    lease_expires_at = models.DateTimeField(_("claim lapses"), null=True, blank=True)
    escalated_to = models.ForeignKey(
        "patients.Provider",
        verbose_name=_("escalated to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalated_messages",
    )
    internal_due_at = models.DateTimeField(_("internal target"))
    external_due_at = models.DateTimeField(_("promised by"))
    first_reply_at = models.DateTimeField(_("first reply"), null=True, blank=True)
    care_related = models.BooleanField(_("bears on care"), default=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-urgent", "internal_due_at", "received_at"]
        verbose_name = _("patient message")
        verbose_name_plural = _("patient messages")
        indexes = [
            # "Take next": the open messages of a queue, urgent first, oldest due first.
            models.Index(
                fields=["queue", "-urgent", "internal_due_at", "received_at"],
                name="message_queue_order_idx",
                condition=Q(status__in=["new", "claimed", "waiting_provider"]),
            ),
            models.Index(fields=["patient", "thread_id"], name="message_thread_idx"),
            models.Index(fields=["status", "received_at"], name="message_status_idx"),
        ]
        permissions = [
            ("work_clinical_queue", _("Can work the nursing queue")),
            ("work_front_desk_queue", _("Can work the front desk queue")),
            ("work_billing_queue", _("Can work the billing queue")),
            ("work_provider_tasks", _("Can work their provider task list")),
            ("manage_messaging", _("Can edit routing rules, red flags, templates and hours")),
        ]

    def __str__(self):
        return f"Message #{self.pk}"


class MessageTransition(models.Model):
    """Every change of a message's status or queue: who, when, and why."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=MessageStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=MessageStatus.choices)
    queue = models.CharField(max_length=16, choices=Queue.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True)
    # The one-time key of the button that made the change (take next,
    # escalate): a double click changes the message once.
    idempotency_key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="one_transition_per_idempotency_key",
            )
        ]

    def __str__(self):
        return f"{self.message} {self.from_status}->{self.to_status}"


class RoutingRule(models.Model):
    """A word or phrase that puts a message in a category (managers edit these)."""

    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    phrase = models.CharField(_("word or phrase"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["category", "phrase"]
        constraints = [
            models.UniqueConstraint(fields=["category", "phrase"], name="one_rule_per_phrase")
        ]

    def __str__(self):
        return f"{self.category}: {self.phrase}"


class RoutingSettings(models.Model):
    """The practice's routing choices: one row."""

    default_category = models.CharField(
        _("when no rule matches, or rules tie"),
        max_length=16,
        choices=Category.choices,
        default=Category.CLINICAL,
    )

    def __str__(self):
        return "Routing settings"


class RedFlag(models.Model):
    """A symptom that makes a message urgent: whole words, any case."""

    phrase = models.CharField(_("word or phrase"), max_length=100, unique=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["language", "phrase"]

    def __str__(self):
        return self.phrase


class ReplyTemplate(models.Model):
    """A reply a manager wrote, with {first_name}, {practice_phone} and {staff_name}."""

    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(_("text"))
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self):
        return self.name


# The longest reply staff may write, on the page and through the API.
REPLY_MAX_LENGTH = 5000


class Reply(models.Model):
    """A reply to a patient's message, from the queue or by the system."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="replies")
    body = models.TextField(_("reply"))
    template = models.ForeignKey(
        ReplyTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    automatic = models.BooleanField(_("sent by the system"), default=False)
    sent_at = models.DateTimeField(default=timezone.now)
    # The one-time key of the form or the API's Idempotency-Key header: a
    # double click or a retried request finds the first reply instead of
    # sending a second one.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=IDEMPOTENCY_KEY_MAX_LENGTH, blank=True
    )

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sent_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="one_reply_per_idempotency_key",
            )
        ]

    def __str__(self):
        return f"Reply #{self.pk}"


class OutboxItem(models.Model):
    """A reply waiting for the portal integration to collect it (GET outbox/)."""

    reply = models.OneToOneField(Reply, on_delete=models.PROTECT, related_name="outbox_item")
    created_at = models.DateTimeField(default=timezone.now)
    acked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"], name="outbox_pending_idx", condition=Q(acked_at__isnull=True)
            )
        ]

    def __str__(self):
        return f"Outbox #{self.pk}"


class ChartNoteOutcome(models.TextChoices):
    """How a message ended, as the nurse chooses it for the chart note.

    Phrases the chart can carry after "Patient asked about ...; replied ...".
    The application never picks one: the draft has no outcome until she
    does, or types her own (OTHER).
    """

    UNDERSTOOD = "understood", _("patient said they understood")
    CALL_IF_WORSE = "call_if_worse", _("patient will call if it gets worse")
    VISIT = "visit", _("patient will come in to be seen")
    EMERGENCY = "emergency", _("patient told to call 911 or go to the emergency department")
    PROVIDER = "provider", _("passed to the provider to decide")
    NO_ANSWER = "no_answer", _("no answer from the patient yet")
    OTHER = "other", _("other: in my own words")


CHART_NOTE_OUTCOME_MAX_LENGTH = 200


class ChartNote(models.Model):
    """The note for the patient's chart about a message and its answer."""

    message = models.OneToOneField(Message, on_delete=models.PROTECT, related_name="chart_note")
    text = models.TextField(_("note"))
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    written_at = models.DateTimeField(default=timezone.now)
    exported_at = models.DateTimeField(_("exported to the EHR"), null=True, blank=True)

    class Meta:
        ordering = ["written_at", "id"]

    def __str__(self):
        return f"Chart note #{self.pk}"


class CallLog(models.Model):
    """A phone call made instead of a portal reply, for patients who prefer the phone."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="calls")
    summary = models.TextField(_("what was said"))
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    called_at = models.DateTimeField(default=timezone.now)
    # The log-a-call form's one-time key: a double click logs the call once.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=IDEMPOTENCY_KEY_MAX_LENGTH, blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["called_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="one_call_per_idempotency_key",
            )
        ]

    def __str__(self):
        return f"Call #{self.pk}"


# --- Outreach: reminders, nudges, campaigns and surveys (the nightly workers) -------


class OutreachRule(models.TextChoices):
    NO_LOGIN_REMINDER = "no_login_reminder", _("Reminder: no login a week after enrollment")
    APP_NUDGE = "app_nudge", _("App link: enrolled two weeks, no app")
    FEATURE_OF_MONTH = "feature_of_month", _("Feature of the month")
    SATISFACTION_SURVEY = "satisfaction_survey", _("Satisfaction survey")
    # Engagement after enrollment (issue 13).
    RESULTS_EDUCATION = "results_education", _("Results: how to read them")
    BILL_REMINDER = "bill_reminder", _("Bill-pay reminder")
    ANNUAL_EXAM_RECALL = "annual_exam_recall", _("Annual exam: book it in the portal")
    ACTIVITY_ALERT = "activity_alert", _("Text alert: new activity in the portal")
    FEEDBACK_CHANGE = "feedback_change", _("What we changed after your feedback")


class OutreachChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    PORTAL = "portal", _("Portal message")


class CommunicationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Not sent")


class Communication(models.Model):
    """Everything sent (or deliberately not sent) to a patient, and by what.

    For the nightly rules, the row is the claim: it is written before
    anything is sent, and (patient, rule, period) is unique, so a patient
    gets each reminder at most once however often the job runs.

    A reply to a patient's message (a member of staff's, or the automatic
    red-flag answer) names that message: whoever reads the log sees the row
    only if they may see the message (selectors.communications_visible_to).
    Its subject is left empty: the patient's subject is clinical text, and
    it stays on the message.
    """

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="communications"
    )
    message = models.ForeignKey(
        Message,
        verbose_name=_("in reply to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="communications",
    )
    rule = models.CharField(_("rule"), max_length=24, choices=OutreachRule.choices, blank=True)
    period = models.CharField(_("period"), max_length=64, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=OutreachChannel.choices)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=CommunicationStatus.choices,
        default=CommunicationStatus.QUEUED,
    )
    reason = models.CharField(_("why not sent"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    job = models.CharField(_("sent by job"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    not_before = models.DateTimeField(_("not before"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("communication")
        verbose_name_plural = _("communications")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "rule", "period"],
                condition=~Q(rule=""),
                name="one_outreach_per_patient_rule_period",
            )
        ]
        indexes = [
            models.Index(fields=["patient", "created_at"], name="communication_patient_idx"),
            models.Index(fields=["status", "not_before"], name="communication_due_idx"),
        ]

    def __str__(self):
        return f"Communication #{self.pk}"


class OptOut(models.Model):
    """The patient asked for no more messages on this channel (STOP, unsubscribe)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=OutreachChannel.choices)
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(_("how"), max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "channel"], name="one_opt_out_per_channel")
        ]

    def __str__(self):
        return f"Opt-out #{self.pk}"


class OutreachSetting(models.Model):
    """The practice's choices for one outreach rule: on or off, its wording, its numbers.

    No row means the rule is on, with the shipped wording (outreach.texts.TEXTS)
    and the default numbers (outreach.RULE_OPTIONS). A blank text keeps the
    shipped one for that language.
    """

    rule = models.CharField(_("rule"), max_length=24, choices=OutreachRule.choices, unique=True)
    enabled = models.BooleanField(_("on"), default=True)
    subject_en = models.CharField(_("subject (English)"), max_length=200, blank=True)
    body_en = models.TextField(_("text (English)"), blank=True)
    subject_es = models.CharField(_("subject (Spanish)"), max_length=200, blank=True)
    body_es = models.TextField(_("text (Spanish)"), blank=True)
    # The rule's numbers and extra wording, checked by outreach.outreach_setting_save.
    options = models.JSONField(_("options"), default=dict, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("outreach setting")
        verbose_name_plural = _("outreach settings")

    def __str__(self):
        return self.rule


class OutreachWeekBatch(models.Model):
    """How many messages a batched rule (the annual-exam recall) has claimed in one
    ISO week (practice time). A claim takes its place by a compare-and-set on this
    row (claimed < the manager's per-week number), so workers running at once
    never exceed the batch."""

    rule = models.CharField(_("rule"), max_length=24, choices=OutreachRule.choices)
    week = models.DateField(_("week starting"))
    claimed = models.PositiveIntegerField(_("claimed"), default=0)

    class Meta:
        verbose_name = _("outreach week batch")
        verbose_name_plural = _("outreach week batches")
        constraints = [
            models.UniqueConstraint(fields=["rule", "week"], name="one_batch_per_rule_week")
        ]

    def __str__(self):
        return f"{self.rule} {self.week}"


class FeatureOfMonth(models.Model):
    """The one feature the practice promotes this month, and its texts."""

    month = models.DateField(_("month"), unique=True)
    feature = models.CharField(_("feature"), max_length=16)
    text_en = models.TextField(_("text (English)"))
    text_es = models.TextField(_("text (Spanish)"), blank=True)

    class Meta:
        ordering = ["-month"]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.feature}"


class SurveyInvitation(models.Model):
    """A single-use link to the satisfaction survey; the token carries only this id."""

    communication = models.OneToOneField(
        Communication, on_delete=models.PROTECT, related_name="survey"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)

    def __str__(self):
        return f"Survey invitation #{self.pk}"


class NightlyRun(models.Model):
    """What the nightly outreach did: counts per rule, and how many steps failed.

    The failed steps themselves (which rule, which patient, which error) are
    portal_adoption.NightlyFailure rows, shared with the nightly rollup.
    """

    day = models.DateField(_("night of"))
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict)
    failed = models.PositiveIntegerField(_("failed steps"), default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Nightly run {self.day}"


class ResultEducationItem(models.Model):
    """One result a results-education message covered (issue 13).

    The message itself is the claim (Communication: one per patient per
    practice-local day). This row says which results it spoke about, and
    (patient, result) is unique: a result never triggers a second message,
    whatever day or worker finds it again. The result is known by the feed's
    object_id, or by its release event when the feed sent none. Only the
    identifier is kept: never the result's name or anything clinical.
    """

    communication = models.ForeignKey(
        Communication, on_delete=models.CASCADE, related_name="result_items"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    result_key = models.CharField(_("result"), max_length=140)

    class Meta:
        verbose_name = _("result covered by a results-education message")
        verbose_name_plural = _("results covered by results-education messages")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "result_key"], name="one_results_education_per_result"
            )
        ]

    def __str__(self):
        return f"{self.communication_id}:{self.result_key}"


# --- Closing the feedback loop (issue 13) -----------------------------------------


class FeedbackTag(models.TextChoices):
    """What a survey comment is about; a manager tags comments, several per comment."""

    SCHEDULING = "scheduling", _("Scheduling")
    MESSAGING = "messaging", _("Messaging")
    LOGIN = "login", _("Login")
    RESULTS = "results", _("Results")
    BILLING = "billing", _("Billing")
    OTHER = "other", _("Other")


FEEDBACK_CHANGE_MAX_LENGTH = 400


class SurveyCommentTag(models.Model):
    """One tag on one survey comment (the comment is SurveyInvitation.comment)."""

    invitation = models.ForeignKey(SurveyInvitation, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(_("tag"), max_length=16, choices=FeedbackTag.choices)
    tagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tagged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tag"]
        constraints = [
            models.UniqueConstraint(fields=["invitation", "tag"], name="one_tag_per_comment")
        ]

    def __str__(self):
        return f"{self.tag} on survey #{self.invitation_id}"


class FeedbackChange(models.Model):
    """A "what we changed" note on a tag, written and published by a manager.

    Publishing sends each patient who commented on the tag one message
    (rule feedback_change, period = this note's id): see messaging/services/feedback.py.
    """

    tag = models.CharField(_("tag"), max_length=16, choices=FeedbackTag.choices)
    text_en = models.CharField(
        _("what we changed (English)"), max_length=FEEDBACK_CHANGE_MAX_LENGTH
    )
    text_es = models.CharField(
        _("what we changed (Spanish)"), max_length=FEEDBACK_CHANGE_MAX_LENGTH, blank=True
    )
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("published"), default=timezone.now, db_index=True)
    # The publish form's one-time key: a double click publishes (and sends) once.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True)
    # What publishing did: {"claimed": n, "suppressed": n, "switched_off": 0|1}.
    outcome = models.JSONField(default=dict)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["written_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="one_feedback_change_per_idempotency_key",
            )
        ]

    def __str__(self):
        return f"Feedback change #{self.pk} ({self.tag})"


class ResponseTallyMonth(RolledUpMonth):
    """A month of the response-time report rolled up (messaging.rollups): when."""


class ResponseTallyKind(models.TextChoices):
    # Messages whose first response fell in the month, per category of the queue.
    CATEGORY = "category", _("By category")
    # Messages sent on one local day, in or out of business hours, with their cells.
    ARRIVAL = "arrival", _("By arrival")


class ResponseTally(models.Model):
    """The additive parts of the response-time report for one group. No patient data.

    category rows: `day` is the month's first day, `key` the category (or
    "not_in_queue"). arrival rows: `day` is the local day the messages were
    sent, `key` "business_hours" or "after_hours", `cells` the replied count and
    summed microseconds per "weekday,hour" of arrival. `durations` holds every
    response time of the group in microseconds, sorted, as little-endian 64-bit
    integers: the medians over any set of rows are exact (messaging.rollups).
    """

    month = models.DateField(_("month"))
    kind = models.CharField(_("kind"), max_length=8, choices=ResponseTallyKind.choices)
    day = models.DateField(_("day"))
    key = models.CharField(_("group"), max_length=16)
    received = models.PositiveIntegerField(_("received"), default=0)
    replied = models.PositiveIntegerField(_("answered"), default=0)
    micros = models.BigIntegerField(_("summed response time (microseconds)"), default=0)
    within_target = models.PositiveIntegerField(_("within the internal target"), default=0)
    by_phone = models.PositiveIntegerField(_("answered by phone"), default=0)
    durations = models.BinaryField(_("sorted response times"), default=b"")
    cells = models.JSONField(_("hour-of-week cells"), default=dict)

    class Meta:
        indexes = [models.Index(fields=["kind", "day"], name="response_tally_kind_day_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "day", "key"], name="one_response_tally_per_group"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.day} {self.key}"


class ResultsEducationMonth(RolledUpMonth):
    """A month of the results-education report rolled up (messaging.rollups): the
    results first viewed in the month, with a release, and those viewed the same day,
    for results whose patient got the message and for the others. Counts only."""

    messaged_viewed = models.PositiveIntegerField(_("viewed, message sent"))
    messaged_same_day = models.PositiveIntegerField(_("viewed the same day, message sent"))
    not_messaged_viewed = models.PositiveIntegerField(_("viewed, no message"))
    not_messaged_same_day = models.PositiveIntegerField(_("viewed the same day, no message"))


class BillPayMonth(RolledUpMonth):
    """A month of the bill-pay report rolled up (messaging.rollups): the statements
    issued in the month, paid within 30 days and paid in the portal, reminded or not.
    Counts only."""

    reminded_statements = models.PositiveIntegerField(_("statements, reminded"))
    reminded_paid = models.PositiveIntegerField(_("paid within 30 days, reminded"))
    reminded_portal = models.PositiveIntegerField(_("paid in the portal, reminded"))
    not_reminded_statements = models.PositiveIntegerField(_("statements, not reminded"))
    not_reminded_paid = models.PositiveIntegerField(_("paid within 30 days, not reminded"))
    not_reminded_portal = models.PositiveIntegerField(_("paid in the portal, not reminded"))
