"""Patients who were invited a week ago and never logged in land on the follow-up list."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from enrollment.models import FollowUpCall
from enrollment.selectors import follow_up_list
from patients.models import EventType
from tests.factories import ActivityEventFactory, PatientFactory


def days_ago(days):
    return timezone.now() - dt.timedelta(days=days)


def invited(days, **fields):
    patient = PatientFactory(**fields)
    ActivityEventFactory(
        patient=patient,
        type=EventType.PORTAL_INVITED,
        channel="front_desk",
        occurred_at=days_ago(days),
    )
    return patient


def test_a_patient_invited_seven_days_ago_without_a_login_is_on_the_list(db):
    due = invited(7.1)
    invited(6)  # not yet a week
    assert list(follow_up_list()) == [due]


def test_a_login_after_the_invitation_takes_the_patient_off_the_list(db):
    patient = invited(9)
    assert list(follow_up_list()) == [patient]
    ActivityEventFactory(
        patient=patient, type=EventType.LOGIN, channel="portal", occurred_at=days_ago(1)
    )
    assert list(follow_up_list()) == []


def test_a_login_before_a_new_invitation_does_not_count(db):
    patient = invited(20)
    ActivityEventFactory(
        patient=patient, type=EventType.LOGIN, channel="portal", occurred_at=days_ago(15)
    )
    ActivityEventFactory(
        patient=patient, type=EventType.PORTAL_ACTIVATED, channel="portal", occurred_at=days_ago(10)
    )
    assert list(follow_up_list()) == [patient]


def test_a_patient_who_left_the_practice_is_not_followed_up(db):
    invited(10, deactivated_on=dt.date(2020, 1, 1))
    assert list(follow_up_list()) == []


def test_the_desk_logs_a_call_and_sees_it_on_the_list(client, front_desk_clerk):
    patient = invited(8)
    client.force_login(front_desk_clerk)
    response = client.post(
        reverse("enrollment:follow_up_call", kwargs={"pk": patient.pk}),
        {"outcome": "voicemail", "note": "left message"},
    )
    assert response.status_code == 302
    call = FollowUpCall.objects.get()
    assert (call.patient, call.outcome, call.called_by) == (patient, "voicemail", front_desk_clerk)
    page = client.get(reverse("enrollment:follow_up")).content.decode()
    assert "voicemail" in page


def test_an_empty_follow_up_list_says_so(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    assert "Nobody to follow up" in client.get(reverse("enrollment:follow_up")).content.decode()
