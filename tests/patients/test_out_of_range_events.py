"""An event stored before the feed checked times (year 0001 or 9999) never breaks a patient's pages.

The feed refuses such times now, but real databases hold rows stored
earlier. They are written here with the ORM, bypassing the feed, as they were.
"""

import datetime as dt

import pytest
from django.urls import reverse

from patients.models import ActivityEvent, EventSource
from tests.conftest import requires_postgres
from tests.factories import PatientFactory

# On SQLite Django cannot even store the first two (it converts to UTC first).
POISONED = [
    pytest.param("0001-01-01T00:00:00+14:00", id="year-0-in-utc", marks=requires_postgres),
    pytest.param("9999-12-31T23:59:59-12:00", id="year-10000-in-utc", marks=requires_postgres),
    pytest.param("1850-06-01T12:00:00+00:00", id="before-1900"),
]


def store_poisoned(patient, when: str, event_type: str = "login") -> ActivityEvent:
    return ActivityEvent.objects.create(
        event_id=f"poison-{event_type}",
        patient=patient,
        type=event_type,
        channel="portal",
        occurred_at=dt.datetime.fromisoformat(when),
        source=EventSource.FEED_API,
    )


def store_sane(patient, event_type: str, when: str) -> ActivityEvent:
    return ActivityEvent.objects.create(
        event_id=f"sane-{event_type}",
        patient=patient,
        type=event_type,
        channel="portal",
        occurred_at=dt.datetime.fromisoformat(when),
        source=EventSource.FEED_API,
    )


@pytest.fixture
def patient(db):
    return PatientFactory(given_name="Rosa", family_name="Delgado")


@pytest.mark.parametrize("when", POISONED)
def test_the_patient_record_shows_an_out_of_range_event_marked_instead_of_failing(
    client, manager, patient, when
):
    store_sane(patient, "portal_activated", "2026-01-05T09:00:00-05:00")
    store_poisoned(patient, when)
    client.force_login(manager)

    response = client.get(reverse("patients:detail", args=[patient.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "out of range" in page
    assert "2026-01-05 09:00" in page  # the sane event keeps its time
    assert "Login" in page


def test_the_patient_record_marks_nothing_when_every_time_is_sane(client, manager, patient):
    store_sane(patient, "login", "2026-01-05T09:00:00-05:00")
    client.force_login(manager)
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "out of range" not in page


@pytest.mark.parametrize("when", POISONED)
@pytest.mark.parametrize("event_type", ["login", "portal_activated", "portal_invited"])
def test_the_check_in_panel_leaves_an_out_of_range_event_out_and_says_so(
    client, front_desk_clerk, patient, when, event_type
):
    store_sane(patient, "portal_activated", "2026-01-05T09:00:00-05:00")
    store_poisoned(patient, when, event_type)
    client.force_login(front_desk_clerk)

    response = client.get(reverse("enrollment:patient", args=[patient.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Enrolled" in page and "2026-01-05" in page
    assert "1 portal event has an impossible time" in page


@pytest.mark.parametrize("when", POISONED)
def test_check_in_search_and_the_follow_up_list_survive_an_out_of_range_event(
    client, front_desk_clerk, patient, when
):
    store_sane(patient, "portal_invited", "2026-01-05T09:00:00-05:00")
    store_poisoned(patient, when, "portal_invited")
    client.force_login(front_desk_clerk)

    search = client.post(reverse("enrollment:search"), {"q": "Delgado"})
    follow_up = client.get(reverse("enrollment:follow_up"))

    assert search.status_code == 200 and "Delgado" in search.content.decode()
    assert follow_up.status_code == 200 and "Delgado" in follow_up.content.decode()
