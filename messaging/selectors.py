"""Reads for the triage queue: queues in order, SLA state, the day's checkpoints."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from messaging.models import (
    OPEN_STATUSES,
    ChartNote,
    Message,
    MessageStatus,
    OutboxItem,
    Queue,
    ReplyTemplate,
)
from portal_adoption.roles import (
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
    """On time, due soon (within the hour) or overdue, against the internal target."""
    now = now or timezone.now()
    if message.first_reply_at:
        return Sla.ON_TIME if message.first_reply_at <= message.internal_due_at else Sla.OVERDUE
    if now > message.internal_due_at:
        return Sla.OVERDUE
    return Sla.DUE_SOON if message.internal_due_at - now <= DUE_SOON else Sla.ON_TIME


def queues_for(user) -> list[str]:
    """The team queues this person may work (managers: all)."""
    return [queue for queue, code in QUEUE_PERMISSIONS.items() if user.has_perm(code)]


def may_see(user, message: Message) -> bool:
    """Each team sees its own queue; a provider sees what was escalated to them."""
    if message.queue == Queue.PROVIDER:
        if user.has_perm("messaging.manage_messaging"):
            return True
        provider = getattr(user, "provider", None)
        return provider is not None and message.escalated_to_id == provider.pk
    return user.has_perm(QUEUE_PERMISSIONS[message.queue])


def queue_messages(queue: str, *, provider=None) -> QuerySet[Message]:
    """The open messages of a queue: urgent first, then by internal target."""
    messages = Message.objects.filter(queue=queue, status__in=OPEN_STATUSES)
    if queue == Queue.PROVIDER and provider is not None:
        messages = messages.filter(escalated_to=provider)
    return messages.select_related("patient", "owner", "escalated_to").order_by(
        "-urgent", "internal_due_at", "received_at", "pk"
    )


def urgent_open(queue: str = Queue.NURSING) -> QuerySet[Message]:
    return queue_messages(queue).filter(urgent=True, first_reply_at__isnull=True)


def queue_counts(queue: str) -> dict[str, int]:
    now = timezone.now()
    return queue_messages(queue).aggregate(
        open=Count("pk"),
        urgent=Count("pk", filter=Q(urgent=True)),
        overdue=Count("pk", filter=Q(first_reply_at__isnull=True, internal_due_at__lt=now)),
        unclaimed=Count("pk", filter=Q(status=MessageStatus.NEW)),
    )


@dataclass(frozen=True)
class Checkpoint:
    key: str
    messages: list[Message]


def checkpoint_messages(queue: str, checkpoint: str, *, now: datetime | None = None):
    """The day's three checkpoints (workflows.md).

    morning: what arrived overnight, to triage and route;
    noon: routine messages still unanswered, and clinical ones not yet escalated
          or answered;
    end of day: everything still open, overdue first.
    """
    now = timezone.localtime(now or timezone.now())
    opened = now.replace(hour=0, minute=0, second=0, microsecond=0)
    messages = queue_messages(queue)
    if checkpoint == "morning":
        since = opened - timedelta(hours=7)  # from 17:00 yesterday
        return messages.filter(received_at__gte=since, status=MessageStatus.NEW)
    if checkpoint == "noon":
        return messages.filter(first_reply_at__isnull=True).exclude(
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
