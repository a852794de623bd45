"""A result's first release, view and contact and a message's first time (ObjectFirsts),
kept by the database whoever writes the log, so that the figures look one row up
instead of every month of the log."""

import datetime as dt
from io import StringIO

from django.core.management import call_command

from patients.models import ActivityEvent, Channel, EventType, ObjectFirsts
from tests.factories import logged_event

UTC = dt.UTC
EARLY = dt.datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def view(patient, event_id: str, at: dt.datetime, result: str = "lab-1") -> None:
    logged_event(patient, event_id, EventType.RESULT_VIEWED, at, object_id=result)


def first_view(patient, result: str = "lab-1") -> dt.datetime | None:
    found = ObjectFirsts.objects.filter(
        type=EventType.RESULT_VIEWED, object_id=result, patient_id=patient.pk
    ).first()
    return found.first_at if found else None


def test_a_results_first_view_moves_back_when_an_earlier_view_arrives_late(patient):
    view(patient, "v-2", EARLY + dt.timedelta(days=40))
    view(patient, "v-1", EARLY)
    view(patient, "v-3", EARLY + dt.timedelta(days=80))
    assert first_view(patient) == EARLY
    assert ObjectFirsts.objects.count() == 1


def test_each_result_has_its_own_first_view(patient):
    view(patient, "v-1", EARLY, result="lab-1")
    view(patient, "v-2", EARLY + dt.timedelta(days=3), result="lab-2")
    assert first_view(patient, "lab-2") == EARLY + dt.timedelta(days=3)


def test_an_event_before_1900_is_no_first_view(patient):
    ActivityEvent.objects.create(
        event_id="old",
        patient=patient,
        type=EventType.RESULT_VIEWED,
        occurred_at=dt.datetime(1, 1, 1, tzinfo=UTC),
        channel=Channel.PORTAL,
        object_id="lab-1",
        source="application",
    )
    assert first_view(patient) is None
    view(patient, "v-1", EARLY)
    assert first_view(patient) == EARLY


def test_the_rebuild_command_makes_the_same_first_times_again(patient):
    view(patient, "v-2", EARLY + dt.timedelta(days=40))
    view(patient, "v-1", EARLY)
    kept = list(ObjectFirsts.objects.values_list("type", "object_id", "patient_id", "first_at"))
    call_command("rebuild_patient_firsts", stdout=StringIO())
    rebuilt = list(ObjectFirsts.objects.values_list("type", "object_id", "patient_id", "first_at"))
    assert rebuilt == kept
