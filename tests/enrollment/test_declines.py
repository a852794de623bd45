"""Fatima records a patient's no: the reason, the remedy offered on the spot, and what follows."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.models import (
    Decline,
    DeclineReason,
    EnrollmentStatus,
    Remedy,
    TechHelpBooking,
    TechHelpSession,
)
from enrollment.playbook import BENEFITS, DECLINE_PLAYS
from enrollment.selectors import PortalState, portal_status, tech_help_sessions_upcoming
from enrollment.services import enrollment_open
from patients.models import EventType, NotificationChannel
from portal_adoption.models import AccessAction, AccessLogEntry
from tests.factories import ActivityEventFactory, PatientFactory
from tests.portal_adoption.test_page_shell import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE


def decline_url(patient):
    return reverse("enrollment:decline", args=[patient.pk])


def post_decline(client, patient, **data):
    return client.post(decline_url(patient), data)


def assert_back_on_the_check_in_panel(response, patient):
    assert response.status_code == 302
    assert response["Location"] == reverse("enrollment:patient", args=[patient.pk])


def a_session(user, *, capacity=4, days_ahead=3):
    return TechHelpSession.objects.create(
        starts_at=timezone.now() + dt.timedelta(days=days_ahead),
        capacity=capacity,
        created_by=user,
    )


@pytest.fixture
def desk(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    return client


# One case per row of the decline table in workflows.md.
CASES = {
    DeclineReason.NO_EMAIL: ({}, [Remedy.SMS_SWITCH]),
    DeclineReason.NOT_COMFORTABLE: ({"session": True}, [Remedy.TECH_HELP_SEAT]),
    DeclineReason.PRIVACY: ({}, [Remedy.PRIVACY_HANDOUT]),
    DeclineReason.NO_BENEFIT: (
        {"benefit_explained": "Book at midnight, without waiting on the phone."},
        [Remedy.BENEFIT_EXPLAINED],
    ),
    DeclineReason.OTHER: ({"reason_text": "My daughter does it for me"}, [Remedy.NONE]),
}


@pytest.mark.parametrize("reason", list(CASES), ids=lambda r: r.value)
def test_a_decline_with_each_reason_records_the_reason_and_what_was_offered(
    desk, front_desk_clerk, patient, reason
):
    extra, remedies = CASES[reason]
    data = {"reason": reason, "remedies": remedies, **extra}
    if data.pop("session", False):
        data["tech_help_session"] = a_session(front_desk_clerk).pk
    response = post_decline(desk, patient, **data)
    assert_back_on_the_check_in_panel(response, patient)
    decline = Decline.objects.get(patient=patient)
    assert decline.reason == reason
    assert decline.remedies == remedies
    assert decline.recorded_by == front_desk_clerk
    assert decline.reason_text == extra.get("reason_text", "")
    assert decline.benefit_explained == extra.get("benefit_explained", "")
    change = AccessLogEntry.objects.get(action=AccessAction.CHANGE)
    assert (change.patient, change.resource, change.object_id) == (
        patient,
        "decline",
        str(decline.pk),
    )


def test_the_sms_switch_sends_the_patients_notifications_by_text(desk, patient):
    patient.notification_channel = NotificationChannel.EMAIL
    patient.save()
    post_decline(desk, patient, reason=DeclineReason.NO_EMAIL, remedies=[Remedy.SMS_SWITCH])
    patient.refresh_from_db()
    assert patient.notification_channel == "sms"


def test_other_without_the_patients_words_is_refused_naming_the_field(desk, patient):
    response = desk.post(decline_url(patient), {"reason": "other", "remedies": ["none"]})
    assert response.status_code == 400
    assert "reason_text" in response.context["form"].errors
    assert "Write the patient&#x27;s reason in their words." in response.content.decode()
    assert not Decline.objects.exists()


def test_a_decline_without_anything_ticked_asks_what_was_offered(desk, patient):
    response = desk.post(decline_url(patient), {"reason": "privacy"})
    assert response.status_code == 400
    assert "remedies" in response.context["form"].errors
    assert not Decline.objects.exists()


def test_nothing_accepted_cannot_go_with_a_remedy(desk, patient):
    response = desk.post(
        decline_url(patient), {"reason": "no_email", "remedies": ["sms_switch", "none"]}
    )
    assert response.status_code == 400
    assert "remedies" in response.context["form"].errors


def test_a_remedy_of_another_reason_is_refused(desk, patient):
    response = desk.post(decline_url(patient), {"reason": "privacy", "remedies": ["sms_switch"]})
    assert response.status_code == 400
    assert "remedies" in response.context["form"].errors


def test_a_tech_help_seat_books_the_patient(desk, front_desk_clerk, patient):
    session = a_session(front_desk_clerk)
    post_decline(
        desk,
        patient,
        reason="not_comfortable",
        remedies=["tech_help_seat"],
        tech_help_session=session.pk,
    )
    booking = TechHelpBooking.objects.get()
    assert (booking.session, booking.patient, booking.booked_by) == (
        session,
        patient,
        front_desk_clerk,
    )


def test_a_tech_help_seat_needs_a_session(desk, patient):
    response = desk.post(
        decline_url(patient), {"reason": "not_comfortable", "remedies": ["tech_help_seat"]}
    )
    assert response.status_code == 400
    assert "tech_help_session" in response.context["form"].errors
    assert not Decline.objects.exists()


def test_a_full_session_is_not_offered_and_cannot_be_booked(desk, front_desk_clerk, patient):
    full = a_session(front_desk_clerk, capacity=1)
    TechHelpBooking.objects.create(
        session=full, patient=PatientFactory(), booked_by=front_desk_clerk
    )
    page = desk.get(decline_url(patient), {"reason": "not_comfortable"}).content.decode()
    assert "No upcoming tech-help session has a free seat" in page
    response = desk.post(
        decline_url(patient),
        {"reason": "not_comfortable", "remedies": ["tech_help_seat"], "tech_help_session": full.pk},
    )
    assert response.status_code == 400
    assert "That session is full" in response.content.decode()
    assert not Decline.objects.exists()
    assert full.bookings.count() == 1


def test_a_decline_abandons_the_enrollment_in_progress(desk, front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    post_decline(desk, patient, reason="privacy", remedies=["privacy_handout"])
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ABANDONED


def test_the_next_check_in_shows_the_decline_and_the_remedy_again(desk, patient):
    post_decline(desk, patient, reason="not_comfortable", remedies=["one_to_one_help"])
    status = portal_status(patient)
    assert status.state == PortalState.DECLINED
    assert status.decline.reason == "not_comfortable"
    assert status.decline_suggestion == str(
        DECLINE_PLAYS[DeclineReason.NOT_COMFORTABLE].remedy_text
    )


def test_the_page_offers_the_remedy_of_the_reason_and_logs_the_view(desk, patient):
    response = desk.get(decline_url(patient), {"reason": "privacy"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Give the one-page privacy handout" in html
    assert reverse("enrollment:privacy_handout") in html
    assert 'value="privacy_handout"' in html
    assert 'value="sms_switch"' not in html
    viewed = AccessLogEntry.objects.get()
    assert (viewed.action, viewed.patient) == (AccessAction.VIEW, patient)


def test_changing_the_reason_swaps_the_remedy_section(desk, patient):
    page = desk.get(decline_url(patient)).content.decode()
    remedy_url = reverse("enrollment:decline_remedy", args=[patient.pk])
    assert f'hx-get="{remedy_url}"' in page
    assert 'hx-target="#decline-remedy"' in page
    fragment = desk.get(remedy_url, {"reason": "no_email"}, HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert html.lstrip().startswith('<section id="decline-remedy"')
    assert "switch notifications to text messages" in html
    assert 'value="sms_switch"' in html


def test_without_javascript_show_the_remedy_brings_the_page_back_with_it(desk, patient):
    response = desk.post(decline_url(patient), {"reason": "other", "show_remedy": "1"})
    assert response.status_code == 200
    assert not response.context["form"].errors
    assert 'name="reason_text"' in response.content.decode()
    assert not Decline.objects.exists()


def test_no_benefit_suggests_the_benefit_that_fits_the_patient(desk, patient):
    ActivityEventFactory(patient=patient, type=EventType.RESULT_RELEASED)
    fragment = desk.get(
        reverse("enrollment:decline_remedy", args=[patient.pk]), {"reason": "no_benefit"}
    )
    form = fragment.context["form"]
    assert form["benefit_explained"].value() == BENEFITS["results"]
    assert str(BENEFITS["results"]) in fragment.content.decode()


def test_the_decline_page_is_safe_under_the_strict_csp(desk, front_desk_clerk, patient):
    a_session(front_desk_clerk)
    for reason in DeclineReason.values:
        html = desk.get(decline_url(patient), {"reason": reason}).content.decode()
        assert not INLINE_SCRIPT.search(html)
        assert not INLINE_STYLE.search(html)
        assert not EVENT_HANDLER.search(html)


@pytest.mark.parametrize("persona", ["nurse", "billing_clerk", "provider_user"])
def test_only_the_desk_and_managers_record_declines(client, request, patient, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(decline_url(patient)).status_code == 403
    remedy_url = reverse("enrollment:decline_remedy", args=[patient.pk])
    assert client.get(remedy_url, {"reason": "privacy"}).status_code == 403
    response = client.post(decline_url(patient), {"reason": "privacy", "remedies": ["none"]})
    assert response.status_code == 403
    assert not Decline.objects.exists()


@pytest.mark.parametrize("persona", ["front_desk_clerk", "manager", "administrator"])
def test_the_desk_and_managers_may_open_the_decline_page(client, request, patient, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(decline_url(patient)).status_code == 200


def test_a_seat_taken_by_another_clerk_meanwhile_is_refused_naming_the_problem(
    desk, front_desk_clerk, patient, monkeypatch
):
    # The form was shown while a seat was free; another clerk took it before the post.
    session = a_session(front_desk_clerk, capacity=1)
    TechHelpBooking.objects.create(
        session=session, patient=PatientFactory(), booked_by=front_desk_clerk
    )
    monkeypatch.setattr(
        "enrollment.forms.declines.sessions_with_seats", tech_help_sessions_upcoming
    )
    response = desk.post(
        decline_url(patient),
        {
            "reason": "not_comfortable",
            "remedies": ["tech_help_seat"],
            "tech_help_session": session.pk,
        },
    )
    assert response.status_code == 409
    assert "That session is full: choose another one." in response.content.decode()
    assert not Decline.objects.exists()


def test_after_the_decline_the_check_in_panel_shows_it_with_the_remedy(desk, patient):
    response = desk.post(
        decline_url(patient),
        {"reason": "no_benefit", "remedies": ["benefit_explained"], "benefit_explained": "Results"},
        follow=True,
    )
    html = response.content.decode()
    assert "The decline is recorded" in html
    assert "Declined" in html
    assert "Explain the benefit that fits this patient" in html


def test_an_sms_switch_without_a_mobile_number_warns_the_clerk(desk):
    patient = PatientFactory(mobile_phone="")
    response = desk.post(
        decline_url(patient), {"reason": "no_email", "remedies": ["sms_switch"]}, follow=True
    )
    assert "no mobile number is on file" in response.content.decode()
