"""Who must take which training module, and where each person stands.

The status rule lives in one function, `training_status`, and every page, the
home-page reminder and the rollout plan's evidence read it:

1. Only active staff holding a role count (a role is a group of roles.py;
   service accounts of integrations never count). A module is required of a
   person when it is active and one of their roles is in its required roles;
   otherwise the cell says "not required".
2. Never completed: "due" for a grace period of 30 days from the later of
   the day the person got the account (date_joined) and the day the module
   became required for their role; from day 31 on, "overdue".
   (Day 0 is the start; day 30 is the last day of grace.)
3. Completed: the latest completion counts. Without a refresher interval the
   person is "trained" for good. With one, the refresher date is the latest
   completion plus the interval in months (the 31st becomes the last day of a
   shorter month):
   - refresher date more than 30 days ahead: "trained";
   - refresher date within the next 30 days, today included: "due";
   - refresher date passed (before today): "overdue".
4. A completion is "current" while its refresher date has not passed (a person
   who is due for a refresher is still trained): the rollout plan's evidence
   asks for a current completion from everyone who must take the module.
"""

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal_adoption.models import User
from portal_adoption.program_hooks import Evidence
from portal_adoption.roles import GROUP_NAMES, INTEGRATION_GROUP, Role
from program.models.training import TrainingCompletion, TrainingModule

GRACE_DAYS = 30
DUE_SOON_DAYS = 30


class Standing:
    TRAINED = "trained"
    DUE = "due"
    OVERDUE = "overdue"
    NOT_REQUIRED = "not_required"


STANDING_LABELS = {
    Standing.TRAINED: gettext_lazy("Trained"),
    Standing.DUE: gettext_lazy("Due"),
    Standing.OVERDUE: gettext_lazy("Overdue"),
    Standing.NOT_REQUIRED: gettext_lazy("Not required"),
}


@dataclass(frozen=True)
class TrainingStatus:
    module: TrainingModule
    standing: str
    completed_on: dt.date | None = None  # the latest completion
    refresher_on: dt.date | None = None  # when the latest completion must be renewed
    due_by: dt.date | None = None  # never completed: the last day of grace

    @property
    def label(self) -> str:
        return str(STANDING_LABELS[self.standing])

    @property
    def owed(self) -> bool:
        return self.standing in (Standing.DUE, Standing.OVERDUE)

    @property
    def current(self) -> bool:
        """Completed, and the refresher date (if any) has not passed."""
        return self.completed_on is not None and self.standing != Standing.OVERDUE

    @property
    def explanation(self) -> str:
        """The dates behind the standing, in a sentence."""
        if self.standing == Standing.NOT_REQUIRED:
            return ""
        if self.completed_on is None:
            if self.standing == Standing.OVERDUE:
                return _("Never completed; was due by %(date)s.") % {"date": _day(self.due_by)}
            return _("Never completed; due by %(date)s.") % {"date": _day(self.due_by)}
        done = _day(self.completed_on)
        if self.refresher_on is None:
            return _("Completed on %(done)s; no refresher needed.") % {"done": done}
        if self.standing == Standing.OVERDUE:
            message = _("Completed on %(done)s; refresher was due on %(date)s.")
        else:
            message = _("Completed on %(done)s; refresher due on %(date)s.")
        return message % {"done": done, "date": _day(self.refresher_on)}


def _day(value: dt.date | None) -> str:
    return date_format(value, "DATE_FORMAT") if value else ""


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months; a day past the end of the target month becomes its last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def required_roles(module: TrainingModule) -> list[Role]:
    return [Role(value) for value in module.required_roles if value in Role.values]


def module_required_for(module: TrainingModule, roles) -> bool:
    return module.active and bool(set(required_roles(module)) & set(roles))


def required_since(module: TrainingModule, roles) -> dt.date | None:
    """The earliest day the module became required for one of these roles (None: unknown)."""
    days = []
    for role in set(required_roles(module)) & set(roles):
        text = (module.role_required_since or {}).get(str(role))
        try:
            days.append(dt.date.fromisoformat(text))
        except (TypeError, ValueError):
            continue
    return min(days) if days else None


def training_status(
    *,
    module: TrainingModule,
    roles,
    joined_on: dt.date,
    completed_on: dt.date | None,
    today: dt.date,
) -> TrainingStatus:
    """THE rule (see the module docstring): one person's standing on one module."""
    if not module_required_for(module, roles):
        return TrainingStatus(module, Standing.NOT_REQUIRED, completed_on=completed_on)
    if completed_on is None:
        since = required_since(module, roles)
        start = max(joined_on, since) if since else joined_on
        due_by = start + dt.timedelta(days=GRACE_DAYS)
        standing = Standing.DUE if today <= due_by else Standing.OVERDUE
        return TrainingStatus(module, standing, due_by=due_by)
    if module.refresher_months is None:
        return TrainingStatus(module, Standing.TRAINED, completed_on=completed_on)
    refresher_on = add_months(completed_on, module.refresher_months)
    if refresher_on < today:
        standing = Standing.OVERDUE
    elif refresher_on <= today + dt.timedelta(days=DUE_SOON_DAYS):
        standing = Standing.DUE
    else:
        standing = Standing.TRAINED
    return TrainingStatus(module, standing, completed_on=completed_on, refresher_on=refresher_on)


# --- Who counts ------------------------------------------------------------------------


def training_staff():
    """Active people holding a role; never an integration's service account."""
    return (
        User.objects.filter(is_active=True, groups__name__in=GROUP_NAMES.values())
        .exclude(groups__name=INTEGRATION_GROUP)
        .exclude(integration_token__isnull=False)
        .distinct()
        .order_by("last_name", "first_name", "username", "pk")
    )


def _roles_by_user(user_ids) -> dict[int, list[Role]]:
    role_of_group = {name: role for role, name in GROUP_NAMES.items()}
    rows = User.groups.through.objects.filter(
        user_id__in=list(user_ids), group__name__in=GROUP_NAMES.values()
    ).values_list("user_id", "group__name")
    held = defaultdict(set)
    for user_id, name in rows:
        held[user_id].add(role_of_group[name])
    return {user_id: [r for r in Role if r in roles] for user_id, roles in held.items()}


def is_training_staff(user) -> bool:
    return getattr(user, "is_authenticated", False) and training_staff().filter(pk=user.pk).exists()


def _latest_completions(user_ids=None, module_ids=None) -> dict[tuple[int, int], dt.date]:
    rows = TrainingCompletion.objects.all()
    if user_ids is not None:
        rows = rows.filter(staff_id__in=list(user_ids))
    if module_ids is not None:
        rows = rows.filter(module_id__in=list(module_ids))
    rows = rows.values("staff_id", "module_id").annotate(latest=Max("completed_on"))
    return {(row["staff_id"], row["module_id"]): row["latest"] for row in rows}


def _joined_on(user) -> dt.date:
    return timezone.localdate(user.date_joined)


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


# --- One person ------------------------------------------------------------------------


def my_training(user, today: dt.date | None = None) -> list[TrainingStatus]:
    """The active modules required for this person's roles, with their standing."""
    today = _today(today)
    if not is_training_staff(user):
        return []
    roles = _roles_by_user([user.pk]).get(user.pk, [])
    modules = [
        m for m in TrainingModule.objects.filter(active=True) if module_required_for(m, roles)
    ]
    latest = _latest_completions([user.pk], [m.pk for m in modules])
    return [
        training_status(
            module=module,
            roles=roles,
            joined_on=_joined_on(user),
            completed_on=latest.get((user.pk, module.pk)),
            today=today,
        )
        for module in modules
    ]


def training_owed(user, today: dt.date | None = None) -> list[TrainingStatus]:
    """The training modules this person is due or overdue on, overdue first (the home page)."""
    owed = [status for status in my_training(user, today) if status.owed]
    return sorted(owed, key=lambda s: (s.standing != Standing.OVERDUE, s.module.order))


# --- The matrix -----------------------------------------------------------------------


@dataclass
class MatrixRow:
    person: User
    roles: list[Role]
    cells: list[TrainingStatus]


@dataclass
class MatrixGroup:
    role: Role
    rows: list[MatrixRow] = field(default_factory=list)


@dataclass(frozen=True)
class MatrixColumn:
    module: TrainingModule
    current: int  # people with a current completion
    required: int  # people who must take it


@dataclass
class TrainingMatrix:
    columns: list[MatrixColumn]
    groups: list[MatrixGroup]


def training_matrix(
    today: dt.date | None = None, module: TrainingModule | None = None
) -> TrainingMatrix:
    """Rows of active staff grouped by role (a person with two roles is under each),
    columns the active modules (or the one asked for), cells their standing."""
    today = _today(today)
    modules = [module] if module else list(TrainingModule.objects.filter(active=True))
    people = list(training_staff())
    roles_by_user = _roles_by_user(p.pk for p in people)
    latest = _latest_completions([p.pk for p in people], [m.pk for m in modules])
    counts = {m.pk: [0, 0] for m in modules}
    groups = {role: MatrixGroup(role) for role in Role}
    for person in people:
        roles = roles_by_user.get(person.pk, [])
        cells = [
            training_status(
                module=m,
                roles=roles,
                joined_on=_joined_on(person),
                completed_on=latest.get((person.pk, m.pk)),
                today=today,
            )
            for m in modules
        ]
        for cell in cells:
            if cell.standing != Standing.NOT_REQUIRED:
                counts[cell.module.pk][1] += 1
                counts[cell.module.pk][0] += cell.current
        for role in roles:
            groups[role].rows.append(MatrixRow(person, roles, cells))
    return TrainingMatrix(
        columns=[MatrixColumn(m, *counts[m.pk]) for m in modules],
        groups=[g for g in groups.values() if g.rows],
    )


# --- The rollout plan's evidence -------------------------------------------------------


def module_matrix_url(module_key: str) -> str:
    return f"{reverse('program:training')}?module={module_key}#module-{module_key}"


def _role_list(roles: list[Role]) -> str:
    names = [str(ROLE_PLURALS[role]) for role in roles]
    if len(names) <= 1:
        return "".join(names)
    return _("%(first)s and %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}


ROLE_PLURALS = {
    Role.FRONT_DESK: gettext_lazy("front desk"),
    Role.NURSE: gettext_lazy("nurses"),
    Role.PROVIDER: gettext_lazy("providers"),
    Role.BILLING: gettext_lazy("billing"),
    Role.MANAGER: gettext_lazy("managers"),
    Role.ADMINISTRATOR: gettext_lazy("administrators"),
}


def training_evidence(
    module_key: str, today: dt.date | None = None, *, roles: Iterable[str] | None = None
) -> Evidence | None:
    """Evidence that a module's training is complete, for the rollout plan's "Train staff" tasks.

    Complete when there is at least one active staff member holding one of
    the module's required roles (or of `roles` among them, when the task
    names only some) and every such person has a current completion. `at` is
    the latest of the completions that make them current (local midnight of
    that day); None while anyone is missing.
    """
    today = _today(today)
    module = TrainingModule.objects.filter(key=module_key, active=True).first()
    if module is None:
        return None
    needed = set(required_roles(module))
    if roles is not None:
        needed &= set(roles)
    people = list(training_staff())
    roles_by_user = _roles_by_user(p.pk for p in people)
    people = [p for p in people if needed & set(roles_by_user.get(p.pk, []))]
    if not people:
        return None
    latest = _latest_completions([p.pk for p in people], [module.pk])
    done = []
    for person in people:
        status = training_status(
            module=module,
            roles=roles_by_user[person.pk],
            joined_on=_joined_on(person),
            completed_on=latest.get((person.pk, module.pk)),
            today=today,
        )
        if not status.current:
            return None
        done.append(status.completed_on)
    at = timezone.make_aware(dt.datetime.combine(max(done), dt.time.min))
    summary = _("Trained: %(done)s of %(total)s %(roles)s") % {
        "done": len(done),
        "total": len(people),
        "roles": _role_list([r for r in Role if r in needed]),
    }
    return Evidence(at=at, summary=summary, url=module_matrix_url(module.key))
