"""Writes for the rollout plan: start (or restart) it, tick, add, move, drop, restore.

Every service takes keyword-only arguments, checks the state it acts on, and
raises PlanError (with a message a person can read) or PermissionDenied.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal_adoption.dates import date_window_error, filter_window
from portal_adoption.roles import MANAGE_PROGRAM, Role
from program.models.plan import PLAN_WEEKS, Phase, PlanTask, RolloutPlan, TaskCompletion
from program.selectors.plan import (
    EVIDENCE_CHAMPION_MONTH,
    EVIDENCE_DESK_ENROLLMENT,
    EVIDENCE_ENROLLMENT_TARGETS,
    EVIDENCE_ENROLLMENT_TRACKING,
    EVIDENCE_FEATURE_CAMPAIGN,
    EVIDENCE_FEATURE_MESSAGE,
    EVIDENCE_REPLY_TEMPLATES,
    EVIDENCE_RESPONSE_TARGETS,
    EVIDENCE_SURVEY,
    EVIDENCE_SURVEY_MONTH,
    task_period,
    training_key,
    user_may_tick,
)

NOTE_MAX_LENGTH = TaskCompletion._meta.get_field("note").max_length
TITLE_MAX_LENGTH = PlanTask._meta.get_field("title").max_length


class PlanError(ValueError):
    """A change the plan cannot take; `field` names the form field at fault."""

    def __init__(self, field_name: str | None, message: str):
        self.field = field_name
        super().__init__(message)


@dataclass(frozen=True)
class PlaybookTask:
    key: str
    phase: str
    title: str
    due_week: int | None
    owner_role: str
    evidence_key: str = ""


# The playbook's plan, phase by phase. A task is due in the phase's last week
# unless it must come first (training before the workflow it teaches, targets
# before the figures are judged against them).
PLAYBOOK = [
    PlaybookTask(
        "train_enrollment",
        Phase.ENROLLMENT,
        gettext_lazy("Train staff on the enrollment process"),
        2,
        Role.MANAGER,
        training_key("enrollment_at_checkin"),
    ),
    PlaybookTask(
        "set_enrollment_targets",
        Phase.ENROLLMENT,
        gettext_lazy("Set enrollment-rate targets"),
        1,
        Role.MANAGER,
        EVIDENCE_ENROLLMENT_TARGETS,
    ),
    PlaybookTask(
        "start_in_visit_enrollment",
        Phase.ENROLLMENT,
        gettext_lazy("Start the in-visit enrollment workflow"),
        3,
        Role.FRONT_DESK,
        EVIDENCE_DESK_ENROLLMENT,
    ),
    PlaybookTask(
        "track_enrollment",
        Phase.ENROLLMENT,
        gettext_lazy("Start tracking enrollment figures"),
        4,
        Role.MANAGER,
        EVIDENCE_ENROLLMENT_TRACKING,
    ),
    PlaybookTask(
        "promote_messaging",
        Phase.MESSAGING,
        gettext_lazy("Promote secure messaging"),
        8,
        Role.FRONT_DESK,
    ),
    PlaybookTask(
        "set_response_standards",
        Phase.MESSAGING,
        gettext_lazy("Set the response-time standards"),
        5,
        Role.MANAGER,
        EVIDENCE_RESPONSE_TARGETS,
    ),
    PlaybookTask(
        "train_message_management",
        Phase.MESSAGING,
        gettext_lazy("Train staff on message management"),
        6,
        Role.MANAGER,
        # The playbook: done when the nursing and front-desk roles are trained.
        training_key("message_triage", (Role.FRONT_DESK.value, Role.NURSE.value)),
    ),
    PlaybookTask(
        "write_reply_templates",
        Phase.MESSAGING,
        gettext_lazy("Write reply templates"),
        6,
        Role.MANAGER,
        EVIDENCE_REPLY_TEMPLATES,
    ),
    PlaybookTask(
        "configure_self_service_types",
        Phase.SCHEDULING,
        gettext_lazy(
            "Configure the appointment types open to self-service, starting with annual "
            "exams and follow-ups"
        ),
        9,
        Role.MANAGER,
    ),
    PlaybookTask(
        "train_promote_scheduling",
        Phase.SCHEDULING,
        gettext_lazy("Train staff to promote scheduling"),
        10,
        Role.MANAGER,
        training_key("promoting_scheduling_and_results"),
    ),
    PlaybookTask(
        "watch_scheduling_patterns",
        Phase.SCHEDULING,
        gettext_lazy("Watch the scheduling patterns and adjust the slots"),
        12,
        Role.MANAGER,
    ),
    PlaybookTask(
        "handle_booking_problems",
        Phase.SCHEDULING,
        gettext_lazy("Handle booking problems quickly"),
        12,
        Role.FRONT_DESK,
    ),
    PlaybookTask(
        "promote_payments",
        Phase.BILL_PAY,
        gettext_lazy("Promote payments to enrolled patients"),
        16,
        Role.BILLING,
    ),
    PlaybookTask(
        "train_portal_payments",
        Phase.BILL_PAY,
        gettext_lazy("Train billing staff on portal payments"),
        14,
        Role.MANAGER,
        training_key("portal_payments"),
    ),
    PlaybookTask(
        "consider_payment_incentive",
        Phase.BILL_PAY,
        gettext_lazy("Consider a small incentive for portal payment"),
        14,
        Role.MANAGER,
    ),
    PlaybookTask(
        "track_collections",
        Phase.BILL_PAY,
        gettext_lazy("Track the collection gains"),
        16,
        Role.BILLING,
    ),
    PlaybookTask(
        "promote_every_feature",
        Phase.EVERY_FEATURE,
        gettext_lazy("Promote every feature"),
        20,
        Role.FRONT_DESK,
    ),
    PlaybookTask(
        "run_feature_campaigns",
        Phase.EVERY_FEATURE,
        gettext_lazy("Run feature campaigns"),
        18,
        Role.MANAGER,
        EVIDENCE_FEATURE_CAMPAIGN,
    ),
    PlaybookTask(
        "collect_feedback",
        Phase.EVERY_FEATURE,
        gettext_lazy("Collect user feedback"),
        19,
        Role.MANAGER,
        EVIDENCE_SURVEY,
    ),
    PlaybookTask(
        "fix_usability_problems",
        Phase.EVERY_FEATURE,
        gettext_lazy("Find and fix usability problems"),
        20,
        Role.MANAGER,
    ),
    PlaybookTask(
        "monthly_feature_message",
        Phase.ONGOING,
        gettext_lazy("Send the monthly feature message"),
        None,
        Role.MANAGER,
        EVIDENCE_FEATURE_MESSAGE,
    ),
    PlaybookTask(
        "refresher_training",
        Phase.ONGOING,
        gettext_lazy("Run the refresher training"),
        None,
        Role.MANAGER,
        training_key("quarterly_refresher"),
    ),
    PlaybookTask(
        "continuous_feedback",
        Phase.ONGOING,
        gettext_lazy("Gather patient and staff feedback"),
        None,
        Role.MANAGER,
        EVIDENCE_SURVEY_MONTH,
    ),
    PlaybookTask(
        "recognize_staff",
        Phase.ONGOING,
        gettext_lazy("Recognize the staff who drive adoption"),
        None,
        Role.MANAGER,
        EVIDENCE_CHAMPION_MONTH,
    ),
]


def _check_start(start_date) -> dt.date:
    if not isinstance(start_date, dt.date):
        raise PlanError("start_date", _("Pick the plan's start date."))
    error = date_window_error(start_date, field=_("Start date"), window=filter_window())
    if error:
        raise PlanError("start_date", error)
    return start_date


def plan_start(*, start_date: dt.date, by) -> RolloutPlan:
    """Lay out the playbook's plan from `start_date` and make it the current plan.

    1. Lock the current plan (if any) so two managers starting at once make
       one current plan: the second waits, then replaces the first.
    2. Mark it no longer current; it stays, with its ticks, as history.
    3. Create the new plan and its tasks from PLAYBOOK, in the table's order.
    """
    if not by.has_perm(MANAGE_PROGRAM):
        raise PermissionDenied
    start_date = _check_start(start_date)
    with transaction.atomic():
        list(RolloutPlan.objects.select_for_update().filter(current=True))
        RolloutPlan.objects.filter(current=True).update(current=False)
        plan = RolloutPlan.objects.create(start_date=start_date, created_by=by, current=True)
        PlanTask.objects.bulk_create(
            PlanTask(
                plan=plan,
                phase=item.phase,
                title=str(item.title),
                due_week=item.due_week,
                owner_role=item.owner_role,
                evidence_key=item.evidence_key,
                playbook_key=item.key,
                order=position,
            )
            for position, item in enumerate(PLAYBOOK)
        )
    return plan


def task_tick(
    *, task: PlanTask, by, note: str = "", today: dt.date | None = None
) -> TaskCompletion:
    """Tick a task done (this month's occurrence, for ongoing work). Twice is harmless:
    the first tick stands, note and all."""
    if not user_may_tick(by, task):
        raise PermissionDenied
    if task.dropped_at is not None:
        raise PlanError(None, _("This task was dropped from the plan: restore it first."))
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise PlanError("note", _("Keep the note under %(n)s characters.") % {"n": NOTE_MAX_LENGTH})
    period = task_period(task, today or timezone.localdate())
    try:
        with transaction.atomic():
            return TaskCompletion.objects.create(
                task=task, period=period, by=by, at=timezone.now(), note=note
            )
    except IntegrityError:
        return TaskCompletion.objects.get(task=task, period=period)


def task_untick(*, task: PlanTask, by, today: dt.date | None = None) -> bool:
    """Take back a tick (this month's, for ongoing work); True if there was one."""
    if not user_may_tick(by, task):
        raise PermissionDenied
    period = task_period(task, today or timezone.localdate())
    deleted, _rows = TaskCompletion.objects.filter(task=task, period=period).delete()
    return bool(deleted)


def _checked_fields(*, phase, title, due_week, owner_user, owner_role) -> dict:
    if phase not in Phase.values:
        raise PlanError("phase", _("Choose one of the plan's phases."))
    title = (title or "").strip()
    if not title:
        raise PlanError("title", _("Say what the task is."))
    if len(title) > TITLE_MAX_LENGTH:
        raise PlanError(
            "title", _("Keep the task under %(n)s characters.") % {"n": TITLE_MAX_LENGTH}
        )
    if phase == Phase.ONGOING:
        due_week = None
    elif due_week is None or not 1 <= due_week <= PLAN_WEEKS:
        raise PlanError("due_week", _("Pick a due week from 1 to %(n)s.") % {"n": PLAN_WEEKS})
    if (owner_user is None) == (not owner_role):
        raise PlanError("owner", _("Give the task one owner: a person or a role."))
    if owner_role and owner_role not in Role.values:
        raise PlanError("owner", _("Choose one of the staff roles."))
    return {
        "phase": phase,
        "title": title,
        "due_week": due_week,
        "owner_user": owner_user,
        "owner_role": owner_role or "",
    }


def _require_manager(by) -> None:
    if not by.has_perm(MANAGE_PROGRAM):
        raise PermissionDenied


def task_add(
    *,
    plan: RolloutPlan,
    by,
    phase: str,
    title: str,
    due_week: int | None,
    owner_user=None,
    owner_role: str = "",
    description: str = "",
) -> PlanTask:
    """A task a manager adds: the playbook is the default, not a cage."""
    _require_manager(by)
    if not plan.current:
        raise PlanError(None, _("That plan was replaced by a newer one."))
    fields = _checked_fields(
        phase=phase, title=title, due_week=due_week, owner_user=owner_user, owner_role=owner_role
    )
    last = plan.tasks.order_by("-order").values_list("order", flat=True).first() or 0
    return PlanTask.objects.create(
        plan=plan, description=(description or "").strip(), order=last + 1, **fields
    )


def task_move(
    *,
    task: PlanTask,
    by,
    phase: str,
    due_week: int | None,
    owner_user=None,
    owner_role: str = "",
) -> PlanTask:
    """Move a task to another phase or week, or give it to another owner."""
    _require_manager(by)
    fields = _checked_fields(
        phase=phase,
        title=task.title,
        due_week=due_week,
        owner_user=owner_user,
        owner_role=owner_role,
    )
    for name, value in fields.items():
        setattr(task, name, value)
    task.save(update_fields=list(fields))
    return task


def task_drop(*, task: PlanTask, by) -> bool:
    """Drop a task from the plan, keeping it and its ticks; True if it was in the plan."""
    _require_manager(by)
    changed = PlanTask.objects.filter(pk=task.pk, dropped_at__isnull=True).update(
        dropped_at=timezone.now(), dropped_by=by
    )
    task.refresh_from_db()
    return bool(changed)


def task_restore(*, task: PlanTask, by) -> bool:
    """Put a dropped task back in the plan; True if it was dropped."""
    _require_manager(by)
    changed = PlanTask.objects.filter(pk=task.pk, dropped_at__isnull=False).update(
        dropped_at=None, dropped_by=None
    )
    task.refresh_from_db()
    return bool(changed)
