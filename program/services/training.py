"""Writes for staff training: completions, sessions held, and the modules themselves.

"At most once a day" is the unique constraint on (staff, module, completed_on):
two clicks, or two managers recording the same session, leave one row.
"""

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from portal_adoption.roles import Role
from program.models.training import TrainingCompletion, TrainingModule, TrainingSession
from program.selectors.training import training_staff


class TrainingError(Exception):
    """A training write refused, with a reason to show the person."""


def _require_active(module: TrainingModule) -> None:
    if not module.active:
        raise TrainingError(
            _("“%(title)s” is no longer taught: a manager deactivated it.") % {"title": module}
        )


def _completion_add(
    *,
    module: TrainingModule,
    staff,
    completed_on: dt.date,
    by,
    session: TrainingSession | None = None,
) -> tuple[TrainingCompletion, bool]:
    """The person's completion on that day: created, or the one already there."""
    try:
        with transaction.atomic():
            return TrainingCompletion.objects.get_or_create(
                staff=staff,
                module=module,
                completed_on=completed_on,
                defaults={"recorded_by": by, "session": session},
            )
    except IntegrityError:  # a concurrent request created it between get and create
        return TrainingCompletion.objects.get(
            staff=staff, module=module, completed_on=completed_on
        ), False


def training_complete_self(
    *, module: TrainingModule, user, today: dt.date | None = None
) -> tuple[TrainingCompletion, bool]:
    """A member of staff marks a module done today. Returns (completion, created)."""
    _require_active(module)
    if not training_staff().filter(pk=user.pk).exists():
        raise TrainingError(_("Only active staff with a role take training."))
    return _completion_add(
        module=module, staff=user, completed_on=today or timezone.localdate(), by=user
    )


@transaction.atomic
def training_session_record(
    *,
    module: TrainingModule,
    held_on: dt.date,
    attendees: Iterable,
    by,
    led_by=None,
) -> tuple[TrainingSession, int]:
    """A manager records a session held for several people at once.

    1. The module must be active and the day not in the future.
    2. Every attendee must be active staff with a role; one who is not refuses
       the whole session (nothing is written).
    3. One transaction holds the session and a completion for each attendee;
       an attendee who already has a completion that day keeps it.
    Returns (session, completions created).
    """
    _require_active(module)
    if held_on > timezone.localdate():
        raise TrainingError(_("A session can only be recorded once it has been held."))
    attendees = list({person.pk: person for person in attendees}.values())
    if not attendees:
        raise TrainingError(_("Pick at least one attendee."))
    eligible = set(
        training_staff().filter(pk__in=[p.pk for p in attendees]).values_list("pk", flat=True)
    )
    if any(person.pk not in eligible for person in attendees):
        raise TrainingError(_("Attendees must be active staff with a role."))
    session = TrainingSession.objects.create(
        module=module, held_on=held_on, led_by=led_by, recorded_by=by
    )
    created = 0
    for person in attendees:
        _completion, new = _completion_add(
            module=module, staff=person, completed_on=held_on, by=by, session=session
        )
        created += new
    return session, created


@transaction.atomic
def training_completion_undo(*, completion_id: int) -> TrainingCompletion | None:
    """A manager removes a completion recorded by mistake. None when it was already gone."""
    completion = (
        TrainingCompletion.objects.select_for_update()
        .select_related("staff", "module")
        .filter(pk=completion_id)
        .first()
    )
    if completion is None:
        return None
    completion.delete()
    return completion


def _unique_key(title: str) -> str:
    base = (slugify(title).replace("-", "_") or "module")[:56]
    key, n = base, 2
    while TrainingModule.objects.filter(key=key).exists():
        key, n = f"{base}_{n}", n + 1
    return key


def _since_map(module: TrainingModule | None, roles: list[str], today: dt.date) -> dict:
    """Keep the day each role was first required; a role newly required starts today."""
    before = (module.role_required_since or {}) if module else {}
    return {role: before.get(role, today.isoformat()) for role in roles}


def _clean_roles(roles: Iterable) -> list[str]:
    wanted = {Role(r).value for r in roles}
    return [r.value for r in Role if r.value in wanted]


@transaction.atomic
def training_module_create(
    *,
    title: str,
    text: str,
    required_roles: Iterable,
    refresher_months: int | None,
    order: int = 100,
) -> TrainingModule:
    roles = _clean_roles(required_roles)
    return TrainingModule.objects.create(
        key=_unique_key(title),
        title=title,
        text=text,
        required_roles=roles,
        role_required_since=_since_map(None, roles, timezone.localdate()),
        refresher_months=refresher_months,
        order=order,
    )


@transaction.atomic
def training_module_update(
    *,
    module: TrainingModule,
    title: str,
    text: str,
    required_roles: Iterable,
    refresher_months: int | None,
    order: int,
) -> TrainingModule:
    """Edit a module. The key never changes: the rollout plan finds modules by key."""
    module = TrainingModule.objects.select_for_update().get(pk=module.pk)
    roles = _clean_roles(required_roles)
    module.title, module.text, module.order = title, text, order
    module.refresher_months = refresher_months
    module.required_roles = roles
    module.role_required_since = _since_map(module, roles, timezone.localdate())
    module.save()
    return module


@transaction.atomic
def training_module_set_active(*, module: TrainingModule, active: bool) -> TrainingModule:
    """Deactivate a module (it stops being required) or teach it again.

    Reactivated, it becomes required again today: nobody is overdue the day it
    comes back, and the 30-day grace starts over.
    """
    module = TrainingModule.objects.select_for_update().get(pk=module.pk)
    if module.active == active:
        return module
    module.active = active
    if active:
        module.role_required_since = _since_map(None, module.required_roles, timezone.localdate())
    module.save(update_fields=["active", "role_required_since"])
    return module
