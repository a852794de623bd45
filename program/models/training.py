"""Staff training: the modules the practice teaches, who completed them, the sessions held.

A module says which roles must take it and how often it must be renewed.
A completion is one person having done one module on one day; a later
completion renews it. A session is a training held for several people at
once: its attendees' completions point back at it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["TrainingCompletion", "TrainingModule", "TrainingSession"]


class TrainingModule(models.Model):
    """One thing staff must learn, with the roles that must learn it.

    `required_roles` is a list of portal_adoption.roles.Role values.
    `role_required_since` maps each of those roles to the day (ISO) the module
    became required for it: a new person's 30-day grace never starts before it,
    and adding a role later does not forgive the roles already overdue.
    """

    key = models.SlugField(_("key"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("what it teaches"), blank=True)
    required_roles = models.JSONField(_("required for"), default=list, blank=True)
    role_required_since = models.JSONField(default=dict, blank=True, editable=False)
    refresher_months = models.PositiveSmallIntegerField(
        _("refresher every (months)"),
        null=True,
        blank=True,
        help_text=_("Leave empty when the module never needs a refresher."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["order", "title", "pk"]
        verbose_name = _("training module")
        verbose_name_plural = _("training modules")

    def __str__(self):
        return self.title


class TrainingSession(models.Model):
    """A training held for several people at once, recorded by a manager."""

    module = models.ForeignKey(
        TrainingModule,
        on_delete=models.PROTECT,
        related_name="sessions",
        verbose_name=_("module"),
    )
    held_on = models.DateField(_("held on"))
    led_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("led by"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")

    def __str__(self):
        return f"{self.module} {self.held_on.isoformat()}"


class TrainingCompletion(models.Model):
    """One person completed one module on one day (at most once a day)."""

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="training_completions",
        verbose_name=_("staff member"),
    )
    module = models.ForeignKey(
        TrainingModule,
        on_delete=models.PROTECT,
        related_name="completions",
        verbose_name=_("module"),
    )
    completed_on = models.DateField(_("completed on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    session = models.ForeignKey(
        TrainingSession,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="completions",
        verbose_name=_("session"),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-completed_on", "-pk"]
        verbose_name = _("training completion")
        verbose_name_plural = _("training completions")
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "module", "completed_on"],
                name="training_completion_once_a_day",
            )
        ]
        indexes = [
            models.Index(fields=["module", "staff", "completed_on"], name="training_latest_idx")
        ]

    def __str__(self):
        return f"{self.staff} {self.module} {self.completed_on.isoformat()}"
