"""Reads for the rollout plan: dates, the current phase and week, each task's status.

Week N of a plan runs from start + 7(N-1) days for seven days; a task due in
week N is due on that week's last day, and overdue from the day after. An
ongoing task is due at the end of every month from the plan's start.

A task with an evidence key is done when the evidence says so, asked each
time the plan is read (nothing stale is stored): training through
program.selectors.training, the daily tools' own records here, and what only
the rollups know through portal_adoption.program_hooks (metrics answers).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext

from enrollment.models import Enrollment, EnrollmentMethod, EnrollmentStatus
from messaging.models import (
    Category,
    Communication,
    CommunicationStatus,
    OutreachRule,
    ReplyTemplate,
)
from portal_adoption import program_hooks
from portal_adoption.dates import month_end
from portal_adoption.program_hooks import Evidence
from portal_adoption.roles import MANAGE_PROGRAM
from portal_adoption.selectors import user_roles
from program.models.plan import PHASES, PLAN_WEEKS, PhaseDefinition, PlanTask, RolloutPlan
from program.models.recognition import PortalChampion
from program.selectors.training import training_evidence

# Evidence keys. "metrics.*" are answered by metrics through program_hooks.
EVIDENCE_ENROLLMENT_TARGETS = "metrics.enrollment_targets"
EVIDENCE_RESPONSE_TARGETS = "metrics.response_targets"
EVIDENCE_ENROLLMENT_TRACKING = "metrics.enrollment_tracking"
EVIDENCE_REPLY_TEMPLATES = "messaging.reply_templates"
EVIDENCE_DESK_ENROLLMENT = "enrollment.desk_enrollment"
EVIDENCE_FEATURE_CAMPAIGN = "messaging.feature_campaign"  # since the start
EVIDENCE_FEATURE_MESSAGE = "messaging.feature_message_month"  # ongoing: this month
EVIDENCE_SURVEY = "messaging.survey"  # since the start
EVIDENCE_SURVEY_MONTH = "messaging.survey_month"  # ongoing: this month
EVIDENCE_CHAMPION_MONTH = "program.champion_month"  # ongoing: a champion named this month
TRAINING_PREFIX = "training."


def training_key(module_key: str, roles: tuple[str, ...] = ()) -> str:
    """The evidence key of a "Train staff" task: the module, and the roles that must be
    trained when not all of the module's ("training.message_triage:front_desk,nurse")."""
    return f"{TRAINING_PREFIX}{module_key}" + (f":{','.join(roles)}" if roles else "")


def _training_task_evidence(key: str, today: dt.date) -> Evidence | None:
    module_key, _sep, roles = key.removeprefix(TRAINING_PREFIX).partition(":")
    return training_evidence(module_key, today, roles=roles.split(",") if roles else None)


class TaskStatus:
    DONE = "done"
    DUE = "due"  # this week's (or this month's) work, not late yet
    OVERDUE = "overdue"
    UPCOMING = "upcoming"
    DROPPED = "dropped"


# --- Dates ------------------------------------------------------------------------


def current_plan() -> RolloutPlan | None:
    return RolloutPlan.objects.filter(current=True).select_related("created_by").first()


def week_start(plan: RolloutPlan, week: int) -> dt.date:
    return plan.start_date + dt.timedelta(days=7 * (week - 1))


def week_end(plan: RolloutPlan, week: int) -> dt.date:
    return plan.start_date + dt.timedelta(days=7 * week - 1)


def plan_week(plan: RolloutPlan, today: dt.date) -> int | None:
    """Week 1..20 of the plan on `today`; 0 before the start; None after week 20 (ongoing)."""
    if today < plan.start_date:
        return 0
    week = (today - plan.start_date).days // 7 + 1
    return week if week <= PLAN_WEEKS else None


def phase_of_week(week: int | None) -> PhaseDefinition:
    for phase in PHASES:
        if phase.ongoing or phase.first_week <= (week or 0) <= phase.last_week:
            return phase
    return PHASES[-1]


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def task_period(task: PlanTask, today: dt.date) -> str:
    """The occurrence a tick is for: "" for a one-off task, "YYYY-MM" for an ongoing one."""
    return f"{today:%Y-%m}" if task.ongoing else ""


def task_due_date(task: PlanTask, today: dt.date) -> dt.date:
    if task.ongoing:
        return month_end(max(today, task.plan.start_date))
    return week_end(task.plan, task.due_week)


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --- Who may tick ---------------------------------------------------------------------


def user_may_tick(user, task: PlanTask) -> bool:
    """The task's owner, anyone holding its owner role, or a manager."""
    if not user.is_authenticated:
        return False
    if user.has_perm(MANAGE_PROGRAM):
        return True
    if task.owner_user_id is not None:
        return task.owner_user_id == user.pk
    return task.owner_role in user_roles(user)


def phase_month_day(starts: dt.date, ends: dt.date) -> dt.date:
    """A day of the month a phase is judged by: its middle day, so the calendar month
    holding most of its four weeks (a phase ending on the 1st is not judged by a month
    that is almost all after it)."""
    return starts + (ends - starts) // 2


# --- Evidence -----------------------------------------------------------------------


def _reply_templates(since: dt.date, until: dt.date | None) -> Evidence | None:
    """An active template for each queue's category (clinical, front desk, billing).
    Templates carry no dates: ones written before the plan count too."""
    covered = set(
        ReplyTemplate.objects.filter(active=True).values_list("category", flat=True).distinct()
    )
    if not set(Category.values) <= covered:
        return None
    count = ReplyTemplate.objects.filter(active=True).count()
    return Evidence(
        at=timezone.now(),
        summary=ngettext(
            "%(n)s reply template in use, covering every queue",
            "%(n)s reply templates in use, covering every queue",
            count,
        )
        % {"n": count},
        url=reverse("messaging:templates"),
    )


def _desk_enrollment(since: dt.date, until: dt.date | None) -> Evidence | None:
    rows = Enrollment.objects.filter(
        method=EnrollmentMethod.DESK,
        status=EnrollmentStatus.COMPLETED,
        completed_at__gte=_start_of_day(since),
    )
    if until is not None:
        rows = rows.filter(completed_at__lt=_start_of_day(until + dt.timedelta(days=1)))
    first = rows.order_by("completed_at").values_list("completed_at", flat=True).first()
    if first is None:
        return None
    count = rows.count()
    return Evidence(
        at=first,
        summary=ngettext(
            "%(n)s enrollment completed at the desk since the start",
            "%(n)s enrollments completed at the desk since the start",
            count,
        )
        % {"n": count},
        url=reverse("enrollment:report_staff"),
    )


def _sent(rule: str, summary):
    """Messages of a nightly rule sent in the days since..until; `summary(count)` words it."""

    def check(since: dt.date, until: dt.date | None) -> Evidence | None:
        rows = Communication.objects.filter(
            rule=rule, status=CommunicationStatus.SENT, sent_at__gte=_start_of_day(since)
        )
        if until is not None:
            rows = rows.filter(sent_at__lt=_start_of_day(until + dt.timedelta(days=1)))
        first = rows.order_by("sent_at").values_list("sent_at", flat=True).first()
        if first is None:
            return None
        return Evidence(at=first, summary=summary(rows.count()), url=reverse("messaging:outreach"))

    return check


_feature_messages = _sent(
    OutreachRule.FEATURE_OF_MONTH,
    lambda n: ngettext(
        "%(n)s feature-of-the-month message sent", "%(n)s feature-of-the-month messages sent", n
    )
    % {"n": n},
)
_surveys = _sent(
    OutreachRule.SATISFACTION_SURVEY,
    lambda n: ngettext("%(n)s satisfaction survey sent", "%(n)s satisfaction surveys sent", n)
    % {"n": n},
)


def _champion_named(since: dt.date, until: dt.date | None) -> Evidence | None:
    """A portal champion named for a month within since..until (recognition, part 4)."""
    champions = PortalChampion.objects.filter(month__gte=since.replace(day=1))
    if until is not None:
        champions = champions.filter(month__lte=until)
    champion = champions.select_related("user").order_by("month").first()
    if champion is None:
        return None
    name = champion.user.get_full_name() or champion.user.get_username()
    return Evidence(
        at=champion.named_at,
        summary=gettext("%(name)s named portal champion of %(month)s")
        % {"name": name, "month": date_format(champion.month, "F Y")},
        url=reverse("program:recognition") + f"?month={champion.month:%Y-%m}",
    )


# Checks of the daily tools' records: check(since, until) for the days since..until.
LOCAL_EVIDENCE = {
    EVIDENCE_REPLY_TEMPLATES: _reply_templates,
    EVIDENCE_DESK_ENROLLMENT: _desk_enrollment,
    EVIDENCE_FEATURE_CAMPAIGN: _feature_messages,
    EVIDENCE_FEATURE_MESSAGE: _feature_messages,
    EVIDENCE_SURVEY: _surveys,
    EVIDENCE_SURVEY_MONTH: _surveys,
    EVIDENCE_CHAMPION_MONTH: _champion_named,
}


def task_evidence(
    task: PlanTask, today: dt.date, *, month: dt.date | None = None
) -> Evidence | None:
    """What shows the task done: since the plan's start, or within `month` for ongoing work."""
    key = task.evidence_key
    if not key:
        return None
    if key.startswith(TRAINING_PREFIX):
        return _training_task_evidence(key, today)
    since, until = task.plan.start_date, None
    if task.ongoing:
        month = month or month_start(today)
        since, until = max(month, task.plan.start_date), month_end(month)
    if key in LOCAL_EVIDENCE:
        return LOCAL_EVIDENCE[key](since, until)
    return program_hooks.evidence(key, since)


# --- The plan as pages read it -----------------------------------------------------


@dataclass
class TaskRow:
    task: PlanTask
    due_date: dt.date
    status: str
    completion: object = None  # this occurrence's TaskCompletion, if ticked by hand
    evidence: Evidence | None = None
    missed_last_month: bool = False

    @property
    def done(self) -> bool:
        return self.status == TaskStatus.DONE

    @property
    def owner_value(self) -> str:
        """The owner as the move form names it: "user:ID" or "role:KEY"."""
        task = self.task
        return f"user:{task.owner_user_id}" if task.owner_user_id else f"role:{task.owner_role}"

    @property
    def owner_label(self) -> str:
        task = self.task
        if task.owner_user_id:
            user = task.owner_user
            return user.get_full_name() or user.get_username()
        return str(task.get_owner_role_display())


def task_row(task: PlanTask, today: dt.date, completions: dict | None = None) -> TaskRow:
    """A task's status on `today`. `completions` maps (task id, period) to a tick."""
    if completions is None:
        completions = {(c.task_id, c.period): c for c in task.completions.all()}
    due = task_due_date(task, today)
    if task.dropped_at is not None:
        return TaskRow(task, due, TaskStatus.DROPPED)
    period = task_period(task, today)
    completion = completions.get((task.pk, period))
    evidence = task_evidence(task, today)
    if completion or evidence:
        return TaskRow(task, due, TaskStatus.DONE, completion, evidence)
    if task.ongoing:
        last_month = month_start(month_start(today) - dt.timedelta(days=1))
        missed = (
            month_end(last_month) >= task.plan.start_date
            and (task.pk, f"{last_month:%Y-%m}") not in completions
            and task_evidence(task, today, month=last_month) is None
        )
        if missed:  # the occurrence that is late is last month's
            return TaskRow(task, month_end(last_month), TaskStatus.OVERDUE, missed_last_month=True)
        return TaskRow(task, due, TaskStatus.DUE)
    if due < today:
        return TaskRow(task, due, TaskStatus.OVERDUE)
    if week_start(task.plan, task.due_week) <= today:
        return TaskRow(task, due, TaskStatus.DUE)
    return TaskRow(task, due, TaskStatus.UPCOMING)


def _tasks(plan: RolloutPlan):
    return (
        plan.tasks.select_related("owner_user", "plan", "dropped_by")
        .prefetch_related("completions__by")
        .order_by("due_week", "order", "id")
    )


def _rows(tasks, today: dt.date) -> list[TaskRow]:
    completions = {(c.task_id, c.period): c for t in tasks for c in t.completions.all()}
    return [task_row(task, today, completions) for task in tasks]


def tasks_of(user, plan: RolloutPlan):
    """The tasks a person owns, themselves or through a role they hold."""
    roles = [role.value for role in user_roles(user)]
    return _tasks(plan).filter(Q(owner_user=user) | Q(owner_role__in=roles))


@dataclass
class PhaseView:
    definition: PhaseDefinition
    starts: dt.date | None
    ends: dt.date | None
    current: bool
    ended: bool
    rows: list[TaskRow] = field(default_factory=list)
    figures: list = field(default_factory=list)
    figures_so_far: bool = False


def plan_overview(plan: RolloutPlan, today: dt.date) -> dict:
    """The whole plan for a manager: phases with dates, tasks with status, phase figures."""
    week = plan_week(plan, today)
    current = phase_of_week(week) if week != 0 else None
    rows = _rows(list(_tasks(plan)), today)
    phases = []
    for definition in PHASES:
        if definition.ongoing:
            starts, ends, ended = plan.start_date, None, False
        else:
            starts = week_start(plan, definition.first_week)
            ends = week_end(plan, definition.last_week)
            ended = ends < today
        view = PhaseView(
            definition,
            starts,
            ends,
            current is not None and current.key == definition.key,
            ended,
            rows=[row for row in rows if row.task.phase == definition.key],
        )
        if definition.figures and starts <= today:
            view.figures = program_hooks.phase_results(
                definition.figures, phase_month_day(starts, ends)
            )
            view.figures_so_far = not ended
        phases.append(view)
    return {
        "plan": plan,
        "week": week,
        "weeks": PLAN_WEEKS,
        "phase": current,
        "phases": phases,
        "overdue": [row for row in rows if row.status == TaskStatus.OVERDUE],
    }


def my_tasks(user, plan: RolloutPlan, today: dt.date) -> list[TaskRow]:
    """A person's own tasks still in the plan, due first."""
    rows = _rows(list(tasks_of(user, plan).filter(dropped_at__isnull=True)), today)
    order = {TaskStatus.OVERDUE: 0, TaskStatus.DUE: 1, TaskStatus.UPCOMING: 2, TaskStatus.DONE: 3}
    return sorted(rows, key=lambda row: (order[row.status], row.due_date))


def plan_status(user, *, today: dt.date | None = None) -> dict | None:
    """The current phase, its week and the overdue tasks (the person's own; all, for
    managers), for the home page and the dashboard banner; None without a plan."""
    plan = current_plan()
    if plan is None:
        return None
    today = today or timezone.localdate()
    week = plan_week(plan, today)
    tasks = _tasks(plan) if user.has_perm(MANAGE_PROGRAM) else tasks_of(user, plan)
    # Only a task past its due date (or ongoing) can be overdue: ask no evidence of the rest.
    late = [
        task
        for task in tasks.filter(dropped_at__isnull=True)
        if task.ongoing or task_due_date(task, today) < today
    ]
    overdue = sorted(
        (row for row in _rows(late, today) if row.status == TaskStatus.OVERDUE),
        key=lambda row: row.due_date,
    )
    return {
        "plan": plan,
        "week": week,
        "weeks": PLAN_WEEKS,
        "phase": phase_of_week(week) if week != 0 else None,
        "overdue": overdue,
        "manager": user.has_perm(MANAGE_PROGRAM),
    }


def plan_for_home(user):
    """The current phase, its week and the overdue tasks (issue 12, part 1)."""
    if not user.is_authenticated:
        return None
    return plan_status(user)
