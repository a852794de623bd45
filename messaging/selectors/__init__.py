"""Reads for the triage queue: queues in order, SLA state, the day's checkpoints."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from messaging.models import (
    OPEN_STATUSES,
    ChartNote,
    Communication,
    Message,
    MessageStatus,
    OutboxItem,
    Queue,
    ReplyTemplate,
)
from messaging.selectors.responses import (
    answered_since,
    message_first_response_at,
    with_first_response,
)
from portal_adoption.business_calendar import BusinessCalendar
from portal_adoption.roles import (
    MANAGE_MESSAGING,
    VIEW_PATIENTS,
    WORK_BILLING_QUEUE,
    WORK_CLINICAL_QUEUE,
    WORK_FRONT_DESK_QUEUE,
    WORK_PROVIDER_TASKS,
)

DUE_SOON = timedelta(hours=1)
QUEUE_PERMISSIONS = {
    Queue.NURSING: WORK_CLINICAL_QUEUE,
    Queue.FRONT_DESK: WORK_FRONT_DESK_QUEUE,
    Queue.BILLING: WORK_BILLING_QUEUE,
    Queue.PROVIDER: WORK_PROVIDER_TASKS,
}


class Sla:
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def sla_state(message: Message, *, now: datetime | None = None) -> str:
    """On time, due soon (within the hour) or overdue, against the internal target.

    Answered means a first response (a portal reply or a call, as metrics.md
    defines it: selectors.responses), whoever wrote it.
    """
    now = now or timezone.now()
    first_response = message_first_response_at(message)
    if first_response:
        return Sla.ON_TIME if first_response <= message.internal_due_at else Sla.OVERDUE
    if now > message.internal_due_at:
        return Sla.OVERDUE
    return Sla.DUE_SOON if message.internal_due_at - now <= DUE_SOON else Sla.ON_TIME


def queues_for(user) -> list[str]:
    """The team queues this person may work (managers: all)."""
    return [queue for queue, code in QUEUE_PERMISSIONS.items() if user.has_perm(code)]


@dataclass(frozen=True)
class MessageSight:
    """Which messages a person may see: the one rule behind may_see() and the querysets.

    Each team sees its own queue; on the provider task list a provider sees
    what was escalated to them, and a manager sees all of it.
    """

    team_queues: frozenset[str]
    all_provider_tasks: bool
    provider_id: int | None

    def sees(self, message: Message) -> bool:
        if message.queue == Queue.PROVIDER:
            return self.all_provider_tasks or (
                self.provider_id is not None and message.escalated_to_id == self.provider_id
            )
        return message.queue in self.team_queues

    def as_q(self, prefix: str = "") -> Q:
        """The same rule as a filter, on Message or through a relation (prefix "message__")."""
        visible = Q(**{f"{prefix}queue__in": sorted(self.team_queues)})
        if self.all_provider_tasks:
            visible |= Q(**{f"{prefix}queue": Queue.PROVIDER})
        elif self.provider_id is not None:
            visible |= Q(
                **{f"{prefix}queue": Queue.PROVIDER, f"{prefix}escalated_to": self.provider_id}
            )
        return visible


def message_sight(user) -> MessageSight:
    provider = getattr(user, "provider", None)
    return MessageSight(
        team_queues=frozenset(q for q in queues_for(user) if q != Queue.PROVIDER),
        all_provider_tasks=user.has_perm(MANAGE_MESSAGING),
        provider_id=provider.pk if provider is not None else None,
    )


def may_see(user, message: Message) -> bool:
    """Each team sees its own queue; a provider sees what was escalated to them."""
    return message_sight(user).sees(message)


def messages_visible_to(user) -> QuerySet[Message]:
    return Message.objects.filter(message_sight(user).as_q())


def communications_visible_to(user, patient) -> QuerySet[Communication]:
    """The patient's communications log, as far as this person may read it.

    THE rule for every page and endpoint that shows the log:
    - outreach rows (a nightly rule's reminder, nudge, campaign or survey)
      go to everyone who may see the patient;
    - a row that answers a patient's message (a staff reply, the automatic
      red-flag answer) follows that message: may_see();
    - a row with neither a rule nor a message (from before rows named their
      message, and matched to none) goes to managers only.
    """
    if not user.has_perm(VIEW_PATIENTS):
        return Communication.objects.none()
    outreach = Q(message__isnull=True) & ~Q(rule="")
    answers = Q(message__isnull=False) & message_sight(user).as_q(prefix="message__")
    visible = outreach | answers
    if user.has_perm(MANAGE_MESSAGING):
        visible |= Q(message__isnull=True, rule="")
    return (
        Communication.objects.filter(patient=patient)
        .filter(visible)
        .select_related("sent_by")
        .order_by("-created_at", "-id")
    )


def queue_messages(queue: str, *, provider=None) -> QuerySet[Message]:
    """The open messages of a queue, urgent first, then by internal target, each with
    its first response (`first_response_at`, None while unanswered)."""
    messages = Message.objects.filter(queue=queue, status__in=OPEN_STATUSES)
    if queue == Queue.PROVIDER and provider is not None:
        messages = messages.filter(escalated_to=provider)
    return with_first_response(
        messages.select_related("patient", "owner", "escalated_to").order_by(
            "-urgent", "internal_due_at", "received_at", "pk"
        )
    )


PREVIEW_CHARS = 160


def with_preview(messages: QuerySet[Message]) -> QuerySet[Message]:
    """A list's messages with the start of each body (`body_start`) instead of the whole body.

    The queue shows one line of each message; reading whole bodies (some are
    pages long) to show one line would make the busiest page the heaviest.
    """
    return messages.defer("body").annotate(body_start=Substr("body", 1, PREVIEW_CHARS))


def urgent_open(queue: str = Queue.NURSING) -> QuerySet[Message]:
    """Urgent messages nobody has taken or answered: what the banner counts.

    A message a nurse has claimed is being worked; counting it would send a
    second nurse looking for a message she cannot take. A claim whose lease
    lapsed counts again, as "take next" takes it again (services._claimable).
    """
    unclaimed = Q(status=MessageStatus.NEW) | Q(
        status=MessageStatus.CLAIMED, lease_expires_at__lt=timezone.now()
    )
    return queue_messages(queue).filter(unclaimed, urgent=True, first_response_at__isnull=True)


def queue_counts(queue: str) -> dict[str, int]:
    """Open, urgent, overdue (unanswered past the internal target) and unclaimed.

    Two queries whose cost does not grow with the event log: the plain
    counts (and the oldest open message), then how many of those past their
    target have a response (answered_since: the responses since the oldest
    open message). "Overdue" is the difference; the first_response_at
    annotation asked of every open message made one probe of the event log
    per message (27,546 probes, 180 ms, at 50,000 open messages).
    """
    now = timezone.now()
    open_messages = Message.objects.filter(queue=queue, status__in=OPEN_STATUSES).order_by()
    counts = open_messages.aggregate(
        open=Count("pk"),
        urgent=Count("pk", filter=Q(urgent=True)),
        past_due=Count("pk", filter=Q(internal_due_at__lt=now)),
        unclaimed=Count("pk", filter=Q(status=MessageStatus.NEW)),
        oldest=Min("sent_at"),
    )
    oldest = counts.pop("oldest")
    past_due = counts.pop("past_due")
    answered = 0
    if past_due:
        answered = (
            open_messages.filter(internal_due_at__lt=now).filter(answered_since(oldest)).count()
        )
    return {**counts, "overdue": past_due - answered}


@dataclass(frozen=True)
class Checkpoint:
    key: str
    messages: list[Message]


def overnight_since(now: datetime | None = None, *, calendar: BusinessCalendar | None = None):
    """When "overnight" began for the morning checkpoint: the previous business day's close.

    The close of the last open day before today, on the business calendar:
    on a Monday, Friday's close (the weekend is overnight); after a holiday
    or a practice closure, the close of the day before it. Wall-clock time in
    the practice's zone, so a daylight-saving change in between moves
    nothing.
    """
    calendar = calendar or BusinessCalendar()
    today = timezone.localtime(now or timezone.now(), calendar.zone).date()
    return calendar.previous_open_day(today).closes


def checkpoint_messages(queue: str, checkpoint: str, *, now: datetime | None = None):
    """The day's three checkpoints (workflows.md).

    morning: what arrived overnight (since the previous business day's
             close), to triage and route;
    noon: routine messages still unanswered, and clinical ones not yet escalated
          or answered;
    end of day: everything still open, overdue first.
    """
    messages = queue_messages(queue)
    if checkpoint == "morning":
        since = overnight_since(now)
        return messages.filter(received_at__gte=since, status=MessageStatus.NEW)
    if checkpoint == "noon":
        return messages.filter(first_response_at__isnull=True).exclude(
            status=MessageStatus.WAITING_PROVIDER
        )
    return messages.order_by("internal_due_at")


def templates_for(category: str) -> QuerySet[ReplyTemplate]:
    return ReplyTemplate.objects.filter(category=category, active=True)


def chart_notes_to_file() -> QuerySet[ChartNote]:
    return ChartNote.objects.filter(exported_at__isnull=True).select_related(
        "message__patient", "written_by"
    )


def outbox_pending(*, limit: int = 500) -> list[OutboxItem]:
    return list(
        OutboxItem.objects.filter(acked_at__isnull=True)
        .select_related("reply__message__patient")
        .order_by("created_at", "pk")[:limit]
    )
