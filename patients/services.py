"""Writes to the roster and the event log."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patients.models import ActivityEvent, EventSource, Patient
from patients.rules import EventData, FieldError, event_errors

# The fields that make two events with one event_id "the same event".
EVENT_CONTENT_FIELDS = (
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


class EventInvalid(ValueError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class EventConflict(ValueError):
    """The event_id is stored already, with different content."""

    def __init__(self, event_id: str, fields: list[str]):
        self.event_id = event_id
        self.fields = fields
        super().__init__(f"event_id {event_id} is stored with different {', '.join(fields)}")


@dataclass(frozen=True)
class EventRecordResult:
    event: ActivityEvent
    created: bool


def event_record(
    *, patient: Patient, data: EventData, source: str = EventSource.APPLICATION
) -> EventRecordResult:
    """Store one event, at most once per event_id.

    1. Refuse invalid data with every reason (EventInvalid).
    2. Insert in a savepoint; the unique event_id decides races between writers.
    3. If the id was stored already, the same content is a harmless repeat
       (created=False) and different content is a conflict (EventConflict):
       the stored event is never changed.
    """
    errors = event_errors(data)
    if data.patient_external_id and data.patient_external_id != patient.external_id:
        errors.append(
            FieldError("patient_external_id", _("does not match the patient the event is for."))
        )
    if errors:
        raise EventInvalid(errors)
    candidate = ActivityEvent(
        event_id=data.event_id,
        patient=patient,
        type=data.type,
        occurred_at=data.occurred_at,
        channel=data.channel,
        object_id=data.object_id,
        reply_to=data.reply_to,
        appointment_type=data.appointment_type,
        amount=data.amount,
        score=data.score,
        due_date=data.due_date,
        source=source,
    )
    try:
        with transaction.atomic():
            candidate.save(force_insert=True)
        return EventRecordResult(event=candidate, created=True)
    except IntegrityError:
        stored = ActivityEvent.objects.filter(event_id=data.event_id).first()
        if stored is None:  # the insert failed for another reason
            raise
    differing = event_differences(stored, candidate)
    if differing:
        raise EventConflict(data.event_id, differing)
    return EventRecordResult(event=stored, created=False)


def event_differences(stored: ActivityEvent, candidate: ActivityEvent) -> list[str]:
    """The names of the fields in which two events with one event_id differ."""
    differing = [
        name for name in EVENT_CONTENT_FIELDS if getattr(stored, name) != getattr(candidate, name)
    ]
    if stored.patient_id != candidate.patient_id:
        differing.insert(0, "patient_external_id")
    return differing


def patient_contact_update(
    *, patient: Patient, email: str, mobile_phone: str, notification_channel: str = ""
) -> list[str]:
    """Store contact details collected from the patient; returns the fields changed.

    The values must already be checked (portal_adoption.contact). The feed
    does not carry the notification channel, so later imports keep it.
    """
    changes = {"email": email, "mobile_phone": mobile_phone}
    if notification_channel:
        changes["notification_channel"] = notification_channel
    changed = [name for name, value in changes.items() if getattr(patient, name) != value]
    for name in changed:
        setattr(patient, name, changes[name])
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
    return changed


def patient_set_phone_preference(*, patient: Patient, prefers_phone: bool) -> None:
    """Whether the patient wants clinical matters by phone rather than a portal reply."""
    Patient.objects.filter(pk=patient.pk).update(
        prefers_phone_for_clinical=prefers_phone, updated_at=timezone.now()
    )
    patient.prefers_phone_for_clinical = prefers_phone
