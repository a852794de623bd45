"""Each statement's first recorded event (StatementFirsts), kept by the database whoever
writes the log, so that the bill-pay report reads one row per statement instead of
asking every month of the log for an earlier event."""

import datetime as dt
from decimal import Decimal
from io import StringIO

from django.core.management import call_command

from patients.models import ActivityEvent, Channel, EventType, StatementFirsts
from tests.factories import PatientFactory, logged_event

UTC = dt.UTC
ISSUED = dt.datetime(2026, 1, 10, 11, 0, tzinfo=UTC)


def issue(patient, event_id: str, at: dt.datetime, statement: str = "ST-1") -> None:
    logged_event(
        patient,
        event_id,
        EventType.STATEMENT_ISSUED,
        at,
        channel=Channel.MAIL,
        object_id=statement,
        amount=Decimal("85.00"),
    )


def kept():
    return list(
        StatementFirsts.objects.order_by("object_id", "patient_id").values_list(
            "object_id", "patient_id", "event_pk", "issued_at"
        )
    )


def test_a_repeat_recorded_later_with_an_earlier_time_does_not_replace_the_first(patient):
    issue(patient, "s-1", ISSUED)
    first = ActivityEvent.objects.get(event_id="s-1")
    issue(patient, "s-2", ISSUED - dt.timedelta(days=40))
    assert kept() == [("ST-1", patient.pk, first.pk, ISSUED)]


def test_each_statement_and_patient_has_its_own_row(patient):
    other = PatientFactory()
    issue(patient, "s-1", ISSUED)
    issue(patient, "s-2", ISSUED, statement="ST-2")
    issue(other, "s-3", ISSUED)
    assert [(row[0], row[1]) for row in kept()] == sorted(
        [("ST-1", patient.pk), ("ST-2", patient.pk), ("ST-1", other.pk)]
    )


def test_an_event_before_1900_or_without_a_statement_id_stands_for_nothing(patient):
    ActivityEvent.objects.create(
        event_id="old",
        patient=patient,
        type=EventType.STATEMENT_ISSUED,
        occurred_at=dt.datetime(1, 1, 1, tzinfo=UTC),
        channel=Channel.MAIL,
        object_id="ST-1",
        amount=Decimal("85.00"),
        source="application",
    )
    ActivityEvent.objects.create(
        event_id="no-id",
        patient=patient,
        type=EventType.STATEMENT_ISSUED,
        occurred_at=ISSUED,
        channel=Channel.MAIL,
        object_id="",
        amount=Decimal("85.00"),
        source="application",
    )
    assert kept() == []
    issue(patient, "s-1", ISSUED)
    assert kept() == [("ST-1", patient.pk, ActivityEvent.objects.get(event_id="s-1").pk, ISSUED)]


def test_the_rebuild_command_makes_the_same_rows_again(patient):
    issue(patient, "s-1", ISSUED)
    issue(patient, "s-2", ISSUED - dt.timedelta(days=40))
    issue(patient, "s-3", ISSUED, statement="ST-2")
    before = kept()
    StatementFirsts.objects.all().delete()
    out = StringIO()
    call_command("rebuild_patient_firsts", stdout=out)
    assert kept() == before
    assert "First events of statements rebuilt: 2." in out.getvalue()
