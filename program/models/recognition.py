"""Recognition: the portal champion a manager names for a month (issue 12, part 4).

The board's figures are not stored: they are read from the event log and the
application's records (program.selectors.recognition). Only the champion is
written down, because a person chooses it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["CHAMPION_REASON_MAX_LENGTH", "PortalChampion"]

CHAMPION_REASON_MAX_LENGTH = 300


class PortalChampion(models.Model):
    """The member of staff named portal champion of a month. One per month."""

    # The month's first day (a calendar month in the practice's time zone).
    month = models.DateField(_("month"), unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("champion"),
    )
    reason = models.CharField(_("why"), max_length=CHAMPION_REASON_MAX_LENGTH, blank=True)
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("named by"),
    )
    named_at = models.DateTimeField(_("named at"))

    class Meta:
        ordering = ["-month"]
        verbose_name = _("portal champion")
        verbose_name_plural = _("portal champions")
        constraints = [
            models.CheckConstraint(condition=Q(month__day=1), name="champion_month_first_day"),
        ]

    def __str__(self):
        return str(_("Portal champion of %(month)s") % {"month": f"{self.month:%Y-%m}"})
