"""The roster and the append-only activity event log (activity-feed.md)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Location(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["name"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self):
        return self.name


class Provider(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    npi = models.CharField(_("NPI"), max_length=10, blank=True)
    name = models.CharField(_("name"), max_length=200)
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="providers",
    )
    # The provider's own login: messages escalated to them land in their task list.
    user = models.OneToOneField(
        "portal_adoption.User",
        verbose_name=_("staff account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provider",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        constraints = [
            models.UniqueConstraint(
                fields=["npi"], condition=~Q(npi=""), name="provider_npi_unique"
            )
        ]

    def __str__(self):
        return self.name


class NotificationChannel(models.TextChoices):
    """How the patient wants to hear from the practice (set at the desk)."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message (SMS)")


class Patient(models.Model):
    external_id = models.CharField(_("MRN"), max_length=64, unique=True)
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    birth_date = models.DateField(_("birth date"))
    email = models.EmailField(_("email"), blank=True)
    mobile_phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=35, default="en")
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patients",
    )
    primary_provider = models.ForeignKey(
        Provider,
        verbose_name=_("primary provider"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patients",
    )
    registered_on = models.DateField(_("registered on"))
    deactivated_on = models.DateField(_("deactivated on"), null=True, blank=True)
    # Not part of the feed: chosen by the patient at the desk, kept across imports.
    notification_channel = models.CharField(
        _("notifications by"), max_length=8, choices=NotificationChannel.choices, blank=True
    )
    # The triage queue shows it: such a patient gets a call, not a portal reply.
    prefers_phone_for_clinical = models.BooleanField(
        _("prefers the phone for clinical matters"), default=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "external_id"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        permissions = [("import_feed", _("Can import the roster and portal events"))]
        # The check-in search's indexes (trigram on PostgreSQL, NOCASE on SQLite)
        # live in migration 0005 only: Meta cannot say one expression index
        # for both databases.
        indexes = [
            models.Index(fields=["family_name", "given_name"], name="patient_name_idx"),
            models.Index(fields=["birth_date"], name="patient_birth_date_idx"),
        ]

    def __str__(self):
        # Deliberately not the name: str() ends up in logs and error reports.
        return f"Patient #{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class EventType(models.TextChoices):
    PORTAL_INVITED = "portal_invited", _("Portal invitation sent")
    PORTAL_ACTIVATED = "portal_activated", _("Portal account activated")
    LOGIN = "login", _("Login")
    APP_INSTALLED = "app_installed", _("App installed")
    MESSAGE_FROM_PATIENT = "message_from_patient", _("Message from patient")
    MESSAGE_TO_PATIENT = "message_to_patient", _("Message to patient")
    APPOINTMENT_BOOKED = "appointment_booked", _("Appointment booked")
    RESULT_RELEASED = "result_released", _("Result released")
    RESULT_VIEWED = "result_viewed", _("Result viewed")
    RESULT_COMMUNICATED = "result_communicated", _("Result communicated")
    RECORD_VIEWED = "record_viewed", _("Health record viewed")
    PAYMENT = "payment", _("Payment")
    PHONE_CALL = "phone_call", _("Phone call")
    # Staff answered a patient's portal message by calling (reply_to names it):
    # not an inbound call, not a message sent (activity-feed.md).
    RESPONSE_BY_PHONE = "response_by_phone", _("Message answered by phone")
    SURVEY_RESPONSE = "survey_response", _("Survey response")
    # The patient was seen: what the CMS electronic-access measure counts from.
    VISIT_COMPLETED = "visit_completed", _("Visit completed")
    # A billing statement; `amount` is the balance, a `payment` with the same
    # object_id pays it, `due_date` says when it is due (activity-feed.md).
    STATEMENT_ISSUED = "statement_issued", _("Statement issued")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    APP = "app", _("App")
    PHONE = "phone", _("Phone")
    FRONT_DESK = "front_desk", _("Front desk")
    MAIL = "mail", _("Mail")
    KIOSK = "kiosk", _("Kiosk")
    OTHER = "other", _("Other")


class AppointmentType(models.TextChoices):
    """What an `appointment_booked` is for (activity-feed.md): the feed may say, or not."""

    ANNUAL_EXAM = "annual_exam", _("Annual exam")
    FOLLOW_UP = "follow_up", _("Follow-up")
    SICK_VISIT = "sick_visit", _("Sick visit")
    PROCEDURE = "procedure", _("Procedure")
    OTHER = "other", _("Other")


class EventSource(models.TextChoices):
    """How an event reached the log; kept for tracing, never for figures."""

    FEED_CSV = "feed_csv", _("CSV import")
    FEED_API = "feed_api", _("API feed")
    FEED_FHIR = "feed_fhir", _("FHIR feed")
    APPLICATION = "application", _("This application")
    DEMO = "demo", _("Demo data")


class ActivityEvent(models.Model):
    """One portal event. Append-only: a database trigger refuses UPDATE and DELETE."""

    event_id = models.CharField(_("event id"), max_length=128, unique=True)
    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        related_name="events",
    )
    type = models.CharField(_("type"), max_length=32, choices=EventType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    object_id = models.CharField(_("object id"), max_length=128, blank=True)
    reply_to = models.CharField(_("reply to"), max_length=128, blank=True)
    # Only on appointment_booked, and only when the feed says (empty: not sent).
    appointment_type = models.CharField(
        _("appointment type"), max_length=16, choices=AppointmentType.choices, blank=True
    )
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    # For a statement_issued: the day the balance is due, when the feed says.
    due_date = models.DateField(_("due date"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=EventSource.choices)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("activity event")
        verbose_name_plural = _("activity events")
        indexes = [
            models.Index(fields=["type", "occurred_at"], name="event_type_time_idx"),
            models.Index(fields=["patient", "occurred_at"], name="event_patient_time_idx"),
            models.Index(fields=["type", "object_id"], name="event_type_object_idx"),
            models.Index(fields=["recorded_at"], name="event_recorded_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0),
                name="event_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5),
                name="event_score_1_to_5",
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class EventKey(models.Model):
    """Each stored event_id and when its event occurred: the log's unique key on PostgreSQL.

    The event log is partitioned by month there (patients/partitions.py), and
    a unique index of a partitioned table must hold the partition key, so
    the log itself can no longer refuse an event_id stored in another month.
    A trigger on the log (migration 0013) writes this row before each event:
    a repeated event_id is a unique violation (IntegrityError), as before.
    Look-ups of stored events read this one index, then the event by
    (event_id, occurred_at), which reads one partition. Append-only, like
    the log. Empty on SQLite, whose log keeps its own unique index.
    """

    event_id = models.CharField(_("event id"), max_length=128, primary_key=True)
    occurred_at = models.DateTimeField(_("occurred at"))

    class Meta:
        verbose_name = _("event key")
        verbose_name_plural = _("event keys")

    def __str__(self):
        return self.event_id


class PatientFirsts(models.Model):
    """Each patient's first event of the kinds adoption is measured by, kept as events
    arrive (patients.services.patient_firsts_record), so that "enrolled by the end of
    M" or "first activated in M" is one row per patient, not a scan of the whole log.

    A column is the earliest `occurred_at` of that type among the patient's events
    on or after the event window's first day (portal_adoption/dates.py): a stored
    time like year 0001 is not evidence and must not hide the real first. The
    window's other edge moves with the clock, so readers still compare a first
    with it (metrics.compute). Derived data: rebuilt whole by
    `manage.py rebuild_patient_firsts`.
    """

    patient = models.OneToOneField(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="firsts",
    )
    invited_at = models.DateTimeField(_("first invitation"), null=True, blank=True)
    activated_at = models.DateTimeField(_("first activation"), null=True, blank=True)
    login_at = models.DateTimeField(_("first login"), null=True, blank=True)
    app_installed_at = models.DateTimeField(_("first app install"), null=True, blank=True)
    message_at = models.DateTimeField(_("first message"), null=True, blank=True)

    class Meta:
        verbose_name = _("patient's firsts")
        verbose_name_plural = _("patients' firsts")
        indexes = [
            models.Index(fields=["activated_at"], name="firsts_activated_idx"),
        ]

    def __str__(self):
        return f"Firsts of patient #{self.patient_id}"


class PatientLatest(models.Model):
    """Each patient's latest invitation or activation (`offered_at`) and latest login
    (`login_at`): "invited a week ago and not logged in since" (the follow-up list,
    the no-login reminder) is one row per patient, not a look-up of the latest
    of each in every month's partition of the log.

    Kept by a trigger on the log on both databases (migration 0015), in the
    insert's transaction, whoever writes (the log is append-only: a time only
    moves later). A column is the latest `occurred_at` on or after the event
    window's first day, as PatientFirsts keeps the earliest; a time past the
    window's other edge (a row stored before the feed checked) is kept too,
    and while one is there, readers read from the log instead
    (patients.selectors.with_latest_offer). Derived data: rebuilt whole
    by `manage.py rebuild_patient_firsts`.
    """

    # No database constraint: a check per event written, for rows only the log writes.
    patient = models.OneToOneField(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="latest",
        db_constraint=False,
    )
    offered_at = models.DateTimeField(_("latest invitation or activation"), null=True, blank=True)
    login_at = models.DateTimeField(_("latest login"), null=True, blank=True)

    class Meta:
        verbose_name = _("patient's latest")
        verbose_name_plural = _("patients' latest")
        indexes = [
            models.Index(fields=["offered_at"], name="latest_offered_idx"),
            models.Index(fields=["login_at"], name="latest_login_idx"),
        ]

    def __str__(self):
        return f"Latest of patient #{self.patient_id}"


class ObjectFirsts(models.Model):
    """The first time of each (type, object, patient) among the events that the
    figures look back for: a result's first release, view and contact, a
    message's first time (OBJECT_FIRSTS_TYPES).

    On PostgreSQL the log is partitioned by month (patients/partitions.py): a
    look-up by (type, object_id) without a time would probe every month's
    index, once per row of the month being computed. This table answers it
    with one probe. Kept by a trigger on the log on both databases (migration
    0014), so every writer keeps it, in the insert's transaction; `first_at`
    is the earliest `occurred_at` on or after the event window's first day,
    as in PatientFirsts, and readers compare it with the window's other edge.
    Derived data: rebuilt whole by `manage.py rebuild_patient_firsts`.
    """

    type = models.CharField(_("type"), max_length=32, choices=EventType.choices)
    object_id = models.CharField(_("object id"), max_length=128)
    # No foreign key: a check per event written, for rows only the log writes.
    patient_id = models.BigIntegerField(_("patient"))
    first_at = models.DateTimeField(_("first time"))
    # The roster row, for joins (a month's first views by location and provider):
    # no column and no constraint, the id above is the column.
    patient = models.ForeignObject(
        "Patient",
        on_delete=models.DO_NOTHING,
        from_fields=["patient_id"],
        to_fields=["id"],
        related_name="+",
        null=True,
    )

    class Meta:
        verbose_name = _("object's first time")
        verbose_name_plural = _("objects' first times")
        constraints = [
            models.UniqueConstraint(
                fields=["type", "object_id", "patient_id"], name="object_firsts_unique"
            ),
        ]
        indexes = [
            # A month's first views (messaging.selectors.results_education).
            models.Index(fields=["type", "first_at"], name="object_firsts_type_time_idx"),
        ]

    def __str__(self):
        return f"{self.type} {self.object_id}"


class StatementFirsts(models.Model):
    """Each statement's first recorded `statement_issued` event: the one that stands
    for the statement (messaging.outreach.statements), by (object_id, patient).

    "First recorded" is the lowest event id, not the earliest time: a feed's
    repeat of a statement is the same statement, with the first one's time. On
    PostgreSQL "is there an earlier event of this statement?" has no time to
    bound it, so it probed every month's partition of the log, once per
    statement of the month. Kept by a trigger on the log on both databases
    (migration 0015), in the insert's transaction, whoever writes: events with
    an object_id and a time on or after the event window's first day, as in
    ObjectFirsts. Readers compare `issued_at` with the window's other edge (a
    first event stored with a time beyond it, before the feed checked times, hides
    the statement until that time comes, where the log's own look-up let the next
    event stand). Derived data: rebuilt whole by `manage.py rebuild_patient_firsts`.
    """

    object_id = models.CharField(_("object id"), max_length=128)
    # No foreign keys: a check per event written, for rows only the log writes.
    patient_id = models.BigIntegerField(_("patient"))
    event_pk = models.BigIntegerField(_("event"))
    issued_at = models.DateTimeField(_("issued at"))

    class Meta:
        verbose_name = _("statement's first event")
        verbose_name_plural = _("statements' first events")
        constraints = [
            models.UniqueConstraint(
                fields=["object_id", "patient_id"], name="statement_firsts_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["issued_at"], name="statement_firsts_issued_idx"),
        ]

    def __str__(self):
        return f"statement {self.object_id}"


# The event types whose first time per object ObjectFirsts keeps.
OBJECT_FIRSTS_TYPES = (
    EventType.RESULT_RELEASED,
    EventType.RESULT_VIEWED,
    EventType.RESULT_COMMUNICATED,
    EventType.MESSAGE_FROM_PATIENT,
)

# The event types whose latest time per patient PatientLatest keeps, by column.
LATEST_COLUMNS = {
    EventType.PORTAL_INVITED: "offered_at",
    EventType.PORTAL_ACTIVATED: "offered_at",
    EventType.LOGIN: "login_at",
}

# The event type each column of PatientFirsts keeps the first of.
FIRSTS_COLUMNS = {
    EventType.PORTAL_INVITED: "invited_at",
    EventType.PORTAL_ACTIVATED: "activated_at",
    EventType.LOGIN: "login_at",
    EventType.APP_INSTALLED: "app_installed_at",
    EventType.MESSAGE_FROM_PATIENT: "message_at",
}


class ImportKind(models.TextChoices):
    PATIENTS = "patients", _("Patients (roster)")
    EVENTS = "events", _("Portal events")
    FHIR = "fhir", _("FHIR Bundle")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for a worker")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed: nothing was written")


class ImportRun(models.Model):
    """One file or request through the feed, with its counts."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    source = models.CharField(_("way in"), max_length=16, choices=EventSource.choices)
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    started_by = models.ForeignKey(
        "portal_adoption.User",
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="import_runs",
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    failure = models.CharField(_("failure"), max_length=300, blank=True)
    # Written while the import runs, from outside its transaction: the progress
    # bar reads them, and a run whose heartbeat stops is failed by the sweep.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    progress_done = models.BigIntegerField(_("progress"), default=0)
    progress_total = models.BigIntegerField(_("progress total"), default=0)
    # An uploaded file waiting for its worker, by its name in the "imports"
    # storage; deleted once the import has run.
    stored_file = models.CharField(_("stored file"), max_length=255, blank=True)
    received = models.PositiveIntegerField(_("received"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self):
        return f"{self.kind} import #{self.pk}"

    @property
    def in_progress(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)

    @property
    def progress_percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, self.progress_done * 100 // self.progress_total)


class ImportRejection(models.Model):
    """A record an import refused: where it was, which field, why, and the record."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejections")
    position = models.PositiveIntegerField(_("line or index"))
    field = models.CharField(_("field"), max_length=64)
    reason = models.TextField(_("reason"))
    record = models.JSONField(_("record"), default=dict)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("rejected record")
        verbose_name_plural = _("rejected records")

    def __str__(self):
        return f"{self.run} at {self.position}: {self.field}"
