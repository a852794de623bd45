"""Fatima at the front desk finds the patient and sees where they stand with the portal."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.selectors import PortalState, portal_status
from enrollment.services import decline_record, enrollment_open
from patients.models import EventType
from portal_adoption.models import AccessLogEntry
from tests.factories import ActivityEventFactory, PatientFactory


def search(client, text):
    return client.post(reverse("enrollment:search"), {"q": text}, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize(
    "typed", ["Delg", "rosa del", "1958-04-02", "4/2/1958", "MRN-77", "(202) 555-0199"]
)
def test_one_box_finds_the_patient_by_name_birth_date_mrn_or_phone(client, front_desk_clerk, typed):
    rosa = PatientFactory(
        given_name="Rosa",
        family_name="Delgado",
        birth_date=dt.date(1958, 4, 2),
        external_id="MRN-77",
        mobile_phone="+12025550199",
    )
    PatientFactory(given_name="Tom", family_name="Baker", mobile_phone="+12025550100")
    client.force_login(front_desk_clerk)
    response = search(client, typed)
    assert [p for p, _status in response.context["results"]] == [rosa]
    assert "Never offered" in response.content.decode()


def test_the_search_is_logged_per_patient_shown_and_kept_out_of_the_url(client, front_desk_clerk):
    rosa = PatientFactory(family_name="Delgado")
    client.force_login(front_desk_clerk)
    search(client, "Delgado")
    entry = AccessLogEntry.objects.get()
    assert (entry.patient, entry.action, entry.path) == (rosa, "list", "/enrollment/search/")


def test_a_search_with_no_match_says_what_to_try(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    assert "No patient matches" in search(client, "Zzyzx").content.decode()


def at(days_ago: float):
    return timezone.now() - dt.timedelta(days=days_ago)


def test_a_patient_never_offered_the_portal(patient):
    assert portal_status(patient).state == PortalState.NEVER_OFFERED


def test_an_invited_patient_shows_when_they_were_invited(patient):
    ActivityEventFactory(
        patient=patient, type=EventType.PORTAL_INVITED, channel="mail", occurred_at=at(3)
    )
    status = portal_status(patient)
    assert (status.state, status.invited_channel) == (PortalState.INVITED, "mail")


def test_an_enrolled_patient_shows_app_and_last_login(patient):
    ActivityEventFactory(
        patient=patient, type=EventType.PORTAL_ACTIVATED, channel="portal", occurred_at=at(40)
    )
    ActivityEventFactory(
        patient=patient, type=EventType.APP_INSTALLED, channel="app", occurred_at=at(39)
    )
    ActivityEventFactory(patient=patient, type=EventType.LOGIN, channel="app", occurred_at=at(5))
    ActivityEventFactory(patient=patient, type=EventType.LOGIN, channel="app", occurred_at=at(2))
    status = portal_status(patient)
    assert status.state == PortalState.ENROLLED
    assert status.app_installed
    assert status.days_since_login == 2
    assert status.enrolled_channel == "portal"


def test_a_decline_is_shown_again_at_the_next_check_in_with_the_approach(
    client, front_desk_clerk, patient
):
    decline_record(
        patient=patient, reason="privacy", remedies=["privacy_handout"], by=front_desk_clerk
    )
    client.force_login(front_desk_clerk)
    page = client.get(reverse("enrollment:patient", kwargs={"pk": patient.pk})).content.decode()
    assert "Declined" in page
    assert "privacy handout" in page


def test_an_enrollment_in_progress_is_offered_to_continue(client, front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    client.force_login(front_desk_clerk)
    page = client.get(reverse("enrollment:patient", kwargs={"pk": patient.pk})).content.decode()
    assert "Continue the enrollment" in page
    assert reverse("enrollment:checklist", kwargs={"pk": enrollment.pk}) in page


def test_opening_a_patient_is_logged(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    client.get(reverse("enrollment:patient", kwargs={"pk": patient.pk}))
    assert AccessLogEntry.objects.filter(patient=patient, action="view").exists()


def test_the_script_is_said_in_the_patients_language(client, front_desk_clerk):
    spanish = PatientFactory(preferred_language="es")
    japanese = PatientFactory(preferred_language="ja")
    client.force_login(front_desk_clerk)
    es = client.get(reverse("enrollment:patient", kwargs={"pk": spanish.pk})).content.decode()
    ja = client.get(reverse("enrollment:patient", kwargs={"pk": japanese.pk})).content.decode()
    assert "Vamos a activar hoy su acceso al portal" in es
    assert "今日、患者ポータルのアクセスを設定しましょう" in ja
    portuguese = PatientFactory(preferred_language="pt-BR")
    pt = client.get(reverse("enrollment:patient", kwargs={"pk": portuguese.pk})).content.decode()
    assert "Let&#x27;s set up your patient portal access today" in pt


def test_a_nurse_cannot_use_the_check_in_desk(client, nurse, patient):
    client.force_login(nurse)
    assert client.get(reverse("enrollment:checkin")).status_code == 403
    assert client.get(reverse("enrollment:patient", kwargs={"pk": patient.pk})).status_code == 403
