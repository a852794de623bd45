"""Staff accounts and the access log of patient-data reads."""

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

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")


class AccessAction(models.TextChoices):
    VIEW = "view", _("Viewed a record")
    LIST = "list", _("Shown in a list")
    SEARCH = "search", _("Searched")
    EXPORT = "export", _("Exported")


class AccessOutcome(models.TextChoices):
    ALLOWED = "allowed", _("Allowed")
    DENIED = "denied", _("Denied")


class AccessLogEntry(models.Model):
    """Who read what, when and from where. Never edited: a trigger refuses it."""

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
