"""Every read of a patient's data leaves a row: who, what, when, from where."""

import datetime as dt

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from patients.models import EventType
from portal_adoption.access_chain import chain_append
from portal_adoption.models import AccessAction, AccessLogEntry, AccessOutcome
from tests.factories import ActivityEventFactory, PatientFactory


def test_a_nurse_opening_a_patient_record_is_logged_with_her_address(client, nurse, patient):
    client.force_login(nurse)
    response = client.get(
        reverse("patients:detail", kwargs={"pk": patient.pk}), REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 200
    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.username, entry.patient) == (nurse, "nora", patient)
    assert (entry.action, entry.outcome, entry.resource) == ("view", "allowed", "patient")
    assert entry.ip_address == "10.1.2.3"
    assert entry.path == f"/patients/{patient.pk}/"
    assert timezone.now() - entry.occurred_at < dt.timedelta(minutes=1)


def test_the_roster_page_logs_every_patient_it_shows_in_one_row(client, front_desk_clerk):
    shown = PatientFactory.create_batch(3)
    client.force_login(front_desk_clerk)
    client.get(reverse("patients:list"))
    entry = AccessLogEntry.objects.get(action=AccessAction.LIST)
    listed = entry.listed_patients.values_list("patient_id", flat=True)
    assert sorted(listed) == sorted(p.pk for p in shown)


def invited_a_week_ago(count: int) -> list:
    """Patients the nightly no-login reminder will reach tonight."""
    week_ago = timezone.make_aware(
        dt.datetime.combine(timezone.localdate() - dt.timedelta(days=8), dt.time(10))
    )
    patients = PatientFactory.create_batch(count)
    for patient in patients:
        ActivityEventFactory(
            patient=patient,
            type=EventType.PORTAL_INVITED,
            channel="front_desk",
            occurred_at=week_ago,
        )
    return patients


def test_one_visit_to_the_nightly_page_writes_one_row_for_its_list(client, manager):
    due = invited_a_week_ago(12)
    client.force_login(manager)
    assert client.get(reverse("messaging:outreach")).status_code == 200
    entry = AccessLogEntry.objects.get()
    assert (entry.action, entry.resource, entry.patient) == ("list", "outreach_preview", None)
    listed = set(entry.listed_patients.values_list("patient_id", flat=True))
    assert listed == {p.pk for p in due}


def test_filtering_the_log_by_mrn_finds_the_list_that_showed_the_patient(client, manager, nurse):
    rosa, *_others = invited_a_week_ago(3)
    client.force_login(manager)
    client.get(reverse("messaging:outreach"))
    listing = AccessLogEntry.objects.get(resource="outreach_preview")
    unrelated = PatientFactory()
    log_entry(user=nurse, patient=unrelated)

    found = client.post(reverse("access_log"), {"patient_mrn": rosa.external_id})
    page = client.get(found.url)
    entries = list(page.context["page"].object_list)
    assert listing in entries
    assert all(e.patient != unrelated for e in entries)
    html = page.content.decode()
    assert "Nightly workers: tonight&#x27;s patients" in html
    assert "outreach_preview" not in html
    assert rosa.external_id in html and "and 2 others" in html


def test_a_search_logs_the_patients_found_and_keeps_the_terms_out_of_the_url(
    client, front_desk_clerk
):
    rosa = PatientFactory(given_name="Rosa", family_name="Delgado")
    PatientFactory(given_name="Tom", family_name="Baker")
    client.force_login(front_desk_clerk)
    response = client.post(reverse("patients:list"), {"q": "ros del"})
    assert list(response.context["patients"]) == [rosa]
    entry = AccessLogEntry.objects.get()
    assert entry.patient == rosa
    assert "ros" not in entry.path.lower()


def test_reading_a_patient_through_the_api_is_logged(client, provider_user, patient):
    client.force_login(provider_user)
    response = client.get(reverse("api_patient_detail", kwargs={"pk": patient.pk}))
    assert response.status_code == 200
    assert response.json()["external_id"] == patient.external_id
    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.patient, entry.action) == (provider_user, patient, "view")


def test_a_denied_api_read_is_logged_as_denied(client, billing_clerk, patient):
    client.force_login(billing_clerk)
    response = client.get(reverse("api_patient_detail", kwargs={"pk": patient.pk}))
    assert response.status_code == 403
    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.outcome) == (billing_clerk, AccessOutcome.DENIED)


def log_entry(**fields):
    defaults = {"action": AccessAction.VIEW, "outcome": AccessOutcome.ALLOWED}
    (entry,) = chain_append([AccessLogEntry(resource="patient", **(defaults | fields))])
    return entry


def test_a_manager_filters_the_log_by_staff_member(client, manager, nurse, front_desk_clerk):
    log_entry(user=nurse, username="nora")
    log_entry(user=front_desk_clerk, username="fatima")
    client.force_login(manager)
    response = client.get(reverse("access_log"), {"user": nurse.pk})
    assert [e.username for e in response.context["page"].object_list] == ["nora"]


def test_a_manager_filters_by_patient_mrn_without_putting_it_in_the_url(
    client, manager, nurse, patient
):
    other = PatientFactory()
    log_entry(user=nurse, patient=patient)
    log_entry(user=nurse, patient=other)
    client.force_login(manager)
    response = client.post(reverse("access_log"), {"patient_mrn": patient.external_id})
    assert response.status_code == 302
    assert patient.external_id not in response.url
    page = client.get(response.url).context["page"]
    assert [e.patient for e in page.object_list if e.action == "view"] == [patient]


def test_an_unknown_mrn_gets_a_clear_error(client, manager):
    client.force_login(manager)
    response = client.post(reverse("access_log"), {"patient_mrn": "NOPE-1"})
    assert response.status_code == 400
    assert "No patient has the MRN you typed" in response.content.decode()


def test_a_manager_filters_by_practice_calendar_day(client, manager, nurse):
    in_range = log_entry(
        user=nurse, occurred_at=timezone.make_aware(dt.datetime(2026, 3, 2, 23, 30))
    )
    log_entry(user=nurse, occurred_at=timezone.make_aware(dt.datetime(2026, 3, 3, 0, 30)))
    client.force_login(manager)
    response = client.get(
        reverse("access_log"), {"date_from": "2026-03-02", "date_to": "2026-03-02"}
    )
    assert list(response.context["page"].object_list) == [in_range]


def test_nobody_can_change_or_delete_the_log_through_the_admin(client, administrator, nurse):
    entry = log_entry(user=nurse)
    client.force_login(administrator)
    change = reverse("admin:portal_adoption_accesslogentry_change", args=[entry.pk])
    delete = reverse("admin:portal_adoption_accesslogentry_delete", args=[entry.pk])
    assert client.post(change, {"resource": "nothing"}).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.resource == "patient"


@pytest.mark.django_db
def test_the_database_refuses_to_rewrite_or_delete_a_log_row(nurse):
    entry = log_entry(user=nurse)
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.filter(pk=entry.pk).update(resource="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.filter(pk=entry.pk).delete()
    assert AccessLogEntry.objects.get(pk=entry.pk).resource == "patient"
