"""The first response to a patient's message: the one definition every messaging view reads.

metrics.md ("Impact", average response time): the message's time is its
first `message_from_patient` event; its **first response** is the earliest
event, at or after the message, of the same patient that names the message
in `reply_to` and is a `message_to_patient` (a portal reply) or a
`response_by_phone` (a call that answered it), patients.rules.RESPONSE_TYPES.
The response time is the first response minus the message, wall clock, and
a message belongs to the month its first response falls in. The dashboard's
rollup (metrics/compute.py) pairs the same events the same way, so the
queue, its checkpoints, the SLA badges and the response-time report all
agree with the dashboard on the same event log:

- the queue and its checkpoints annotate their messages with
  `first_response_at` (`with_first_response`): a message is answered when
  that is set, whoever wrote the response (this application, or the
  portal's own feed);
- the reports read the pairs from the event log (`first_responses_between`,
  `messages_arrived_between`), messages the queue never held included, as
  the dashboard counts them.

"First" is ordered by `occurred_at`, then by row id. Events outside the
event window (patients.selectors.plausible_events) count for nothing, here as
on the dashboard.
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from messaging.models import Message
from patients.models import EventType, ObjectFirsts
from patients.rules import RESPONSE_TYPES
from patients.selectors import (
    FirstResponseRow,
    event_time_in_window,
    first_responses_in,
    object_firsts_of,
    plausible_events,
)
from portal_adoption.db import one_of, value_batches


def _responses_to(*, patient: str, message_object_id: str, message_at: str) -> QuerySet:
    """Response events of the outer row's patient naming its message, at or after it."""
    return (
        plausible_events()
        .filter(
            patient=OuterRef(patient),
            reply_to=OuterRef(message_object_id),
            type__in=RESPONSE_TYPES,
            occurred_at__gte=OuterRef(message_at),
        )
        .exclude(reply_to="")
    )


def _earliest(events: QuerySet, field: str) -> Subquery:
    return Subquery(events.order_by("occurred_at", "pk").values(field)[:1])


def _earlier_than_outer() -> Q:
    """Before the outer event: earlier, or at the same instant with a lower id."""
    return Q(occurred_at__lt=OuterRef("occurred_at")) | Q(
        occurred_at=OuterRef("occurred_at"), pk__lt=OuterRef("pk")
    )


# --- The queue: one message at a time -------------------------------------------------


def with_first_response(messages: QuerySet[Message]) -> QuerySet[Message]:
    """The messages with `first_response_at` (None while unanswered) and
    `first_response_type`.

    The message's time is its `sent_at`: message_receive writes its
    message_from_patient event at that instant.
    """
    responses = _responses_to(
        patient="patient", message_object_id="message_id", message_at="sent_at"
    )
    return messages.annotate(
        first_response_at=_earliest(responses, "occurred_at"),
        first_response_type=_earliest(responses, "type"),
    )


def answered_since(since: dt.datetime) -> Exists:
    """A filter on messages: answered (as with_first_response), by a response at or after `since`.

    For counting over a whole queue: with `since` the oldest open message's
    time, it is exactly "answered" for those messages, and the responses it
    reads are the ones since then (the index on type and time), not every
    response in the log, nor one correlated probe per open message.
    """
    return Exists(
        _responses_to(
            patient="patient", message_object_id="message_id", message_at="sent_at"
        ).filter(occurred_at__gte=since)
    )


def message_first_response_at(message: Message) -> dt.datetime | None:
    """The first response to one message; the annotation when the row carries it."""
    if hasattr(message, "first_response_at"):
        return message.first_response_at
    # The annotation's subquery, asked directly of the one message (a plain indexed
    # query instead of a correlated one: replies stamp it once each).
    if not message.message_id:
        return None
    return (
        plausible_events()
        .filter(
            patient=message.patient_id,
            reply_to=message.message_id,
            type__in=RESPONSE_TYPES,
            occurred_at__gte=message.sent_at,
        )
        .order_by("occurred_at", "pk")
        .values_list("occurred_at", flat=True)
        .first()
    )


# --- The reports: pairs from the event log ----------------------------------------------


@dataclass(frozen=True)
class FirstResponse:
    """One patient message and its first response (None while unanswered)."""

    message_at: dt.datetime
    response_at: dt.datetime | None
    response_type: str | None
    category: str | None  # the queue's category; None for a message the queue never held

    @property
    def by_phone(self) -> bool:
        return self.response_type == EventType.RESPONSE_BY_PHONE

    @property
    def took(self) -> dt.timedelta:
        return self.response_at - self.message_at


def first_responses_between(
    start: dt.datetime, end: dt.datetime, *, read: Iterable[FirstResponseRow] | None = None
) -> Iterator[FirstResponse]:
    """The messages whose first response falls in [start, end), with that response and
    the queue's category: the dashboard's reading (patients.selectors.first_responses_in).

    `read`: those rows as the dashboard's rollup of the month already read them
    (portal_adoption.rollup_hooks.MonthReads), instead of reading them again.
    """
    pairs = list(read if read is not None else first_responses_in(plausible_events(), start, end))
    categories = _queue_categories(pairs)
    for pair in pairs:
        category = categories.get((pair.patient_id, pair.message_object_id))
        yield FirstResponse(pair.message_at, pair.response_at, pair.response_type, category)


def _queue_categories(pairs: list[FirstResponseRow]) -> dict[tuple[int, str], str]:
    """{(patient, message object_id): the queue's category} for the messages the queue
    held: its Message of that portal message id and that patient (message_id is
    unique), by unique index."""
    message_ids = sorted({pair.message_object_id for pair in pairs})
    categories = {}
    for batch in value_batches(message_ids):
        rows = Message.objects.filter(one_of("message_id", batch)).values_list(
            "patient_id", "message_id", "category"
        )
        categories.update(
            ((patient_id, message_id), category) for patient_id, message_id, category in rows
        )
    return categories


def messages_arrived_between(
    start: dt.datetime, end: dt.datetime, *, include_end: bool = True
) -> Iterator[FirstResponse]:
    """The patient messages sent in [start, end] ([start, end) without include_end, as
    the monthly rollup counts), each with its first response, if any.

    A message is its first message_from_patient event (a second event with
    the same object_id is the same message, not another one).
    """
    period = Q(occurred_at__gte=start) & (
        Q(occurred_at__lte=end) if include_end else Q(occurred_at__lt=end)
    )
    # A message with an object_id is one ObjectFirsts row: its first time is in the
    # period. A range of that table, where the log would need, per event, a probe for
    # an earlier event of the same message in every month's partition.
    first_at_period = Q(first_at__gte=start) & (
        Q(first_at__lte=end) if include_end else Q(first_at__lt=end)
    )
    messages = ObjectFirsts.objects.filter(
        event_time_in_window("first_at"), first_at_period, type=EventType.MESSAGE_FROM_PATIENT
    ).values_list("patient_id", "object_id", "first_at")
    first_responses = _first_responses_to_messages_of(start, first_at_period)
    # Read whole (a period's messages): a server-side cursor costs a round trip per
    # chunk, and plans for the first rows.
    for patient_id, object_id, message_at in messages:
        response_at, response_type = first_responses.get((patient_id, object_id), (None, None))
        yield FirstResponse(message_at, response_at, response_type, None)
    # A message without an object_id is each such event with no earlier one (none can
    # name it in reply_to, so it is never answered). Rare: the feed names messages.
    same_message_before = plausible_events().filter(
        _earlier_than_outer(),
        type=EventType.MESSAGE_FROM_PATIENT,
        object_id="",
        patient=OuterRef("patient"),
    )
    unnamed = (
        plausible_events()
        .filter(period, type=EventType.MESSAGE_FROM_PATIENT, object_id="")
        .exclude(Exists(same_message_before))
        .values_list("occurred_at", flat=True)
    )
    # Read whole, not through a server-side cursor: PostgreSQL plans a cursor for its
    # first rows, probing every month's partition per row instead of one hash join.
    for message_at in list(unnamed):
        yield FirstResponse(message_at, None, None, None)


def _first_responses_to_messages_of(
    start: dt.datetime, first_at_period: Q
) -> dict[tuple[int, str], tuple[dt.datetime, str]]:
    """{(patient, message object_id): (time, type) of its first response}, for the
    messages whose first time (ObjectFirsts.first_at) is in the period, which starts
    at `start`.

    Set-based: the responses since `start` (a response is never before its
    message) whose message's first time (ObjectFirsts) is in the period and
    not after the response, ranked per message by (time, id). On the
    partitioned log a probe per message for its earliest response read every
    month's partition from the message's on: 9 s for one month at 10 million
    events, where this reads the responses since the month's start once.
    """
    message_in_period = (
        object_firsts_of(EventType.MESSAGE_FROM_PATIENT, "reply_to")
        .filter(first_at__lte=OuterRef("occurred_at"))
        .filter(first_at_period)
    )
    rank = Window(
        RowNumber(),
        partition_by=[F("patient_id"), F("reply_to")],
        order_by=[F("occurred_at").asc(), F("pk").asc()],
    )
    rows = (
        plausible_events()
        .filter(type__in=RESPONSE_TYPES, occurred_at__gte=start)
        .exclude(reply_to="")
        .filter(Exists(message_in_period))
        .annotate(rank=rank)
        .filter(rank=1)
        .values_list("patient_id", "reply_to", "occurred_at", "type")
    )
    return {
        (patient_id, reply_to): (response_at, response_type)
        for patient_id, reply_to, response_at, response_type in rows
    }
