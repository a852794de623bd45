"""What a valid event looks like, per type (activity-feed.md, "Event types").

The feed importers and the application's own event writes check records with
the same function, so a record refused by one way in is refused by all.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from patients.models import ActivityEvent, AppointmentType, Channel, EventType
from portal_adoption.dates import (
    Window,
    birth_window,
    date_window_error,
    event_window,
    filter_window,
)

ANY_CHANNEL = frozenset(Channel.values)
PORTAL_OR_APP = frozenset({Channel.PORTAL, Channel.APP})


@dataclass(frozen=True)
class TypeRule:
    needs_object_id: bool = False
    channels: frozenset = ANY_CHANNEL
    channel_required: bool = True


TYPE_RULES: dict[str, TypeRule] = {
    EventType.PORTAL_INVITED: TypeRule(),
    EventType.PORTAL_ACTIVATED: TypeRule(
        channels=frozenset({Channel.PORTAL, Channel.APP, Channel.KIOSK, Channel.FRONT_DESK})
    ),
    EventType.LOGIN: TypeRule(channels=PORTAL_OR_APP),
    # front_desk besides app: the clerk who helps install the app at check-in
    # (checklist step 5) records it from the desk, through these same rules;
    # the install is the playbook's first key opportunity and must be counted.
    EventType.APP_INSTALLED: TypeRule(channels=frozenset({Channel.APP, Channel.FRONT_DESK})),
    EventType.MESSAGE_FROM_PATIENT: TypeRule(needs_object_id=True, channels=PORTAL_OR_APP),
    EventType.MESSAGE_TO_PATIENT: TypeRule(
        needs_object_id=True, channels=frozenset({Channel.PORTAL})
    ),
    EventType.APPOINTMENT_BOOKED: TypeRule(needs_object_id=True),
    EventType.RESULT_RELEASED: TypeRule(needs_object_id=True, channel_required=False),
    EventType.RESULT_VIEWED: TypeRule(needs_object_id=True, channels=PORTAL_OR_APP),
    EventType.RESULT_COMMUNICATED: TypeRule(needs_object_id=True),
    EventType.RECORD_VIEWED: TypeRule(channels=PORTAL_OR_APP),
    EventType.PAYMENT: TypeRule(
        needs_object_id=True,
        channels=frozenset(
            {Channel.PORTAL, Channel.APP, Channel.PHONE, Channel.FRONT_DESK, Channel.MAIL}
        ),
    ),
    EventType.PHONE_CALL: TypeRule(channels=frozenset({Channel.PHONE})),
    EventType.RESPONSE_BY_PHONE: TypeRule(
        needs_object_id=True, channels=frozenset({Channel.PHONE})
    ),
    EventType.SURVEY_RESPONSE: TypeRule(needs_object_id=True, channel_required=False),
    # The patient was seen: object_id is the encounter.
    EventType.VISIT_COMPLETED: TypeRule(
        needs_object_id=True, channels=frozenset({Channel.FRONT_DESK, Channel.OTHER})
    ),
    # A billing statement: object_id is the statement, amount the balance (AMOUNT_TYPES).
    EventType.STATEMENT_ISSUED: TypeRule(
        needs_object_id=True, channels=frozenset({Channel.MAIL, Channel.PORTAL, Channel.OTHER})
    ),
}

# An amount must fit its column (12 digits, 2 of them cents): from here on it cannot.
AMOUNT_LIMIT = Decimal(10) ** (
    ActivityEvent._meta.get_field("amount").max_digits
    - ActivityEvent._meta.get_field("amount").decimal_places
)

# The types that carry an amount (required, positive): what was paid, what is due.
AMOUNT_TYPES = frozenset({EventType.PAYMENT, EventType.STATEMENT_ISSUED})
# The one type that carries a due_date (optional).
DUE_DATE_TYPES = frozenset({EventType.STATEMENT_ISSUED})

# The events that answer a patient's message, naming it in reply_to: the first
# of them is the message's first response (metrics.md, "average response time").
RESPONSE_TYPES = frozenset({EventType.MESSAGE_TO_PATIENT, EventType.RESPONSE_BY_PHONE})

# The channels that count as the patient serving themselves (metrics.md).
SELF_SERVICE_CHANNELS = PORTAL_OR_APP


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


# Every date and time a feed record carries, and the window of
# portal_adoption/dates.py it must fall in. The feed's reader looks each date
# field up here (a date field missing here cannot be read at all), and the
# application's own event writes check occurred_at with it too, so CSV, REST,
# FHIR and the application accept exactly the same dates.
DATE_WINDOWS = {
    "birth_date": birth_window,
    "registered_on": event_window,
    "deactivated_on": event_window,
    "occurred_at": event_window,
    # A statement's due date is a day in a plan, ahead or behind: the filter window.
    "due_date": filter_window,
}


def date_field_error(field: str, value: date | datetime) -> FieldError | None:
    """The reason `value` cannot be stored in `field`, or None when it is inside its window."""
    message = date_window_error(value, field=field, window=_window_now(field))
    return FieldError(field, message) if message else None


# A large import checks a million times: each window is worked out once a
# minute (its edges are whole days), from the clock the application reads.
_windows: dict[str, tuple[datetime, datetime, Window]] = {}


def _window_now(field: str) -> Window:
    now = timezone.now()
    cached = _windows.get(field)
    if cached is not None and cached[0] <= now < cached[1]:
        return cached[2]
    start = now.replace(second=0, microsecond=0)
    window = DATE_WINDOWS[field]()
    _windows[field] = (start, start + timedelta(minutes=1), window)
    return window


@dataclass(frozen=True)
class EventData:
    """An event as the feed describes it, before it is stored."""

    event_id: str
    patient_external_id: str
    type: str
    occurred_at: datetime
    channel: str = ""
    object_id: str = ""
    reply_to: str = ""
    amount: Decimal | None = None
    score: int | None = None
    appointment_type: str = ""
    due_date: date | None = None


def event_errors(data: EventData) -> list[FieldError]:
    """Every reason the record cannot be stored, each naming its field and the fix."""
    errors = _identity_errors(data)
    rule = TYPE_RULES.get(data.type)
    if rule is None:
        errors.append(
            FieldError(
                "type",
                _("Unknown event type “%(type)s”: use one of %(types)s.")
                % {"type": data.type, "types": ", ".join(EventType.values)},
            )
        )
        return errors
    errors += _channel_errors(data, rule)
    errors += _detail_errors(data, rule)
    return errors


def _identity_errors(data: EventData) -> list[FieldError]:
    errors = []
    if not data.event_id:
        errors.append(FieldError("event_id", _("event_id is required.")))
    if not data.patient_external_id:
        errors.append(FieldError("patient_external_id", _("patient_external_id is required.")))
    if data.occurred_at is None or data.occurred_at.utcoffset() is None:
        errors.append(
            FieldError(
                "occurred_at",
                _("occurred_at needs a time zone offset, e.g. 2026-01-14T09:05:00-05:00."),
            )
        )
    elif outside := date_field_error("occurred_at", data.occurred_at):
        errors.append(outside)
    return errors


def _channel_errors(data: EventData, rule: TypeRule) -> list[FieldError]:
    allowed = ", ".join(sorted(rule.channels))
    if not data.channel:
        if rule.channel_required:
            return [
                FieldError(
                    "channel",
                    _("channel is required for %(type)s: use one of %(allowed)s.")
                    % {"type": data.type, "allowed": allowed},
                )
            ]
        return []
    if data.channel not in rule.channels:
        return [
            FieldError(
                "channel",
                _("channel “%(channel)s” is not valid for %(type)s: use one of %(allowed)s.")
                % {"channel": data.channel, "type": data.type, "allowed": allowed},
            )
        ]
    return []


def _detail_errors(data: EventData, rule: TypeRule) -> list[FieldError]:
    errors = []
    if rule.needs_object_id and not data.object_id:
        errors.append(
            FieldError(
                "object_id",
                _("object_id is required for %(type)s events.") % {"type": data.type},
            )
        )
    if data.reply_to and data.type not in RESPONSE_TYPES:
        errors.append(
            FieldError(
                "reply_to",
                _("reply_to is only for message_to_patient and response_by_phone events."),
            )
        )
    errors += _appointment_type_errors(data)
    errors += _amount_errors(data)
    errors += _score_errors(data)
    errors += _due_date_errors(data)
    return errors


def _appointment_type_errors(data: EventData) -> list[FieldError]:
    """Optional, on appointment_booked only, and one of the small vocabulary: a value
    we do not know is refused rather than guessed (activity-feed.md)."""
    if not data.appointment_type:
        return []
    if data.type != EventType.APPOINTMENT_BOOKED:
        return [
            FieldError(
                "appointment_type", _("appointment_type is only for appointment_booked events.")
            )
        ]
    if data.appointment_type not in AppointmentType.values:
        return [
            FieldError(
                "appointment_type",
                _(
                    "appointment_type “%(value)s” is not one of %(allowed)s: use one of them, "
                    "or leave it empty when the type is not known."
                )
                % {"value": data.appointment_type, "allowed": ", ".join(AppointmentType.values)},
            )
        ]
    return []


def _amount_errors(data: EventData) -> list[FieldError]:
    if data.type not in AMOUNT_TYPES:
        if data.amount is not None:
            return [
                FieldError("amount", _("amount is only for payment and statement_issued events."))
            ]
        return []
    if data.amount is None:
        return [
            FieldError("amount", _("amount is required for %(type)s events.") % {"type": data.type})
        ]
    if data.amount <= 0:
        return [FieldError("amount", _("amount must be a positive number, e.g. 25.00."))]
    if data.amount >= AMOUNT_LIMIT:
        return [
            FieldError(
                "amount",
                _("amount must be less than %(limit)s.") % {"limit": f"{AMOUNT_LIMIT:,.2f}"},
            )
        ]
    return []


def _score_errors(data: EventData) -> list[FieldError]:
    if data.type != EventType.SURVEY_RESPONSE:
        if data.score is not None:
            return [FieldError("score", _("score is only for survey_response events."))]
        return []
    if data.score is None or not 1 <= data.score <= 5:
        return [FieldError("score", _("score must be a whole number from 1 to 5."))]
    return []


def _due_date_errors(data: EventData) -> list[FieldError]:
    """Optional, on statement_issued only, inside its window (DATE_WINDOWS)."""
    if data.due_date is None:
        return []
    if data.type not in DUE_DATE_TYPES:
        return [
            FieldError(
                "due_date",
                _("due_date is only for statement_issued events: leave it empty for %(type)s.")
                % {"type": data.type},
            )
        ]
    outside = date_field_error("due_date", data.due_date)
    return [outside] if outside else []
