"""The feed's rules at their edges (activity-feed.md), through each way an event comes in.

An amount is positive: 0 is refused, 0.01 stored. A score is 1 to 5: 0 and 6 are
refused, 1 and 5 stored. An event_id is stored once: the same id for another
patient is a conflict, and the stored event stays as it was. Each rule is
pinned for a single event (event_record, as the application writes) and for
batches (a CSV file, the REST bulk API, a FHIR Bundle).
"""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from patients import rules
from patients.models import ActivityEvent, EventType
from patients.rules import EventData
from patients.services import EventConflict, EventInvalid, event_record
from tests.factories import PatientFactory
from tests.patients.feed_ways import WAYS, error_fields, good_statement, send_events

BATCH_WAYS = ("csv", "rest")  # FHIR carries no survey score


@pytest.fixture
def rosa(db):
    return PatientFactory(external_id="MRN-7", given_name="Rosa", family_name="Delgado")


@pytest.fixture
def hugo(db):
    return PatientFactory(external_id="MRN-8", given_name="Hugo", family_name="Reyes")


def sent(patient, event_id: str, event_type: str, **fields) -> EventData:
    """One event of `patient`, as the application hands it to event_record."""
    return EventData(
        event_id=event_id,
        patient_external_id=patient.external_id,
        type=event_type,
        occurred_at=dt.datetime(2026, 1, 14, 14, 5, tzinfo=dt.UTC),
        **fields,
    )


def payment(patient, amount: str) -> EventData:
    return sent(
        patient,
        f"pay-{amount}",
        EventType.PAYMENT,
        channel="portal",
        object_id="st-1",
        amount=Decimal(amount),
    )


def survey(patient, score: int) -> EventData:
    return sent(
        patient,
        f"survey-{score}",
        EventType.SURVEY_RESPONSE,
        object_id=f"invitation-{score}",
        score=score,
    )


def survey_record(score: str) -> dict:
    return {
        "event_id": f"survey-{score}",
        "patient_external_id": "MRN-7",
        "type": "survey_response",
        "occurred_at": "2026-01-14T09:05:00-05:00",
        "object_id": f"invitation-{score}",
        "score": score,
    }


# --- occurred_at: inside the event window ------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    [dt.datetime(1899, 12, 31, 23, 0, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, tzinfo=dt.UTC)],
)
def test_an_event_dated_outside_the_event_window_is_refused_naming_occurred_at(rosa, occurred_at):
    event = dataclasses.replace(payment(rosa, "12.50"), occurred_at=occurred_at)
    with pytest.raises(EventInvalid) as refused:
        event_record(patient=rosa, data=event)
    assert [error.field for error in refused.value.errors] == ["occurred_at"]
    assert "occurred_at" in refused.value.errors[0].message
    assert not ActivityEvent.objects.exists()


def test_a_date_a_day_ahead_is_accepted_from_the_first_instant_of_the_new_day(rosa, monkeypatch):
    # The window is worked out once a minute (patients/rules.py) and its latest day is
    # tomorrow: the minute that straddles midnight must not keep yesterday's window,
    # nor may a worker's very first check find no window kept.
    monkeypatch.setattr(rules, "_windows", {})
    event = dataclasses.replace(
        payment(rosa, "12.50"), occurred_at=dt.datetime(2026, 1, 16, 12, 0, tzinfo=dt.UTC)
    )
    with time_machine.travel(
        dt.datetime(2026, 1, 14, 23, 59, 30, 500_000, tzinfo=dt.UTC), tick=False
    ):
        with pytest.raises(EventInvalid) as refused:
            event_record(patient=rosa, data=event)
        assert [error.field for error in refused.value.errors] == ["occurred_at"]

    with time_machine.travel(dt.datetime(2026, 1, 15, 0, 0, tzinfo=dt.UTC), tick=False):
        assert event_record(patient=rosa, data=event).created


# --- Amount: positive ---------------------------------------------------------------


def test_a_payment_of_zero_is_refused_and_one_cent_is_stored(rosa):
    with pytest.raises(EventInvalid) as refused:
        event_record(patient=rosa, data=payment(rosa, "0"))
    assert [error.field for error in refused.value.errors] == ["amount"]

    stored = event_record(patient=rosa, data=payment(rosa, "0.01"))

    assert stored.created
    assert ActivityEvent.objects.get().amount == Decimal("0.01")


@pytest.mark.parametrize("way", WAYS)
def test_a_statement_of_zero_is_refused_and_one_cent_is_stored_through_every_way(
    manager, rosa, way
):
    zero = good_statement("MRN-7", "zero") | {"amount": "0.00"}
    cent = good_statement("MRN-7", "cent") | {"amount": "0.01"}

    answer = send_events(way, [zero, cent], manager)

    assert (answer["created"], answer["rejected"]) == (1, 1), answer
    assert error_fields(answer) == {"amount"}
    assert answer["errors"][0]["index"] == 0
    assert ActivityEvent.objects.get().amount == Decimal("0.01")


# --- Score: 1 to 5 ------------------------------------------------------------------


@pytest.mark.parametrize(("score", "stored"), [(0, False), (1, True), (5, True), (6, False)])
def test_a_survey_score_is_stored_from_one_to_five_only(rosa, score, stored):
    if stored:
        assert event_record(patient=rosa, data=survey(rosa, score)).created
        assert ActivityEvent.objects.get().score == score
        return
    with pytest.raises(EventInvalid) as refused:
        event_record(patient=rosa, data=survey(rosa, score))
    assert [error.field for error in refused.value.errors] == ["score"]
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize("way", BATCH_WAYS)
def test_a_feed_batch_stores_scores_one_to_five_and_refuses_zero_and_six(manager, rosa, way):
    records = [survey_record(score) for score in ("0", "1", "5", "6")]

    answer = send_events(way, records, manager)

    assert (answer["created"], answer["rejected"]) == (2, 2), answer
    assert [(e["index"], e["field"]) for e in answer["errors"]] == [(0, "score"), (3, "score")]
    assert sorted(ActivityEvent.objects.values_list("score", flat=True)) == [1, 5]


# --- The same event_id for another patient -------------------------------------------


def test_a_single_event_with_another_patients_event_id_is_a_conflict(rosa, hugo):
    event_record(patient=rosa, data=payment(rosa, "45.00"))
    same_but_hugo = payment(hugo, "45.00")

    with pytest.raises(EventConflict) as conflict:
        event_record(patient=hugo, data=same_but_hugo)

    assert conflict.value.fields == ["patient_external_id"]
    assert ActivityEvent.objects.get().patient == rosa


@pytest.mark.parametrize("way", WAYS)
def test_a_batch_with_another_patients_event_id_is_refused_as_a_conflict(manager, rosa, hugo, way):
    first = good_statement("MRN-7", "1")
    assert send_events(way, [first], manager)["created"] == 1
    # Everything the same but the patient; a good record beside it is stored.
    for_hugo = first | {"patient_external_id": "MRN-8"}
    beside = good_statement("MRN-8", "2")

    again = send_events(way, [for_hugo, beside], manager)

    assert (again["created"], again["rejected"], again["unchanged"]) == (1, 1, 0), again
    (error,) = again["errors"]
    assert error["index"] == 0
    assert error["reason"].startswith("conflict")
    assert "patient_external_id" in error["reason"]
    stored = ActivityEvent.objects.get(event_id=first["event_id"])
    assert stored.patient == rosa


@pytest.mark.parametrize("way", WAYS)
def test_the_same_event_for_the_same_patient_again_is_unchanged_not_a_conflict(
    manager, rosa, hugo, way
):
    first = good_statement("MRN-7", "1")
    send_events(way, [first], manager)

    again = send_events(way, [first], manager)

    assert (again["created"], again["rejected"], again["unchanged"]) == (0, 0, 1), again
