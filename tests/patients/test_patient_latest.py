"""Each patient's latest invitation or activation and latest login (PatientLatest), kept
by the database whoever writes the log, so that "invited and not logged in since" is
one row per patient instead of a look-up in every month of the log."""

import datetime as dt
from io import StringIO

from django.core.management import call_command

from patients.models import ActivityEvent, Channel, EventType, Patient, PatientLatest
from patients.selectors import logged_in_since, with_latest_offer
from tests.factories import PatientFactory, logged_event

UTC = dt.UTC
EARLY = dt.datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def record(patient, event_id: str, event_type: str, at: dt.datetime) -> None:
    logged_event(patient, event_id, event_type, at)


def stored(patient, event_id: str, event_type: str, at: dt.datetime) -> None:
    """Straight into the log, as a row from before the feed checked times."""
    ActivityEvent.objects.create(
        event_id=event_id,
        patient=patient,
        type=event_type,
        occurred_at=at,
        channel=Channel.PORTAL,
        source="application",
    )


def latest(patient) -> tuple:
    row = PatientLatest.objects.filter(patient=patient).first()
    return (row.offered_at, row.login_at) if row else (None, None)


def test_the_latest_invitation_or_activation_and_login_whatever_order_they_arrive(patient):
    record(patient, "inv-2", EventType.PORTAL_INVITED, EARLY + dt.timedelta(days=30))
    record(patient, "inv-1", EventType.PORTAL_INVITED, EARLY)  # arrives late, changes nothing
    record(patient, "login-1", EventType.LOGIN, EARLY + dt.timedelta(days=2))
    assert latest(patient) == (EARLY + dt.timedelta(days=30), EARLY + dt.timedelta(days=2))

    record(patient, "act-1", EventType.PORTAL_ACTIVATED, EARLY + dt.timedelta(days=31))
    record(patient, "login-2", EventType.LOGIN, EARLY + dt.timedelta(days=40))
    record(patient, "view-1", EventType.RECORD_VIEWED, EARLY + dt.timedelta(days=50))
    assert latest(patient) == (EARLY + dt.timedelta(days=31), EARLY + dt.timedelta(days=40))
    assert PatientLatest.objects.count() == 1


def test_a_login_alone_keeps_no_invitation(patient):
    record(patient, "login-1", EventType.LOGIN, EARLY)
    assert latest(patient) == (None, EARLY)


def test_an_event_before_1900_is_not_kept(patient):
    stored(patient, "old", EventType.PORTAL_INVITED, dt.datetime(1, 1, 1, tzinfo=UTC))
    assert latest(patient) == (None, None)
    record(patient, "inv-1", EventType.PORTAL_INVITED, EARLY)
    assert latest(patient) == (EARLY, None)


def test_the_rebuild_command_makes_the_same_rows_again(patient):
    other = PatientFactory()
    record(patient, "inv-1", EventType.PORTAL_INVITED, EARLY)
    record(patient, "login-1", EventType.LOGIN, EARLY + dt.timedelta(days=3))
    record(other, "act-1", EventType.PORTAL_ACTIVATED, EARLY + dt.timedelta(days=5))
    kept = sorted(PatientLatest.objects.values_list("patient_id", "offered_at", "login_at"))
    PatientLatest.objects.all().delete()

    call_command("rebuild_patient_firsts", stdout=StringIO())

    rebuilt = sorted(PatientLatest.objects.values_list("patient_id", "offered_at", "login_at"))
    assert (
        rebuilt
        == kept
        == [
            (patient.pk, EARLY, EARLY + dt.timedelta(days=3)),
            (other.pk, EARLY + dt.timedelta(days=5), None),
        ]
    )


def offer_of(patient) -> tuple:
    row = with_latest_offer(Patient.objects.filter(pk=patient.pk)).get()
    return row.offered_at, row.logged_in_since


def test_the_latest_offer_and_whether_a_login_came_since(patient):
    assert offer_of(patient) == (None, False)
    record(patient, "inv-1", EventType.PORTAL_INVITED, EARLY)
    assert offer_of(patient) == (EARLY, False)
    record(patient, "login-1", EventType.LOGIN, EARLY)  # the same instant counts
    assert offer_of(patient) == (EARLY, True)
    record(patient, "inv-2", EventType.PORTAL_INVITED, EARLY + dt.timedelta(days=9))
    assert offer_of(patient) == (EARLY + dt.timedelta(days=9), False)


def test_a_kept_time_past_the_window_reads_the_patient_from_the_log(patient):
    """A row stored in the future (before the feed checked) is no evidence: the latest
    invitation inside the window is the earlier one, which only the log can say."""
    far = dt.datetime.now(UTC) + dt.timedelta(days=60)
    record(patient, "inv-1", EventType.PORTAL_INVITED, EARLY)
    stored(patient, "inv-future", EventType.PORTAL_INVITED, far)
    stored(patient, "login-future", EventType.LOGIN, far)
    assert latest(patient) == (far, far)

    assert offer_of(patient) == (EARLY, False)


def active_since(moment) -> list:
    return list(Patient.objects.filter(logged_in_since(moment)).order_by("pk"))


def test_who_logged_in_since_a_moment_even_with_a_login_stored_in_the_future(patient):
    other = PatientFactory()
    record(patient, "login-1", EventType.LOGIN, EARLY)
    record(other, "login-2", EventType.LOGIN, EARLY - dt.timedelta(days=40))
    assert active_since(EARLY - dt.timedelta(days=30)) == [patient]
    assert active_since(EARLY + dt.timedelta(seconds=1)) == []

    # Kept: the future login; the log: a login 5 days before EARLY, inside the 30 days.
    hidden = PatientFactory()
    record(hidden, "login-3", EventType.LOGIN, EARLY - dt.timedelta(days=5))
    stored(hidden, "login-future", EventType.LOGIN, dt.datetime.now(UTC) + dt.timedelta(days=60))
    assert active_since(EARLY - dt.timedelta(days=30)) == [patient, hidden]
