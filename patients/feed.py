"""Reading feed records (activity-feed.md): one parser for CSV rows and JSON records.

A record arrives as a mapping of field names to values: strings from a CSV
row, strings or numbers from JSON. Each parser returns the typed record, or
every reason it cannot be stored, each naming the field and the fix.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from patients.models import AppointmentType, EventType
from patients.rules import (
    AMOUNT_LIMIT,
    AMOUNT_TYPES,
    DUE_DATE_TYPES,
    RESPONSE_TYPES,
    TYPE_RULES,
    EventData,
    FieldError,
    date_field_error,
    event_errors,
)
from portal_adoption.contact import ContactInvalid, email_normalized, phone_to_e164

PATIENT_FIELDS = (
    "external_id",
    "given_name",
    "family_name",
    "birth_date",
    "email",
    "mobile_phone",
    "preferred_language",
    "location",
    "primary_provider",
    "registered_on",
    "deactivated_on",
)
PATIENT_REQUIRED = ("external_id", "given_name", "family_name", "birth_date", "registered_on")
EVENT_FIELDS = (
    "event_id",
    "patient_external_id",
    "type",
    "occurred_at",
    "channel",
    "object_id",
    "reply_to",
    "appointment_type",
    "amount",
    "score",
    "due_date",
)
EVENT_REQUIRED = ("event_id", "patient_external_id", "type", "occurred_at")

# Column sizes of the tables the records go to: longer values are refused,
# never cut short.
MAX_LENGTHS = {
    "external_id": 64,
    "given_name": 100,
    "family_name": 100,
    "email": 254,
    "preferred_language": 35,
    "location": 32,
    "primary_provider": 32,
    "event_id": 128,
    "patient_external_id": 64,
    "object_id": 128,
    "reply_to": 128,
    "appointment_type": 16,
}
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# What no database column (and no UTF-8 page) can hold: a NUL, a lone
# surrogate (JSON's "\ud800", or a CSV byte that is not UTF-8, read as one).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable_text(text: str) -> str:
    """`text` with what cannot be stored or shown replaced by U+FFFD, to quote it safely."""
    return UNSTORABLE.sub(REPLACEMENT, text)


def storable_value(value: Any) -> Any:
    """A JSON value with every string in it made storable (keys included)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable_value(item) for item in value]
    return value


@dataclass(frozen=True)
class PatientRecord:
    external_id: str
    given_name: str
    family_name: str
    birth_date: date
    registered_on: date
    email: str = ""
    mobile_phone: str = ""
    preferred_language: str = "en"
    location: str = ""
    primary_provider: str = ""
    deactivated_on: date | None = None


class _Reader:
    """Collects the errors of one record while its fields are read."""

    def __init__(self, raw: dict[str, Any], known: tuple[str, ...]):
        self.raw = raw
        self.errors: list[FieldError] = []
        for name in raw:
            if name not in known:
                self.fail(
                    name,
                    _("unknown field “%(name)s”: the fields are %(known)s.")
                    % {"name": name, "known": ", ".join(known)},
                )

    def fail(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def text(self, field: str, *, required: bool = False) -> str:
        value = self.raw.get(field)
        if value is None:
            value = ""
        if not isinstance(value, str):
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(field, _("%(field)s must be text.") % {"field": field})
                return ""
            value = str(value)
        value = value.strip()
        if UNSTORABLE.search(value):
            self.fail(
                field,
                _(
                    "%(field)s holds a character that cannot be stored (a NUL byte, a lone "
                    "surrogate, or bytes that are not UTF-8 text): remove it and send the "
                    "record again."
                )
                % {"field": field},
            )
            return ""
        if required and not value:
            self.fail(field, _("%(field)s is required.") % {"field": field})
        limit = MAX_LENGTHS.get(field)
        if limit and len(value) > limit:
            self.fail(
                field,
                _("%(field)s is longer than %(limit)d characters.")
                % {"field": field, "limit": limit},
            )
        return value

    def date(self, field: str, *, required: bool = False) -> date | None:
        value = self.text(field, required=required)
        if not value:
            return None
        try:
            if not DATE_FORMAT.match(value):
                raise ValueError
            day = date.fromisoformat(value)
        except ValueError:
            self.fail(
                field,
                _("%(field)s “%(value)s” is not a date: write it YYYY-MM-DD.")
                % {"field": field, "value": value},
            )
            return None
        return self._in_window(field, day)

    def _in_window(self, field: str, value: "date | datetime") -> "date | datetime | None":
        outside = date_field_error(field, value)
        if outside:
            self.errors.append(outside)
            return None
        return value

    def moment(self, field: str) -> datetime | None:
        value = self.text(field, required=True)
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(
                field,
                _("%(field)s “%(value)s” is not a time: write it like 2026-01-14T09:05:00-05:00.")
                % {"field": field, "value": value},
            )
            return None
        if moment.utcoffset() is None:
            self.fail(
                field,
                _("%(field)s “%(value)s” has no time zone offset: add one, e.g. -05:00 or Z.")
                % {"field": field, "value": value},
            )
            return None
        return self._in_window(field, moment)

    def decimal(self, field: str) -> Decimal | None:
        value = self.raw.get(field)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(field, _("%(field)s must be a number.") % {"field": field})
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number.as_tuple().exponent < -2:
            self.fail(
                field,
                _("%(field)s “%(value)s” is not an amount: write it like 25.00.")
                % {"field": field, "value": value},
            )
            return None
        return number

    def whole_number(self, field: str) -> int | None:
        value = self.raw.get(field)
        if value is None or value == "":
            return None
        text = str(value).strip() if not isinstance(value, bool) else "?"
        if not re.fullmatch(r"-?\d+", text):
            self.fail(
                field,
                _("%(field)s “%(value)s” is not a whole number.")
                % {"field": field, "value": value},
            )
            return None
        return int(text)


def parse_patient(raw: dict[str, Any]) -> tuple[PatientRecord | None, list[FieldError]]:
    reader = _Reader(raw, PATIENT_FIELDS)
    values = {
        name: reader.text(name, required=True)
        for name in ("external_id", "given_name", "family_name")
    }
    values["birth_date"] = reader.date("birth_date", required=True)
    values["registered_on"] = reader.date("registered_on", required=True)
    values["deactivated_on"] = reader.date("deactivated_on")
    values["email"] = _email(reader)
    values["mobile_phone"] = _mobile(reader)
    values["preferred_language"] = _language(reader)
    values["location"] = reader.text("location")
    values["primary_provider"] = reader.text("primary_provider")
    _check_dates(reader, values)
    if reader.errors:
        return None, reader.errors
    return PatientRecord(**values), []


def _email(reader: _Reader) -> str:
    value = reader.text("email")
    if not value:
        return ""
    try:
        return email_normalized(value)
    except ContactInvalid:
        reader.fail("email", _("email “%(value)s” is not an email address.") % {"value": value})
        return ""


def _mobile(reader: _Reader) -> str:
    value = reader.text("mobile_phone")
    if not value:
        return ""
    try:
        return phone_to_e164(value)
    except ContactInvalid:
        reader.fail(
            "mobile_phone",
            _(
                "mobile_phone “%(value)s” is not a valid phone number: write it with its "
                "country code, e.g. +12025550143."
            )
            % {"value": value},
        )
        return ""


def _language(reader: _Reader) -> str:
    value = reader.text("preferred_language") or "en"
    if not LANGUAGE_TAG.match(value):
        reader.fail(
            "preferred_language",
            _("preferred_language “%(value)s” is not a language tag: use e.g. en, es or pt-BR.")
            % {"value": value},
        )
    return value.lower() if "-" not in value else value


def _check_dates(reader: _Reader, values: dict) -> None:
    born, joined, left = values["birth_date"], values["registered_on"], values["deactivated_on"]
    if born and joined and joined < born:
        reader.fail("registered_on", _("registered_on is before birth_date."))
    if joined and left and left < joined:
        reader.fail("deactivated_on", _("deactivated_on is before registered_on."))


def parse_event(raw: dict[str, Any]) -> tuple[EventData | None, list[FieldError]]:
    data = _usual_event(raw)
    if data is not None:
        return data, []
    return _read_event(raw)


_EVENT_FIELD_SET = frozenset(EVENT_FIELDS)
_WHOLE_NUMBER = re.compile(r"-?\d+")
_EVENT_ID_MAX = MAX_LENGTHS["event_id"]
_PATIENT_ID_MAX = MAX_LENGTHS["patient_external_id"]
_OBJECT_ID_MAX = MAX_LENGTHS["object_id"]
_REPLY_TO_MAX = MAX_LENGTHS["reply_to"]
_APPOINTMENT_TYPES = frozenset(AppointmentType.values)


def _usual_event(raw: dict[str, Any]) -> EventData | None:
    """The event of a valid record of text values, read without wording any message.

    The speed of a large import: this takes the common case only, and answers
    exactly what _read_event would. Anything else, a problem or a value that
    is not text (a JSON number), gives None and goes through _read_event,
    which finds and words every problem.
    """
    if not _EVENT_FIELD_SET.issuperset(raw):
        return None
    get = raw.get
    event_id, patient, kind, occurred = (
        get("event_id"),
        get("patient_external_id"),
        get("type"),
        get("occurred_at"),
    )
    if not (type(event_id) is type(patient) is type(kind) is type(occurred) is str):
        return None
    channel, object_id, reply_to = get("channel", ""), get("object_id", ""), get("reply_to", "")
    appointment_type = get("appointment_type", "")
    if not (type(channel) is type(object_id) is type(reply_to) is type(appointment_type) is str):
        return None  # None included: _read_event reads it as empty
    event_id, patient, kind, occurred = (
        event_id.strip(),
        patient.strip(),
        kind.strip(),
        occurred.strip(),
    )
    channel, object_id, reply_to = channel.strip(), object_id.strip(), reply_to.strip()
    appointment_type = appointment_type.strip()
    if UNSTORABLE.search(
        f"{event_id}{patient}{kind}{occurred}{channel}{object_id}{reply_to}{appointment_type}"
    ):
        return None
    if (
        not (event_id and patient and occurred)
        or len(event_id) > _EVENT_ID_MAX
        or len(patient) > _PATIENT_ID_MAX
        or len(object_id) > _OBJECT_ID_MAX
        or len(reply_to) > _REPLY_TO_MAX
    ):
        return None
    rule = TYPE_RULES.get(kind)
    if rule is None:
        return None
    if channel:
        if channel not in rule.channels:
            return None
    elif rule.channel_required:
        return None
    if (rule.needs_object_id and not object_id) or (reply_to and kind not in RESPONSE_TYPES):
        return None
    if appointment_type and (
        kind != EventType.APPOINTMENT_BOOKED or appointment_type not in _APPOINTMENT_TYPES
    ):
        return None
    try:
        moment = datetime.fromisoformat(occurred)
    except ValueError:
        return None
    if moment.utcoffset() is None or date_field_error("occurred_at", moment):
        return None
    amount = get("amount")
    if amount is None or amount == "":
        if kind in AMOUNT_TYPES:
            return None
        amount = None
    elif type(amount) is str and kind in AMOUNT_TYPES:
        try:
            amount = Decimal(amount.strip())
        except InvalidOperation:
            return None
        if (
            not amount.is_finite()
            or amount.as_tuple().exponent < -2
            or amount <= 0
            or amount >= AMOUNT_LIMIT
        ):
            return None
    else:
        return None
    score = get("score")
    if score is None or score == "":
        if kind == EventType.SURVEY_RESPONSE:
            return None
        score = None
    elif type(score) is str and kind == EventType.SURVEY_RESPONSE:
        score = score.strip()
        if not _WHOLE_NUMBER.fullmatch(score):
            return None
        score = int(score)
        if not 1 <= score <= 5:
            return None
    else:
        return None
    due_date = get("due_date")
    if due_date is None or due_date == "":
        due_date = None
    elif type(due_date) is str and kind in DUE_DATE_TYPES:
        due_date = due_date.strip()
        if not DATE_FORMAT.match(due_date):
            return None
        try:
            due_date = date.fromisoformat(due_date)
        except ValueError:
            return None
        if date_field_error("due_date", due_date):
            return None
    else:
        return None
    return EventData(
        event_id=event_id,
        patient_external_id=patient,
        type=kind,
        occurred_at=moment,
        channel=channel,
        object_id=object_id,
        reply_to=reply_to,
        amount=amount,
        score=score,
        appointment_type=appointment_type,
        due_date=due_date,
    )


def _read_event(raw: dict[str, Any]) -> tuple[EventData | None, list[FieldError]]:
    reader = _Reader(raw, EVENT_FIELDS)
    data = EventData(
        event_id=reader.text("event_id", required=True),
        patient_external_id=reader.text("patient_external_id", required=True),
        type=reader.text("type", required=True),
        occurred_at=reader.moment("occurred_at"),
        channel=reader.text("channel"),
        object_id=reader.text("object_id"),
        reply_to=reader.text("reply_to"),
        amount=reader.decimal("amount"),
        score=reader.whole_number("score"),
        appointment_type=reader.text("appointment_type"),
        due_date=reader.date("due_date"),
    )
    # The type's own rules, for every field not already refused while reading.
    reported = {error.field for error in reader.errors}
    errors = reader.errors + [e for e in event_errors(data) if e.field not in reported]
    if errors:
        return None, errors
    return data, []
