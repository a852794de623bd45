"""The triage queue's safety rules, each pinned on both sides of its boundary.

Nora claims and works messages; the portal delivers them. Every test here
breaks one rule at a time, so a failure says which rule gave way (issue 17).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import Category, Message, MessageStatus, OutboxItem, Queue
from messaging.services import (
    Inbound,
    MessageConflict,
    message_claim_next,
    message_receive,
    message_release_lapsed,
    message_touch,
)
from portal_adoption.roles import Role
from tests.factories import PatientFactory, staff

NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 14 January 2026: an ordinary business day (default hours 08:00-17:00).
WEDNESDAY = dt.date(2026, 1, 14)


@pytest.fixture(autouse=True)
def _new_york(settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    settings.PRACTICE_COUNTRY = "US"


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


def arrives(patient, text, *, at=None, message_id=None, subject=""):
    arrives.count = getattr(arrives, "count", 0) + 1
    inbound = Inbound(
        message_id=message_id or f"rule-{arrives.count}-{patient.pk}",
        patient=patient,
        subject=subject,
        body=text,
        sent_at=at or local(WEDNESDAY, 10),
    )
    return message_receive(inbound=inbound, now=at)[0]


@pytest.fixture
def olga(db):
    return staff("olga", Role.NURSE, first_name="Olga")


class Clock:
    """timezone.now() as the test sets it: the lease is reckoned from the claim's clock."""

    def __init__(self, monkeypatch, start: dt.datetime):
        self.now = start
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta):
        self.now += dt.timedelta(**delta)


# --- The claim lease: 30 minutes, not 30 hours ---------------------------------------


def test_a_claim_holds_for_twenty_nine_minutes_and_is_free_again_after_thirty_one(
    nurse, olga, patient, monkeypatch
):
    clock = Clock(monkeypatch, dt.datetime.now(dt.UTC))
    message = arrives(patient, "my medication refill", at=clock.now)
    assert message_claim_next(queue=Queue.NURSING, by=nurse) == message
    message.refresh_from_db()
    assert message.lease_expires_at == clock.now + dt.timedelta(minutes=30)

    clock.advance(minutes=29)
    assert message_claim_next(queue=Queue.NURSING, by=olga) is None
    assert message_release_lapsed() == 0

    clock.advance(minutes=2)
    taken = message_claim_next(queue=Queue.NURSING, by=olga)
    assert taken == message and taken.owner == olga


def test_working_on_a_message_keeps_the_claim_for_thirty_more_minutes(nurse, patient, monkeypatch):
    clock = Clock(monkeypatch, dt.datetime.now(dt.UTC))
    message = arrives(patient, "my medication refill", at=clock.now)
    message_claim_next(queue=Queue.NURSING, by=nurse)
    clock.advance(minutes=20)
    message_touch(message=message, by=nurse)
    message.refresh_from_db()
    assert message.lease_expires_at == clock.now + dt.timedelta(minutes=30)

    clock.advance(minutes=29)
    assert message_release_lapsed() == 0
    clock.advance(minutes=2)
    assert message_release_lapsed() == 1


# --- Red flags: clinical, in the nurses' queue, whatever else the words say ----------


@pytest.mark.parametrize(
    ("text", "without_the_flag"),
    [
        ("Question about my bill and the copay, and I have chest pain", Queue.BILLING),
        ("I need to reschedule my appointment, I have trouble breathing", Queue.FRONT_DESK),
    ],
)
def test_a_red_flag_in_a_billing_or_front_desk_message_goes_to_the_nurses(
    patient, text, without_the_flag
):
    # The same words without the symptom go to the other team: the flag alone moves it.
    plain = arrives(patient, text.split(",")[0])
    assert plain.queue == without_the_flag

    message = arrives(patient, text)

    assert message.urgent
    assert (message.category, message.queue) == (Category.CLINICAL, Queue.NURSING)
    assert OutboxItem.objects.filter(reply__message=message, reply__automatic=True).exists()


# --- Due times: internal the same business day, external one business day -------------


@pytest.mark.parametrize(
    ("received", "internal", "external"),
    [
        # During hours: internal at today's close, external the same time tomorrow.
        (local(WEDNESDAY, 10), local(WEDNESDAY, 17), local(WEDNESDAY + dt.timedelta(1), 10)),
        # Before opening: internal noon today, external at today's close.
        (local(WEDNESDAY, 7, 59), local(WEDNESDAY, 12), local(WEDNESDAY, 17)),
        (local(WEDNESDAY, 8), local(WEDNESDAY, 17), local(WEDNESDAY + dt.timedelta(1), 8)),
        # After closing: internal noon of the next business day, external its close.
        (local(WEDNESDAY, 16, 59), local(WEDNESDAY, 17), local(dt.date(2026, 1, 15), 16, 59)),
        (local(WEDNESDAY, 17), local(dt.date(2026, 1, 15), 12), local(dt.date(2026, 1, 15), 17)),
        # Friday evening: Monday 19 January is Martin Luther King Day, so Tuesday.
        (
            local(dt.date(2026, 1, 16), 18),
            local(dt.date(2026, 1, 20), 12),
            local(dt.date(2026, 1, 20), 17),
        ),
    ],
    ids=["during", "07:59", "08:00", "16:59", "17:00", "friday-evening"],
)
def test_each_message_is_due_inside_the_practice_the_same_day_and_to_the_patient_next_day(
    patient, received, internal, external
):
    message = arrives(patient, "my medication refill", at=received)
    assert message.internal_due_at == internal
    assert message.external_due_at == external


# --- Arrival is idempotent on message_id, and the patient is part of the content -------


def test_the_same_message_id_from_another_patient_is_a_conflict(patient):
    other = PatientFactory(external_id="MRN-OTHER")
    first = arrives(patient, "The rash is spreading", message_id="portal-77")

    with pytest.raises(MessageConflict, match="patient_id"):
        arrives(other, "The rash is spreading", message_id="portal-77")

    assert Message.objects.get() == first
    assert Message.objects.get().patient == patient
    # The same patient sending it again is a harmless repeat.
    assert arrives(patient, "The rash is spreading", message_id="portal-77") == first


# --- Take next's compare-and-set (the path of databases without SKIP LOCKED) ----------
#
# On PostgreSQL message_claim_next locks the row in SQL; elsewhere (SQLite) it reads
# the claimable messages, then claims one with an UPDATE that only succeeds if the
# message is still as it was read. These tests put another nurse's claim between the
# read and the update, and call that path directly so they run on every database.


def _between_the_read_and_the_update(monkeypatch, **change):
    """The first claimable message changes (`change`) after take next read the list."""
    read = services._claimable

    def claimable_then_changed(queue):
        candidates = list(read(queue))
        Message.objects.filter(pk=candidates[0].pk).update(**change)
        return candidates

    monkeypatch.setattr(services, "_claimable", claimable_then_changed)


def _another_nurse_claims_the_first_after_the_read(monkeypatch, olga):
    _between_the_read_and_the_update(
        monkeypatch,
        status=MessageStatus.CLAIMED,
        owner=olga,
        lease_expires_at=timezone.now() + services.CLAIM_LEASE,
    )


def test_take_next_skips_a_message_another_nurse_claimed_a_moment_before(
    nurse, olga, patient, monkeypatch
):
    first = arrives(patient, "trouble breathing tonight")  # urgent: first in line
    second = arrives(patient, "my medication refill")
    _another_nurse_claims_the_first_after_the_read(monkeypatch, olga)

    taken = services._claim_with_compare_and_set(Queue.NURSING, nurse, "")

    assert taken == second
    first.refresh_from_db()
    assert (first.status, first.owner) == (MessageStatus.CLAIMED, olga)
    assert first.transitions.filter(to_status=MessageStatus.CLAIMED, by=nurse).count() == 0


def test_take_next_skips_a_lapsed_claim_another_nurse_renewed_a_moment_before(
    nurse, olga, patient, monkeypatch
):
    first = arrives(patient, "trouble breathing tonight")
    second = arrives(patient, "my medication refill")
    third = staff("tara", Role.NURSE)
    # Tara claimed the urgent one and left it: its lease lapsed a minute ago.
    Message.objects.filter(pk=first.pk).update(
        status=MessageStatus.CLAIMED,
        owner=third,
        lease_expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    _another_nurse_claims_the_first_after_the_read(monkeypatch, olga)

    taken = services._claim_with_compare_and_set(Queue.NURSING, nurse, "")

    assert taken == second
    first.refresh_from_db()
    assert (first.status, first.owner) == (MessageStatus.CLAIMED, olga)


def test_take_next_skips_a_lapsed_claim_its_nurse_answered_a_moment_before(
    nurse, patient, monkeypatch
):
    first = arrives(patient, "trouble breathing tonight")
    second = arrives(patient, "my medication refill")
    tara = staff("tara", Role.NURSE)
    lapsed = timezone.now() - dt.timedelta(minutes=1)
    Message.objects.filter(pk=first.pk).update(
        status=MessageStatus.CLAIMED, owner=tara, lease_expires_at=lapsed
    )
    # Tara sends her reply just then: answered, the lapsed lease left as it was.
    _between_the_read_and_the_update(monkeypatch, status=MessageStatus.ANSWERED)

    taken = services._claim_with_compare_and_set(Queue.NURSING, nurse, "")

    assert taken == second
    first.refresh_from_db()
    assert (first.status, first.owner) == (MessageStatus.ANSWERED, tara)
