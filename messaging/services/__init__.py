"""Writes for the message triage queue. Each change of status leaves a transition row."""

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.models import (
    CHART_NOTE_OUTCOME_MAX_LENGTH,
    QUEUE_FOR_CATEGORY,
    CallLog,
    Category,
    ChartNote,
    ChartNoteOutcome,
    ClassificationSource,
    Communication,
    CommunicationStatus,
    Message,
    MessageStatus,
    MessageTransition,
    OutboxItem,
    OutreachChannel,
    Queue,
    RedFlag,
    Reply,
    ReplyTemplate,
    RoutingRule,
    RoutingSettings,
)
from messaging.selectors.responses import message_first_response_at
from messaging.triage import classify, red_flags_in
from patients.models import ActivityEvent, Channel, EventType, Patient
from patients.rules import EventData
from patients.services import event_record
from portal_adoption.business_calendar import BusinessCalendar

CLAIM_LEASE = timedelta(minutes=30)
MESSAGE_FIELDS_COMPARED = ("patient_id", "subject", "body", "sent_at", "thread_id")
# The message_from_patient event's id is "<type>-<message_id>": the portal's
# id may be only as long as leaves room for the prefix in the event id.
MESSAGE_ID_MAX_LENGTH = ActivityEvent._meta.get_field("event_id").max_length - len(
    f"{EventType.MESSAGE_FROM_PATIENT}-"
)
RED_FLAG_REPLY_JOB = "red_flag_reply"


class MessagingError(ValueError):
    """A request the queue cannot honor; the message says what to do."""


class MessageConflict(MessagingError):
    pass


# --- Arrival ----------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    message_id: str
    patient: Patient
    subject: str
    body: str
    sent_at: datetime
    thread_id: str = ""


@dataclass(frozen=True)
class Routing:
    """What an arrival reads to route a message: the rules, red flags and business hours."""

    default_category: str
    rules: tuple[tuple[str, str], ...]
    red_flags: tuple[str, ...]
    calendar: BusinessCalendar


def routing_load() -> Routing:
    routing = RoutingSettings.objects.get_or_create(pk=1)[0]
    return Routing(
        default_category=routing.default_category,
        rules=tuple(RoutingRule.objects.values_list("category", "phrase")),
        red_flags=tuple(RedFlag.objects.values_list("phrase", flat=True)),
        calendar=BusinessCalendar(),
    )


def message_receive(
    *, inbound: Inbound, now: datetime | None = None, routing: Routing | None = None
) -> tuple[Message, bool]:
    """Store a patient's message once, classified, flagged and in its team's queue.

    1. The portal's message_id is the idempotency key: the same message sent
       again returns the stored one; different content with the same id is
       a conflict and changes nothing.
    2. In one transaction: the message with its category, red flags, queue
       and due times; the message_from_patient event; the first transition;
       for a red flag, the automatic "call 911" reply in the outbox.

    `now` (the moment it arrives) is for the demo's history only; the API leaves it out.
    So is `routing` (routing_load() once for a batch of arrivals); without it each
    message reads the rules as they are when it arrives.
    """
    if len(inbound.message_id) > MESSAGE_ID_MAX_LENGTH:
        raise MessagingError(
            _("message_id may be at most %(max)d characters long.") % {"max": MESSAGE_ID_MAX_LENGTH}
        )
    existing = Message.objects.filter(message_id=inbound.message_id).first()
    if existing:
        return _same_or_conflict(existing, inbound), False
    try:
        with transaction.atomic():
            return _store_inbound(inbound, now or timezone.now(), routing or routing_load()), True
    except IntegrityError:
        existing = Message.objects.filter(message_id=inbound.message_id).first()
        if existing is None:
            raise
        return _same_or_conflict(existing, inbound), False


def _same_or_conflict(existing: Message, inbound: Inbound) -> Message:
    candidate = {
        "patient_id": inbound.patient.pk,
        "subject": inbound.subject,
        "body": inbound.body,
        "sent_at": inbound.sent_at,
        "thread_id": inbound.thread_id,
    }
    differing = [f for f in MESSAGE_FIELDS_COMPARED if getattr(existing, f) != candidate[f]]
    if differing:
        raise MessageConflict(
            _("message_id “%(id)s” is stored already with a different %(fields)s.")
            % {"id": inbound.message_id, "fields": ", ".join(differing)}
        )
    return existing


def _store_inbound(inbound: Inbound, received: datetime, routing: Routing) -> Message:
    text = f"{inbound.subject}\n{inbound.body}"
    found = classify(text, routing.rules, routing.default_category)
    flags = red_flags_in(text, routing.red_flags)
    calendar = routing.calendar
    category = Category.CLINICAL if flags else found.category
    message = Message.objects.create(
        message_id=inbound.message_id,
        patient=inbound.patient,
        thread_id=inbound.thread_id,
        subject=inbound.subject,
        body=inbound.body,
        sent_at=inbound.sent_at,
        received_at=received,
        category=category,
        classified_by=ClassificationSource.RULE if found.by_rule else ClassificationSource.DEFAULT,
        urgent=bool(flags),
        red_flags=flags,
        queue=QUEUE_FOR_CATEGORY[category],
        internal_due_at=calendar.internal_due(received),
        external_due_at=calendar.external_due(received),
    )
    _record_event(message, EventType.MESSAGE_FROM_PATIENT, message.message_id, inbound.sent_at)
    _transition(message, "", MessageStatus.NEW, None, _arrival_note(message), at=received)
    if flags:
        _auto_reply_emergency(message, received)
    return message


def _arrival_note(message: Message) -> str:
    reopened = (
        message.thread_id
        and Message.objects.filter(
            patient=message.patient,
            thread_id=message.thread_id,
            status__in=[MessageStatus.ANSWERED, MessageStatus.CLOSED],
        )
        .exclude(pk=message.pk)
        .exists()
    )
    if reopened:
        return _("Reopened: the patient wrote again in an answered thread.")
    return ""


def _auto_reply_emergency(message: Message, at: datetime) -> None:
    with translation.override(_patient_language(message.patient)):
        body = _(
            "Your message mentions a symptom that may be an emergency. If it is, call 911 "
            "now. A nurse has been alerted and will contact you. For anything urgent, call "
            "us at %(phone)s."
        ) % {"phone": settings.PRACTICE_PHONE}
    reply = Reply.objects.create(message=message, body=body, automatic=True, sent_at=at)
    OutboxItem.objects.create(reply=reply, created_at=at)
    _log_communication(reply, job=RED_FLAG_REPLY_JOB)


def _log_communication(reply: Reply, *, job: str = "") -> Communication:
    """The reply in the patient's communications log, naming the message it answers.

    The row is shown only to whoever may see that message
    (selectors.communications_visible_to), and it does not copy the
    message's subject: that is the patient's clinical text.
    """
    return Communication.objects.create(
        patient=reply.message.patient,
        message=reply.message,
        channel=OutreachChannel.PORTAL,
        status=CommunicationStatus.SENT,
        reason=_("handed to the portal through the outbox"),
        body=reply.body,
        sent_by=reply.sent_by,
        job=job,
        created_at=reply.sent_at,
        not_before=reply.sent_at,
        sent_at=reply.sent_at,
    )


def _patient_language(patient: Patient) -> str:
    language = (patient.preferred_language or "en").split("-")[0].lower()
    return language if language in dict(settings.LANGUAGES) else "en"


def _record_event(
    message: Message,
    event_type: str,
    object_id: str,
    at: datetime,
    *,
    reply_to: str = "",
    channel: str = Channel.PORTAL,
):
    event_record(
        patient=message.patient,
        data=EventData(
            event_id=f"{event_type}-{object_id}",
            patient_external_id=message.patient.external_id,
            type=event_type,
            occurred_at=at,
            channel=channel,
            object_id=object_id,
            reply_to=reply_to,
        ),
    )


def _answered(message: Message, by, note: str = "", *, at: datetime | None = None) -> None:
    """After a response event naming the message: answered, and its first response stamped.

    `first_reply_at` is the first response as metrics.md defines it, read
    back from the event log (selectors.responses), so the stamp is the one the
    dashboard uses even when the portal's feed brought an earlier answer.
    """
    previous = message.status
    message.first_reply_at = message_first_response_at(message)
    message.status = MessageStatus.ANSWERED
    message.owner = message.owner or by
    message.save(update_fields=["first_reply_at", "status", "owner"])
    _transition(message, previous, MessageStatus.ANSWERED, by, note, at=at)


def _transition(
    message: Message,
    from_status: str,
    to_status: str,
    by,
    note: str = "",
    idempotency_key="",
    *,
    at: datetime | None = None,
) -> None:
    MessageTransition.objects.create(
        message=message,
        from_status=from_status,
        to_status=to_status,
        queue=message.queue,
        by=by,
        note=note[:500],
        idempotency_key=idempotency_key,
        at=at or timezone.now(),
    )


# --- Claiming ---------------------------------------------------------------------


def _claimable(queue: str):
    now = timezone.now()
    free = Message.objects.filter(queue=queue, status=MessageStatus.NEW)
    lapsed = Message.objects.filter(
        queue=queue, status=MessageStatus.CLAIMED, lease_expires_at__lt=now
    )
    return (free | lapsed).order_by("-urgent", "internal_due_at", "received_at", "pk")


def message_claim_next(*, queue: str, by, idempotency_key: str = "") -> Message | None:
    """The next message of the queue for this person, or None when it is empty.

    Urgent first, then the earliest internal target. Two people never get
    the same message: on PostgreSQL the row is locked with SKIP LOCKED, so a
    second claimer takes the next one; elsewhere a compare-and-set update
    decides. A claim whose lease lapsed (30 minutes untouched) is free again.

    With the "take next" button's one-time key, a double click claims one
    message, not two: the key is stored on the claim's transition, unique
    per person, and a repeat gets the message the first click claimed. (On
    PostgreSQL the repeat's claim fails on that unique key and is undone
    whole; only then is the first click's transition read.)
    """
    try:
        if connection.vendor == "postgresql":
            return _claim_in_one_statement(queue, by, idempotency_key)
        first = _transition_with_key(by, idempotency_key)
        if first is not None:
            return _claimed_by_the_first_click(first, queue)
        return _claim_with_compare_and_set(queue, by, idempotency_key)
    except IntegrityError:
        first = _transition_with_key(by, idempotency_key)
        if first is None:
            raise
        return _claimed_by_the_first_click(first, queue)


def _claimed_by_the_first_click(first: MessageTransition, queue: str) -> Message:
    if first.to_status != MessageStatus.CLAIMED or first.queue != queue:
        raise MessageConflict(_KEY_USED_FOR_SOMETHING_ELSE)
    return first.message


def _transition_with_key(by, key: str) -> MessageTransition | None:
    if not key:
        return None
    return (
        MessageTransition.objects.filter(by=by, idempotency_key=key)
        .select_related("message")
        .first()
    )


def _columns(model) -> list:
    return list(model._meta.concrete_fields)


_MESSAGE_FIELDS = _columns(Message)
_PATIENT_FIELDS = _columns(Patient)
# Take next on PostgreSQL, in one statement and one round trip (issue 15: five
# before, with BEGIN and COMMIT): lock the first claimable row, skipping rows
# another claimer holds (the order and the filter of _claimable, the partial
# index message_claim_order_idx), mark it claimed, write the claim's transition,
# and answer the message with its patient (whom the view and the API log).
# A statement is atomic: a repeated one-time key fails the INSERT and undoes it all.
_CLAIM_SQL = """
WITH candidate AS (
    SELECT id, status FROM {message}
    WHERE queue = %(queue)s
      AND (status = %(new)s OR (status = %(claimed)s AND lease_expires_at < %(now)s))
    ORDER BY urgent DESC, internal_due_at, received_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE {message} AS m
    SET status = %(claimed)s, owner_id = %(by)s, lease_expires_at = %(lease)s
    FROM candidate WHERE m.id = candidate.id
    RETURNING {returned}, candidate.status AS previous_status
), logged AS (
    INSERT INTO {transition}
        (message_id, from_status, to_status, queue, by_id, at, note, idempotency_key)
    SELECT id, previous_status, %(claimed)s, queue, %(by)s, %(now)s, '', %(key)s FROM taken
)
SELECT {message_columns}, {patient_columns}
FROM taken JOIN {patient} AS p ON p.id = taken.patient_id
"""


def _claim_sql() -> str:
    quote = connection.ops.quote_name
    return _CLAIM_SQL.format(
        message=quote(Message._meta.db_table),
        transition=quote(MessageTransition._meta.db_table),
        patient=quote(Patient._meta.db_table),
        returned=", ".join(f"m.{quote(f.column)}" for f in _MESSAGE_FIELDS),
        message_columns=", ".join(f"taken.{quote(f.column)}" for f in _MESSAGE_FIELDS),
        patient_columns=", ".join(f"p.{quote(f.column)}" for f in _PATIENT_FIELDS),
    )


def _claim_in_one_statement(queue: str, by, key: str) -> Message | None:
    now = timezone.now()
    params = {
        "queue": queue,
        "new": MessageStatus.NEW,
        "claimed": MessageStatus.CLAIMED,
        "now": now,
        "lease": now + CLAIM_LEASE,
        "by": by.pk,
        "key": key,
    }
    # Alone, the statement is its own transaction; inside a caller's, a savepoint
    # keeps a repeated key's failure from spoiling the rest of it.
    wrapper = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with wrapper, connection.cursor() as cursor:
        cursor.execute(_claim_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_MESSAGE_FIELDS)
    message = _loaded(Message, _MESSAGE_FIELDS, row[:split])
    message.patient = _loaded(Patient, _PATIENT_FIELDS, row[split:])
    message.owner = by
    return message


def _loaded(model, fields: list, values) -> object:
    """A model instance from a raw row, its values converted as a queryset would (JSON...)."""
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + column.get_db_converters(
            connection
        ):
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _claim_with_compare_and_set(queue: str, by, key: str) -> Message | None:
    for message in _claimable(queue)[:20]:
        with transaction.atomic():
            taken = Message.objects.filter(
                pk=message.pk, status=message.status, lease_expires_at=message.lease_expires_at
            ).update(status=MessageStatus.CLAIMED)
            if taken:
                return _take(message, by, key)
    return None


def _take(message: Message, by, key: str = "") -> Message:
    previous = message.status
    message.status = MessageStatus.CLAIMED
    message.owner = by
    message.lease_expires_at = timezone.now() + CLAIM_LEASE
    message.save(update_fields=["status", "owner", "lease_expires_at"])
    _transition(message, previous, MessageStatus.CLAIMED, by, idempotency_key=key)
    return message


def message_touch(*, message: Message, by) -> None:
    """The owner is working on it: the lease runs again from now."""
    Message.objects.filter(pk=message.pk, owner=by, status=MessageStatus.CLAIMED).update(
        lease_expires_at=timezone.now() + CLAIM_LEASE
    )


def message_release_lapsed() -> int:
    """Return claims untouched for 30 minutes to their queue (the nightly and hourly sweep)."""
    lapsed = Message.objects.filter(
        status=MessageStatus.CLAIMED, lease_expires_at__lt=timezone.now()
    )
    count = 0
    for message in lapsed:
        released = Message.objects.filter(
            pk=message.pk, status=MessageStatus.CLAIMED, lease_expires_at__lt=timezone.now()
        ).update(status=MessageStatus.NEW, owner=None, lease_expires_at=None)
        if released:
            _transition(message, MessageStatus.CLAIMED, MessageStatus.NEW, None, _("Claim lapsed."))
            count += 1
    return count


# --- Working a message --------------------------------------------------------------


def _require_open(message: Message) -> None:
    # An answered message can still get a second reply, a call or a new route.
    if message.status == MessageStatus.CLOSED:
        raise MessagingError(_("This message is closed already."))


def template_render(template: ReplyTemplate, *, message: Message, by) -> str:
    values = {
        "first_name": message.patient.given_name,
        "practice_phone": settings.PRACTICE_PHONE,
        "staff_name": by.get_full_name() or by.get_username(),
    }
    text = template.body
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def message_reply(
    *,
    message: Message,
    body: str,
    by,
    template: ReplyTemplate | None = None,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> Reply:
    """Send a reply: stored, put in the outbox, logged as message_to_patient and in
    the patient's communications log.

    The first reply stamps the response time. With an idempotency key (the
    reply form's one-time key, the API's Idempotency-Key header) the reply is
    sent at most once: a repeat returns the first reply.
    """
    return _at_most_once(
        message,
        lambda locked: _reply(locked, body, by, template, idempotency_key, now or timezone.now()),
        lambda: Reply.objects.filter(sent_by=by, idempotency_key=idempotency_key).first(),
        key=idempotency_key,
        same=lambda first: first.message_id == message.pk and first.body == body.strip(),
    )


def _at_most_once(message: Message, write, find_first, *, key: str, same, present=None):
    """Run `write(locked message)` once per one-time key; a repeat gets the first result.

    `find_first` finds the row this person stored with the key before, if
    any; `same` says whether it is this very request again (else: the key
    was used for something else, a conflict); `present` turns that row into
    what `write` returns.

    The usual repeat (a double click, a retried request) finds the first row
    under the message's row lock. The unique constraint on the key holds "at
    most once" for the rest (the same key on two messages at one instant):
    the loser's savepoint rolls back and it gets the first result too.
    """
    try:
        with transaction.atomic():
            locked = _locked(message)
            first = find_first() if key else None
            if first is None:
                return write(locked)
    except IntegrityError:
        first = find_first() if key else None
        if first is None:
            raise
    if not same(first):
        raise MessageConflict(_KEY_USED_FOR_SOMETHING_ELSE)
    return present(first) if present else first


_KEY_USED_FOR_SOMETHING_ELSE = gettext_lazy(
    "This form was sent already, with other content. Open the page again to send something "
    "new (through the API: use a new Idempotency-Key)."
)


def _locked(message: Message) -> Message:
    rows = Message.objects.select_for_update(of=("self",)).select_related("patient")
    return rows.get(pk=message.pk)


def _reply(message: Message, body: str, by, template, key: str, now: datetime) -> Reply:
    _require_open(message)
    if not body.strip():
        raise MessagingError(_("Write the reply, or choose a template."))
    reply = Reply.objects.create(
        message=message,
        body=body.strip(),
        template=template,
        sent_by=by,
        idempotency_key=key,
        sent_at=now,
    )
    OutboxItem.objects.create(reply=reply, created_at=now)
    # The communications log holds what people send too, not only the workers.
    _log_communication(reply)
    _record_event(
        message,
        EventType.MESSAGE_TO_PATIENT,
        f"reply-{reply.pk}",
        reply.sent_at,
        reply_to=message.message_id,
    )
    _answered(message, by, at=now)
    return reply


def message_log_call(
    *,
    message: Message,
    summary: str,
    by,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> CallLog:
    """A phone call instead of a portal reply (the patient prefers the phone).

    The call answers the message: it becomes a response_by_phone event
    naming the message (reply_to), so a call is a response on the dashboard
    as in the queue and the reports (metrics.md, the first response). Logged
    at most once per one-time key (the form's), like a reply; the event's id
    is the call's, so the call and its event are written once, together.
    """
    return _at_most_once(
        message,
        lambda locked: _log_call(locked, summary, by, idempotency_key, now or timezone.now()),
        lambda: CallLog.objects.filter(called_by=by, idempotency_key=idempotency_key).first(),
        key=idempotency_key,
        same=lambda first: first.message_id == message.pk and first.summary == summary.strip(),
    )


def _log_call(message: Message, summary: str, by, key: str, now: datetime) -> CallLog:
    _require_open(message)
    if not summary.strip():
        raise MessagingError(_("Write what was said on the call."))
    call = CallLog.objects.create(
        message=message,
        summary=summary.strip(),
        called_by=by,
        idempotency_key=key,
        called_at=now,
    )
    _record_event(
        message,
        EventType.RESPONSE_BY_PHONE,
        f"call-{call.pk}",
        call.called_at,
        reply_to=message.message_id,
        channel=Channel.PHONE,
    )
    _answered(message, by, _("Answered by phone."), at=now)
    return call


def message_changed_with_key(*, by, idempotency_key: str, to_status: str) -> Message | None:
    """The message this person moved to `to_status` with this one-time key, if they did.

    The page asks before it checks who may see the message: the first click
    of a double click may have sent it out of this person's sight.
    """
    first = _transition_with_key(by, idempotency_key)
    if first is None or first.to_status != to_status:
        return None
    return first.message


def message_escalate(
    *, message: Message, note: str, by, idempotency_key: str = "", now: datetime | None = None
) -> Message:
    """To the patient's own provider: it leaves the queue for their task list.

    Escalating what already waits for that provider changes nothing (two
    nurses at once). The form's one-time key, stored on the transition, lets
    a double click's second request find that the first one did it.
    """
    return _at_most_once(
        message,
        lambda locked: _escalate(locked, note, by, idempotency_key, now),
        lambda: _transition_with_key(by, idempotency_key),
        key=idempotency_key,
        same=lambda first: (
            first.to_status == MessageStatus.WAITING_PROVIDER and first.message_id == message.pk
        ),
        present=lambda first: first.message,
    )


def _escalate(message: Message, note: str, by, key: str, now: datetime | None) -> Message:
    _require_open(message)
    if not note.strip():
        raise MessagingError(_("Write a note for the provider: what you need from them."))
    provider = message.patient.primary_provider
    if provider is None:
        raise MessagingError(
            _("This patient has no primary provider on the roster: re-route it instead.")
        )
    if message.queue == Queue.PROVIDER and message.escalated_to_id == provider.pk:
        return message
    previous = message.status
    message.escalated_to = provider
    message.queue = Queue.PROVIDER
    message.status = MessageStatus.WAITING_PROVIDER
    message.owner = None
    message.lease_expires_at = None
    message.save(update_fields=["escalated_to", "queue", "status", "owner", "lease_expires_at"])
    _transition(message, previous, MessageStatus.WAITING_PROVIDER, by, note, key, at=now)
    return message


def message_reroute(
    *, message: Message, queue: str, note: str, by, idempotency_key: str = ""
) -> Message:
    """To another team's queue (and that team's category), with the reason.

    Once per one-time key (the form's), like an escalation.
    """
    queue = Queue(queue)
    return _at_most_once(
        message,
        lambda locked: _reroute(locked, queue, note, by, idempotency_key),
        lambda: _transition_with_key(by, idempotency_key),
        key=idempotency_key,
        same=lambda first: (
            first.to_status == MessageStatus.NEW
            and first.message_id == message.pk
            and first.queue == queue
        ),
        present=lambda first: first.message,
    )


def _reroute(message: Message, queue: Queue, note: str, by, key: str) -> Message:
    _require_open(message)
    if queue == Queue.PROVIDER:
        raise MessagingError(_("To send it to the provider, escalate it."))
    if not note.strip():
        raise MessagingError(_("Write why it goes to another team."))
    categories = {q: c for c, q in QUEUE_FOR_CATEGORY.items()}
    previous = message.status
    message.queue = queue
    message.category = categories[queue]
    message.classified_by = ClassificationSource.PERSON
    message.status = MessageStatus.NEW
    message.owner = None
    message.lease_expires_at = None
    message.save(
        update_fields=["queue", "category", "classified_by", "status", "owner", "lease_expires_at"]
    )
    _transition(message, previous, MessageStatus.NEW, by, note, key)
    return message


def chart_note_draft(message: Message) -> str:
    """A first draft for the chart, from the question and the answer; the nurse edits it.

    Only what was said: the question, the reply, the call. It states no
    outcome ("patient understood" on a chest-pain message is an invention):
    the nurse chooses one when she closes (message_close_with_outcome).
    """
    with translation.override(settings.LANGUAGE_CODE):
        question = _first_sentence(message.body or message.subject)
        parts = [_("Patient asked via the portal about: %(q)s") % {"q": question}]
        last_reply = message.replies.filter(automatic=False).order_by("-sent_at").first()
        last_call = message.calls.order_by("-called_at").first()
        if last_reply:
            parts.append(_("replied: %(a)s") % {"a": _first_sentence(last_reply.body)})
        if last_call:
            parts.append(_("called the patient: %(a)s") % {"a": _first_sentence(last_call.summary)})
        return "; ".join(parts) + "."


def chart_note_outcome_words(*, outcome: str, typed: str = "") -> str:
    """The outcome as the chart says it: the chosen phrase, her own words, or both.

    A phrase is written in the practice's language, as the draft is, and
    words she typed beside a phrase follow it rather than being dropped.
    Empty: no outcome.
    """
    typed = " ".join(typed.split())
    if len(typed) > CHART_NOTE_OUTCOME_MAX_LENGTH:
        raise MessagingError(
            _("Keep the outcome to %(max)d characters.") % {"max": CHART_NOTE_OUTCOME_MAX_LENGTH}
        )
    if outcome in ("", ChartNoteOutcome.OTHER):
        if outcome == ChartNoteOutcome.OTHER and not typed:
            raise MessagingError(_("Type the outcome in your own words, or choose a phrase."))
        return typed
    if outcome not in ChartNoteOutcome.values:
        raise MessagingError(_("Choose one of the outcomes listed, or type your own."))
    with translation.override(settings.LANGUAGE_CODE):
        phrase = str(ChartNoteOutcome(outcome).label)
    return f"{phrase}; {typed.rstrip('.')}" if typed else phrase


def chart_note_with_outcome(note: str, outcome_words: str) -> str:
    """The nurse's note, then the outcome she gave: "...; replied: ...; <outcome>."."""
    note = note.strip()
    if not outcome_words:
        return note
    return f"{note.rstrip('.;, ')}; {outcome_words.rstrip('.')}."


def message_close_with_outcome(
    *,
    message: Message,
    by,
    note: str,
    outcome: str,
    outcome_typed: str = "",
    now: datetime | None = None,
) -> Message:
    """Close from the message page: the note she read and edited, and the outcome she gave.

    1. The outcome is one of ChartNoteOutcome's phrases, or her own words.
    2. A message that needs a chart note (clinical, or bearing on care) and
       has none needs an outcome too: the application asserts none for her.
    3. The note written is her text, then the outcome; message_close keeps
       the rest of the rules (a needed note, closed once).
    """
    words = chart_note_outcome_words(outcome=outcome, typed=outcome_typed)
    writes_note = note.strip() and not ChartNote.objects.filter(message=message).exists()
    if writes_note and _needs_chart_note(message) and not words:
        raise MessagingError(
            _(
                "Choose how it ended (or type it) before closing: the chart note says only "
                "what was said."
            )
        )
    chart_note = chart_note_with_outcome(note, words) if note.strip() else ""
    return message_close(message=message, by=by, chart_note=chart_note, now=now)


def _first_sentence(text: str, limit: int = 160) -> str:
    first = text.strip().split("\n")[0]
    first = first.split(". ")[0].strip().rstrip(".")
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _needs_chart_note(message: Message) -> bool:
    # Clinical messages always; scheduling (administrative) only when it bears on care.
    if message.category == Category.CLINICAL:
        return True
    return message.category == Category.ADMINISTRATIVE and message.care_related


@transaction.atomic
def message_close(
    *, message: Message, by, chart_note: str = "", now: datetime | None = None
) -> Message:
    """Close a message. A clinical one needs its chart note first (workflows.md)."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status == MessageStatus.CLOSED:
        return message
    now = now or timezone.now()
    has_note = ChartNote.objects.filter(message=message).exists()
    if chart_note.strip() and not has_note:
        ChartNote.objects.create(
            message=message, text=chart_note.strip(), written_by=by, written_at=now
        )
        has_note = True
    if _needs_chart_note(message) and not has_note:
        raise MessagingError(
            _(
                "Write the chart note before closing: a clinical question and its answer "
                "always go in the chart."
            )
        )
    previous = message.status
    message.status = MessageStatus.CLOSED
    message.closed_at = now
    message.save(update_fields=["status", "closed_at"])
    _transition(message, previous, MessageStatus.CLOSED, by, at=now)
    return message


def message_set_care_related(*, message: Message, care_related: bool) -> None:
    Message.objects.filter(pk=message.pk).update(care_related=care_related)


def message_reclassify(*, message: Message, category: str, by, idempotency_key: str = ""):
    """A person corrects the category; the message moves to that team's queue."""
    category = Category(category)
    return message_reroute(
        message=message,
        queue=QUEUE_FOR_CATEGORY[category],
        note=_("Re-classified as %(category)s.") % {"category": category.label},
        by=by,
        idempotency_key=idempotency_key,
    )


def chart_notes_mark_exported(*, note_ids: list[int]) -> int:
    return ChartNote.objects.filter(pk__in=note_ids, exported_at__isnull=True).update(
        exported_at=timezone.now()
    )


def outbox_ack(*, item: OutboxItem, now: datetime | None = None) -> bool:
    """The portal has taken the reply; acknowledging twice is harmless."""
    return bool(
        OutboxItem.objects.filter(pk=item.pk, acked_at__isnull=True).update(
            acked_at=now or timezone.now()
        )
    )
