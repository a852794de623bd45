"""The event log: one row per event_id, conflicts reported, nothing ever rewritten."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from patients.models import ActivityEvent, Channel, EventType
from patients.rules import EventData
from patients.services import EventConflict, EventInvalid, event_record
from tests.conftest import requires_postgres
from tests.factories import PatientFactory

EASTERN = dt.timezone(dt.timedelta(hours=-5))
MORNING = dt.datetime(2026, 1, 14, 9, 5, tzinfo=EASTERN)


def payment(patient, **changes):
    fields = {
        "event_id": "pay-1",
        "patient_external_id": patient.external_id,
        "type": EventType.PAYMENT,
        "occurred_at": MORNING,
        "channel": Channel.PORTAL,
        "object_id": "invoice-77",
        "amount": Decimal("45.00"),
    }
    return EventData(**(fields | changes))


def test_recording_an_event_stores_it_once(patient):
    result = event_record(patient=patient, data=payment(patient))
    assert result.created
    stored = ActivityEvent.objects.get()
    assert (stored.type, stored.amount, stored.occurred_at) == ("payment", Decimal("45"), MORNING)


def test_the_same_event_sent_twice_leaves_one_row(patient):
    event_record(patient=patient, data=payment(patient))
    again = event_record(patient=patient, data=payment(patient, amount=Decimal("45")))
    assert not again.created
    assert ActivityEvent.objects.count() == 1


def test_the_same_event_id_with_other_content_is_a_conflict_and_changes_nothing(patient):
    event_record(patient=patient, data=payment(patient))
    with pytest.raises(EventConflict) as conflict:
        event_record(patient=patient, data=payment(patient, amount=Decimal("50.00")))
    assert conflict.value.fields == ["amount"]
    assert ActivityEvent.objects.get().amount == Decimal("45.00")


def test_the_same_event_id_for_another_patient_is_a_conflict(patient):
    other = PatientFactory()
    event_record(patient=patient, data=payment(patient))
    with pytest.raises(EventConflict) as conflict:
        event_record(patient=other, data=payment(other))
    assert "patient_external_id" in conflict.value.fields


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "fax_received"}, "type"),
        ({"occurred_at": dt.datetime(2026, 1, 14, 9, 5)}, "occurred_at"),
        ({"amount": Decimal("-5")}, "amount"),
        ({"amount": None}, "amount"),
        ({"channel": ""}, "channel"),
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"object_id": ""}, "object_id"),
        ({"type": EventType.SURVEY_RESPONSE, "amount": None, "score": 6}, "score"),
        ({"type": EventType.LOGIN, "object_id": "", "amount": None, "reply_to": "m1"}, "reply_to"),
    ],
)
def test_an_invalid_event_is_refused_naming_the_field(patient, changes, field):
    with pytest.raises(EventInvalid) as refused:
        event_record(patient=patient, data=payment(patient, **changes))
    assert field in [error.field for error in refused.value.errors]
    assert not ActivityEvent.objects.exists()


def test_a_reply_names_the_message_it_answers(patient):
    reply = EventData(
        event_id="msg-out-1",
        patient_external_id=patient.external_id,
        type=EventType.MESSAGE_TO_PATIENT,
        occurred_at=MORNING,
        channel=Channel.PORTAL,
        object_id="msg-out-1",
        reply_to="msg-in-1",
    )
    assert event_record(patient=patient, data=reply).event.reply_to == "msg-in-1"


def test_the_database_refuses_to_change_or_delete_an_event(patient):
    event = event_record(patient=patient, data=payment(patient)).event
    with pytest.raises(DatabaseError), transaction.atomic():
        ActivityEvent.objects.filter(pk=event.pk).update(amount=Decimal("1.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        ActivityEvent.objects.filter(pk=event.pk).delete()
    assert ActivityEvent.objects.get().amount == Decimal("45.00")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_eight_writers_sending_the_same_event_at_once_store_one_row():
    patient = PatientFactory()
    data = payment(patient)
    start = threading.Barrier(8)
    outcomes, failures = [], []

    def send():
        try:
            start.wait()
            outcomes.append(event_record(patient=patient, data=data).created)
        except Exception as error:  # collected, asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(outcomes) == [False] * 7 + [True]
    assert ActivityEvent.objects.filter(event_id="pay-1").count() == 1
