"""Staff accounts and the access log of patient-data reads."""

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A member of staff. Roles are groups (see roles.py); a location is optional."""

    location = models.ForeignKey(
        "patients.Location",
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    # Blank: the browser's language when the app has it, else the practice's (LANGUAGE_CODE).
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")


class AccessAction(models.TextChoices):
    VIEW = "view", _("Viewed a record")
    LIST = "list", _("Shown in a list")
    SEARCH = "search", _("Searched")
    EXPORT = "export", _("Exported")
    CHANGE = "change", _("Changed")


class AccessOutcome(models.TextChoices):
    ALLOWED = "allowed", _("Allowed")
    DENIED = "denied", _("Denied")


class AccessLogEntry(models.Model):
    """Who read what, when and from where. Never edited: a trigger refuses it.

    Rows are written only through access_chain.chain_append, which gives each
    its place in the hash chain (see access_chain.py).
    """

    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_log_entries",
    )
    # Kept beside the foreign key so the row still says who if a login is renamed.
    username = models.CharField(_("user name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=AccessAction.choices)
    outcome = models.CharField(_("outcome"), max_length=8, choices=AccessOutcome.choices)
    resource = models.CharField(_("what"), max_length=64)
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    patient = models.ForeignKey(
        "patients.Patient",
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_log_entries",
    )
    method = models.CharField(_("method"), max_length=8, blank=True)
    path = models.CharField(_("path"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    # The hash chain: 1, 2, 3, ... and a hash of this row and the one before.
    chain_position = models.BigIntegerField(_("position in the log"), unique=True, editable=False)
    entry_hash = models.CharField(_("hash"), max_length=64, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        indexes = [
            models.Index(fields=["user", "occurred_at"], name="access_user_time_idx"),
            models.Index(fields=["patient", "occurred_at"], name="access_patient_time_idx"),
        ]

    def __str__(self):
        return f"{self.username or '-'} {self.action} {self.resource} {self.outcome}"


class AccessLogPatient(models.Model):
    """A patient that one list view showed: the patients of one LIST entry.

    A list view writes ONE access-log entry, however many patients it shows;
    they are here, so a search of the log by patient still finds the list.
    Append-only like the entry, and part of the entry's hash (access_chain.py).
    """

    entry = models.ForeignKey(
        AccessLogEntry,
        verbose_name=_("access log entry"),
        on_delete=models.PROTECT,
        related_name="listed_patients",
    )
    patient = models.ForeignKey(
        "patients.Patient",
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        related_name="access_log_listings",
    )

    class Meta:
        verbose_name = _("patient shown in a list")
        verbose_name_plural = _("patients shown in lists")
        constraints = [
            models.UniqueConstraint(fields=["entry", "patient"], name="access_listed_once")
        ]
        indexes = [models.Index(fields=["patient", "entry"], name="access_listed_patient_idx")]

    def __str__(self):
        return f"{self.entry_id} {self.patient_id}"


class IntegrationToken(models.Model):
    """The key an integration (EHR, portal, interface engine) calls the API with.

    Only a hash of the key is stored; the key itself is shown once, when an
    administrator creates the token. Each token acts as its own service
    account, so the access log says which integration did what.
    """

    name = models.CharField(_("integration"), max_length=100, unique=True)
    account = models.OneToOneField(
        User,
        verbose_name=_("service account"),
        on_delete=models.PROTECT,
        related_name="integration_token",
    )
    key_prefix = models.CharField(_("key starts with"), max_length=8, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("integration token")
        verbose_name_plural = _("integration tokens")
        permissions = [("read_api_docs", _("Can read the API schema and docs"))]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


DEFAULT_OPENS = dt.time(8, 0)
DEFAULT_CLOSES = dt.time(17, 0)


class BusinessHours(models.Model):
    """When the practice answers messages, per weekday (local time). No row: closed."""

    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices, unique=True)
    opens = models.TimeField(_("opens"), default=DEFAULT_OPENS)
    closes = models.TimeField(_("closes"), default=DEFAULT_CLOSES)

    class Meta:
        ordering = ["weekday"]
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")), name="hours_close_after_open"
            )
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class PracticeClosure(models.Model):
    """A day the practice is closed besides the public holidays (training, a move)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("reason"), max_length=100)

    class Meta:
        ordering = ["date"]
        verbose_name = _("practice closure")
        verbose_name_plural = _("practice closures")

    def __str__(self):
        return f"{self.date} {self.name}"


class NightlyJob(models.TextChoices):
    ROLLUP = "rollup", _("Dashboard figures")
    OUTREACH = "outreach", _("Reminders and campaigns")


class NightlyFailure(models.Model):
    """One step of a nightly job that failed while the rest of the night went on.

    Shown to managers on the nightly page. It says where (the month and
    scope, the rule, the patient by internal id) and the exception's class;
    its text only when that kind of error is known to carry no patient data
    (portal_adoption.nightly.failure_message).
    """

    night = models.DateField(_("night of"))
    job = models.CharField(_("job"), max_length=16, choices=NightlyJob.choices)
    step = models.CharField(_("step"), max_length=200)
    month = models.DateField(_("month"), null=True, blank=True)
    scope = models.CharField(_("scope"), max_length=32, blank=True)
    rule = models.CharField(_("rule"), max_length=32, blank=True)
    patient = models.ForeignKey(
        "patients.Patient",
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    error_class = models.CharField(_("error"), max_length=120)
    message = models.CharField(_("message"), max_length=300)
    recorded_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("nightly failure")
        verbose_name_plural = _("nightly failures")

    def __str__(self):
        return f"{self.night} {self.job} {self.step}: {self.error_class}"


class RolledUpMonth(models.Model):
    """A month of one report rolled up (portal_adoption.rollup_hooks), and when.

    Written with the report's month rows, in the same transaction as the
    dashboard's rollup of the month. A month without its row was never rolled
    up; the report's figures are those as of `computed_at`.
    """

    month = models.DateField(_("month"), unique=True)  # the first day, practice time
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        abstract = True
        ordering = ["-month"]

    def __str__(self):
        return f"{self.month:%Y-%m}"
