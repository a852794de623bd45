"""The rollout plan: the playbook's 20 weeks, laid out from the start date a manager picks.

A plan holds its tasks; a task belongs to a phase, is due in a week of the
plan (1 to 20) or, for ongoing work, every month, and is owned by a person
or by a role. A tick is a TaskCompletion row: (task, period) is unique, so a
task is ticked at most once (per month, for ongoing work) however often the
button is pressed. Tasks the application can see being done are not stored
as ticked: the plan asks for the evidence each time it is read.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal_adoption.roles import Role

__all__ = [
    "PHASES",
    "PLAN_WEEKS",
    "Phase",
    "PhaseDefinition",
    "PlanTask",
    "RolloutPlan",
    "TaskCompletion",
]

PLAN_WEEKS = 20


class Phase(models.TextChoices):
    ENROLLMENT = "enrollment", _("Enrollment")
    MESSAGING = "messaging", _("Messaging")
    SCHEDULING = "scheduling", _("Self-scheduling")
    BILL_PAY = "bill_pay", _("Bill pay")
    EVERY_FEATURE = "every_feature", _("Every feature")
    ONGOING = "ongoing", _("Ongoing")


@dataclass(frozen=True)
class PhaseDefinition:
    """One phase of the playbook: its weeks, its title and the figures it is judged by."""

    key: str
    first_week: int | None  # None: ongoing, every month from the start
    last_week: int | None
    title: str
    figures: tuple[str, ...]  # keys of metrics.md (architecture.md's snake_case names)

    @property
    def ongoing(self) -> bool:
        return self.first_week is None


# The playbook's phases, in order: the one table every page and check reads.
PHASES = [
    PhaseDefinition(
        Phase.ENROLLMENT,
        1,
        4,
        _("Enroll patients"),
        ("enrollment_rate", "new_enrollments"),
    ),
    PhaseDefinition(
        Phase.MESSAGING,
        5,
        8,
        _("Secure messaging"),
        ("messages_received", "avg_response_hours"),
    ),
    PhaseDefinition(
        Phase.SCHEDULING,
        9,
        12,
        _("Self-scheduling"),
        ("self_scheduled_share", "annual_exam_self_scheduled_share"),
    ),
    PhaseDefinition(Phase.BILL_PAY, 13, 16, _("Bill pay"), ("portal_payment_share",)),
    PhaseDefinition(
        Phase.EVERY_FEATURE,
        17,
        20,
        _("Every feature"),
        ("multi_feature_share", "satisfaction"),
    ),
    PhaseDefinition(Phase.ONGOING, None, None, _("Ongoing"), ()),
]


class RolloutPlan(models.Model):
    """The practice's adoption program. One practice runs one plan at a time.

    A restart makes a new plan current and keeps the old one, ticks and all,
    as history: the new plan starts its tasks (and its evidence) afresh from
    its own start date.
    """

    start_date = models.DateField(_("start date"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    current = models.BooleanField(_("current"), default=True)

    class Meta:
        verbose_name = _("rollout plan")
        verbose_name_plural = _("rollout plans")
        permissions = [("manage_program", _("Run the adoption program"))]
        constraints = [
            models.UniqueConstraint(
                fields=["current"], condition=Q(current=True), name="one_current_rollout_plan"
            )
        ]

    def __str__(self):
        return str(_("Rollout plan from %(start)s") % {"start": self.start_date.isoformat()})


class PlanTask(models.Model):
    """One task of the plan: due in a week of the plan, or every month when ongoing."""

    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="tasks")
    phase = models.CharField(_("phase"), max_length=16, choices=Phase.choices)
    title = models.CharField(_("task"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # Week 1 to 20 of the plan; empty for ongoing tasks, due at the end of every month.
    due_week = models.PositiveSmallIntegerField(_("due week"), null=True, blank=True)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    owner_role = models.CharField(_("owner role"), max_length=16, choices=Role.choices, blank=True)
    # Where the application looks for the task being done (program.selectors.plan).
    evidence_key = models.CharField(_("evidence"), max_length=64, blank=True)
    # The playbook task this one was laid out from; empty for tasks a manager added.
    playbook_key = models.CharField(max_length=64, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    dropped_at = models.DateTimeField(_("dropped"), null=True, blank=True)
    dropped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["plan", "due_week", "order", "id"]
        verbose_name = _("plan task")
        verbose_name_plural = _("plan tasks")
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_user__isnull=False) & Q(owner_role=""))
                | (Q(owner_user__isnull=True) & ~Q(owner_role="")),
                name="plan_task_one_owner",
            ),
            models.CheckConstraint(
                condition=(Q(phase=Phase.ONGOING) & Q(due_week__isnull=True))
                | (~Q(phase=Phase.ONGOING) & Q(due_week__gte=1) & Q(due_week__lte=PLAN_WEEKS)),
                name="plan_task_due_week_in_plan",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def ongoing(self) -> bool:
        return self.phase == Phase.ONGOING


class TaskCompletion(models.Model):
    """A task ticked done: by whom, when, with an optional note.

    `period` is "" for a one-off task and "YYYY-MM" for a month of an ongoing
    one; the unique pair makes a second tick (a double click, a retry) a no-op.
    """

    task = models.ForeignKey(PlanTask, on_delete=models.CASCADE, related_name="completions")
    period = models.CharField(_("month"), max_length=7, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("done by"),
    )
    at = models.DateTimeField(_("done at"))
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("task completion")
        verbose_name_plural = _("task completions")
        constraints = [
            models.UniqueConstraint(fields=["task", "period"], name="one_tick_per_task_period")
        ]

    def __str__(self):
        return f"{self.task_id} {self.period or '-'}"
