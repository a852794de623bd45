"""Maria runs weekly tech-help sessions; clerks book patients in, never past the last seat."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from enrollment.models import TechHelpBooking, TechHelpSession
from enrollment.services import (
    EnrollmentError,
    SessionFull,
    tech_help_book,
    tech_help_session_create,
)
from portal_adoption.models import AccessAction, AccessLogEntry
from portal_adoption.roles import Role
from tests.conftest import requires_postgres
from tests.factories import LocationFactory, PatientFactory, staff


def a_session(user, *, capacity=4, days_ahead=3):
    return TechHelpSession.objects.create(
        starts_at=timezone.now() + dt.timedelta(days=days_ahead),
        capacity=capacity,
        created_by=user,
    )


def test_a_manager_creates_a_session_in_the_practice_time_zone(client, manager):
    location = LocationFactory(name="Main Street clinic")
    next_week = timezone.localdate(timezone=ZoneInfo(settings.PRACTICE_TIME_ZONE)) + dt.timedelta(
        days=7
    )
    client.force_login(manager)
    response = client.post(
        reverse("enrollment:tech_help"),
        {
            "starts_at": f"{next_week.isoformat()}T17:30",
            "capacity": "6",
            "location": location.pk,
        },
    )
    assert response.status_code == 302
    session = TechHelpSession.objects.get()
    local = session.starts_at.astimezone(ZoneInfo(settings.PRACTICE_TIME_ZONE))
    assert (local.date(), local.hour, local.minute) == (next_week, 17, 30)
    assert (session.capacity, session.location, session.created_by) == (6, location, manager)
    page = client.get(reverse("enrollment:tech_help")).content.decode()
    assert "Session added" in page
    assert "0 of 6" in page
    assert "Main Street clinic" in page


def test_a_session_in_the_past_or_without_seats_is_refused(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("enrollment:tech_help"), {"starts_at": "2020-01-07T17:30", "capacity": "0"}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "starts_at" in errors and "capacity" in errors
    assert not TechHelpSession.objects.exists()


def test_the_list_says_what_to_do_when_there_is_no_session(client, manager):
    client.force_login(manager)
    assert "No upcoming session" in client.get(reverse("enrollment:tech_help")).content.decode()


def test_the_list_shows_seats_booked_and_a_full_session(client, manager):
    session = a_session(manager, capacity=1)
    TechHelpBooking.objects.create(session=session, patient=PatientFactory(), booked_by=manager)
    client.force_login(manager)
    html = client.get(reverse("enrollment:tech_help")).content.decode()
    assert "1 of 1" in html
    assert "Full" in html


def test_the_bookings_page_lists_the_patients_and_logs_them_in_one_row(
    client, manager, front_desk_clerk
):
    session = a_session(manager)
    rosa = PatientFactory(given_name="Rosa", family_name="Delgado")
    tom = PatientFactory(given_name="Tom", family_name="Baker")
    for patient in (rosa, tom):
        tech_help_book(session=session, patient=patient, by=front_desk_clerk)
    client.force_login(manager)
    html = client.get(reverse("enrollment:tech_help_detail", args=[session.pk])).content.decode()
    assert "Delgado, Rosa" in html and "Baker, Tom" in html
    (listed,) = AccessLogEntry.objects.filter(
        action=AccessAction.LIST, resource="tech_help_session"
    )
    assert set(listed.listed_patients.values_list("patient", flat=True)) == {rosa.pk, tom.pk}


def test_a_full_session_refuses_a_booking(manager):
    session = a_session(manager, capacity=1)
    tech_help_book(session=session, patient=PatientFactory(), by=manager)
    with pytest.raises(SessionFull):
        tech_help_book(session=session, patient=PatientFactory(), by=manager)
    assert session.bookings.count() == 1


def test_booking_the_same_patient_twice_takes_one_seat(manager, patient):
    session = a_session(manager, capacity=2)
    first = tech_help_book(session=session, patient=patient, by=manager)
    assert tech_help_book(session=session, patient=patient, by=manager) == first
    assert session.bookings.count() == 1


def test_a_patient_booked_on_tuesday_can_take_a_seat_on_thursday_too(manager, patient):
    tuesday, thursday = a_session(manager, days_ahead=1), a_session(manager, days_ahead=3)
    tech_help_book(session=tuesday, patient=patient, by=manager)

    booking = tech_help_book(session=thursday, patient=patient, by=manager)

    assert booking.session == thursday
    assert (tuesday.bookings.count(), thursday.bookings.count()) == (1, 1)


def test_a_session_of_one_seat_is_a_session_and_none_is_not(manager):
    starts_at = timezone.now() + dt.timedelta(days=2)

    one = tech_help_session_create(starts_at=starts_at, capacity=1, location=None, by=manager)
    with pytest.raises(EnrollmentError, match="at least one seat"):
        tech_help_session_create(starts_at=starts_at, capacity=0, location=None, by=manager)

    assert list(TechHelpSession.objects.values_list("pk", "capacity")) == [(one.pk, 1)]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_clerks_booking_the_last_seat_at_once_get_one_seat_between_them():
    maria = staff("maria", Role.MANAGER)
    clerks = [staff("fatima", Role.FRONT_DESK), staff("frank", Role.FRONT_DESK)]
    session = a_session(maria, capacity=2)
    TechHelpBooking.objects.create(session=session, patient=PatientFactory(), booked_by=maria)
    patients = [PatientFactory(), PatientFactory()]
    start = threading.Barrier(2)
    booked, refused, failures = [], [], []

    def book(clerk, patient):
        try:
            start.wait()
            booked.append(tech_help_book(session=session, patient=patient, by=clerk))
        except SessionFull as error:
            refused.append(error)
        except Exception as error:  # collected, asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=book, args=(clerk, patient))
        for clerk, patient in zip(clerks, patients, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(booked) == 1
    assert len(refused) == 1
    assert session.bookings.count() == 2


@pytest.mark.parametrize("persona", ["front_desk_clerk", "nurse", "provider_user", "billing_clerk"])
def test_only_managers_manage_tech_help_sessions(client, request, manager, persona):
    session = a_session(manager)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("enrollment:tech_help")).status_code == 403
    assert client.get(reverse("enrollment:tech_help_detail", args=[session.pk])).status_code == 403
    response = client.post(
        reverse("enrollment:tech_help"), {"starts_at": "2099-01-07T17:30", "capacity": "5"}
    )
    assert response.status_code == 403
    assert TechHelpSession.objects.count() == 1


@pytest.mark.parametrize("persona", ["manager", "administrator"])
def test_managers_and_administrators_open_the_tech_help_pages(client, request, manager, persona):
    session = a_session(manager)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("enrollment:tech_help")).status_code == 200
    assert client.get(reverse("enrollment:tech_help_detail", args=[session.pk])).status_code == 200
