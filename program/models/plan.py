"""The rollout plan: the playbook's 20 weeks, laid out from the start date a manager picks."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["RolloutPlan"]


class RolloutPlan(models.Model):
    """The practice's adoption program. One practice runs one plan at a time."""

    start_date = models.DateField(_("start date"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rollout plan")
        verbose_name_plural = _("rollout plans")
        permissions = [("manage_program", _("Run the adoption program"))]

    def __str__(self):
        return str(_("Rollout plan from %(start)s") % {"start": self.start_date.isoformat()})
