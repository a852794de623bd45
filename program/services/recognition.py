"""Recognition's one write: a manager names the portal champion of a month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal_adoption.dates import filter_window, require_in_window
from program.models.recognition import CHAMPION_REASON_MAX_LENGTH, PortalChampion
from program.selectors.recognition import champion_candidates


class RecognitionError(Exception):
    """What the manager asked cannot be done; the message says why."""


@dataclass(frozen=True)
class ChampionNamed:
    champion: PortalChampion
    # Who was champion of the month before this naming (None: nobody was).
    replaced: object | None = None

    @property
    def replaced_someone_else(self) -> bool:
        return self.replaced is not None and self.replaced.pk != self.champion.user_id


def champion_name(*, month: dt.date, user, reason: str = "", by) -> ChampionNamed:
    """Name `user` portal champion of `month`; a month has one, so this replaces any before.

    1. The month is a calendar month (its first day), inside the filter window.
    2. The champion is an active member of staff with a role (no service account).
    3. The reason is optional, shown to everyone on the home page: it must not
       carry patient details (the form says so).
    4. At most one champion per month, whatever the timing: the month is
       unique; a naming that loses the race to create it replaces the winner's.
    """
    month = month.replace(day=1)
    try:
        require_in_window(month, field=_("Month"), window=filter_window())
    except ValidationError as error:
        raise RecognitionError(error.messages[0]) from None
    if not champion_candidates().filter(pk=user.pk).exists():
        raise RecognitionError(_("Choose an active member of staff."))
    reason = (reason or "").strip()
    if len(reason) > CHAMPION_REASON_MAX_LENGTH:
        raise RecognitionError(
            _("Keep the reason to %(n)d characters.") % {"n": CHAMPION_REASON_MAX_LENGTH}
        )
    fields = {"user": user, "reason": reason, "named_by": by, "named_at": timezone.now()}
    try:
        with transaction.atomic():
            return _name(month, fields)
    except IntegrityError:
        # Another manager created the month's row between our look and our insert.
        with transaction.atomic():
            return _name(month, fields)


def _name(month: dt.date, fields: dict) -> ChampionNamed:
    existing = PortalChampion.objects.select_for_update().filter(month=month).first()
    if existing is None:
        return ChampionNamed(PortalChampion.objects.create(month=month, **fields))
    replaced = existing.user
    for name, value in fields.items():
        setattr(existing, name, value)
    existing.save(update_fields=list(fields))
    return ChampionNamed(existing, replaced=replaced)
