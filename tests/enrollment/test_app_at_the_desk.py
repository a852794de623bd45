"""Fatima helps Rosa install the mobile app at the desk, and it counts (issue 11, item 2).

App installs are the playbook's first key opportunity: a tick of step 5 is
an app_installed event (channel front_desk), written once per enrollment
however often the button is pressed; "no smartphone" and "declined the app"
record the reason instead, and no event.
"""

import threading

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from enrollment.models import EnrollmentStep, SkipReason, Step
from enrollment.selectors import portal_status
from enrollment.services import (
    contact_check,
    enrollment_collect_contact,
    enrollment_complete,
    enrollment_open,
    enrollment_skip,
    enrollment_tick,
    enrollment_untick,
)
from patients.models import ActivityEvent, EventSource, EventType
from portal_adoption.services import integration_token_create
from tests.conftest import requires_postgres
from tests.enrollment.test_checklist import give_contact, start, tick
from tests.factories import PatientFactory, staff


def answer_everything_but_the_app(client, enrollment):
    give_contact(client, enrollment)
    for step in (Step.SEND_INVITATION, Step.FIRST_LOGIN, Step.CONFIRM_ACCESS, Step.REFERENCE_CARD):
        tick(client, enrollment, step)
    tick(client, enrollment, Step.SHOW_FEATURE, reason="in_a_hurry")


def complete(client, enrollment):
    tick(client, enrollment, Step.RECORD_IN_EHR)
    return client.post(reverse("enrollment:complete", kwargs={"pk": enrollment.pk}))


def app_installs(patient):
    return list(ActivityEvent.objects.filter(patient=patient, type=EventType.APP_INSTALLED))


def test_fatima_ticks_the_app_installed_and_the_install_is_counted_once(
    client, front_desk_clerk, patient
):
    client.force_login(front_desk_clerk)
    enrollment = start(client, patient)
    answer_everything_but_the_app(client, enrollment)
    # A double click on "Done", then a double submit of the completion.
    tick(client, enrollment, Step.INSTALL_APP)
    tick(client, enrollment, Step.INSTALL_APP)
    complete(client, enrollment)
    client.post(reverse("enrollment:complete", kwargs={"pk": enrollment.pk}))

    (installed,) = app_installs(patient)
    assert installed.channel == "front_desk"
    assert installed.source == EventSource.APPLICATION
    assert installed.occurred_at == enrollment.steps.get(step=Step.INSTALL_APP).ticked_at
    assert installed.event_id == f"enrollment-{enrollment.pk}-app_installed"
    assert portal_status(patient).app_installed


@pytest.mark.parametrize(
    ("button", "reason", "in_the_note"),
    [
        ("Patient has no smartphone", SkipReason.NO_SMARTPHONE, "app not installed: no smartphone"),
        ("Declined the app", SkipReason.DECLINED, "app not installed: patient declined"),
    ],
)
def test_no_smartphone_or_declined_records_the_reason_and_no_install(
    client, front_desk_clerk, patient, button, reason, in_the_note
):
    client.force_login(front_desk_clerk)
    enrollment = start(client, patient)
    answer_everything_but_the_app(client, enrollment)
    page = client.get(reverse("enrollment:checklist", kwargs={"pk": enrollment.pk}))
    step_5 = page.content.decode().split('id="step-install_app"')[1].split("</li>")[0]
    # Step 5 offers its two answers at once, beside "Done".
    assert '<details class="skip-step mt-2" open>' in step_5
    assert f'value="{reason}"' in step_5 and button in step_5

    tick(client, enrollment, Step.INSTALL_APP, reason=reason)
    complete(client, enrollment)

    assert app_installs(patient) == []
    assert enrollment.steps.get(step=Step.INSTALL_APP).skip_reason == reason
    enrollment.refresh_from_db()
    assert in_the_note in enrollment.ehr_note
    assert not portal_status(patient).app_installed


def test_an_install_ticked_by_mistake_and_undone_writes_nothing(front_desk_clerk, patient):
    enrollment = enrollment_open(patient=patient, by=front_desk_clerk)
    enrollment_tick(enrollment=enrollment, step=Step.INSTALL_APP, by=front_desk_clerk)
    enrollment_untick(enrollment=enrollment, step=Step.INSTALL_APP)
    # The event log is append-only: nothing is written before the enrollment completes.
    assert app_installs(patient) == []


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_the_same_instant_on_the_app_and_on_complete_write_one_install():
    clerk = staff("fatima")
    patient = PatientFactory()
    enrollment = enrollment_open(patient=patient, by=clerk)
    details = contact_check(email="a@example.org", mobile_phone="", notification_channel="email")
    enrollment_collect_contact(enrollment=enrollment, details=details, by=clerk)
    for step in (Step.SEND_INVITATION, Step.FIRST_LOGIN, Step.CONFIRM_ACCESS, Step.REFERENCE_CARD):
        enrollment_tick(enrollment=enrollment, step=step, by=clerk)
    enrollment_skip(enrollment=enrollment, step=Step.SHOW_FEATURE, reason="in_a_hurry", by=clerk)
    failures = []

    def together(action):
        barrier = threading.Barrier(4)

        def run():
            try:
                barrier.wait()
                action()
            except Exception as error:  # collected and asserted below
                failures.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    together(lambda: enrollment_tick(enrollment=enrollment, step=Step.INSTALL_APP, by=clerk))
    enrollment_tick(enrollment=enrollment, step=Step.RECORD_IN_EHR, by=clerk)
    together(lambda: enrollment_complete(enrollment=enrollment, by=clerk))

    assert failures == []
    assert EnrollmentStep.objects.filter(enrollment=enrollment, step=Step.INSTALL_APP).count() == 1
    assert len(app_installs(patient)) == 1


def test_the_feed_accepts_an_install_from_the_front_desk_as_the_desk_does(db):
    """patients/rules.py is one rule for the feed and the application's own writes."""
    patient = PatientFactory(external_id="MRN-APP")
    _token, key = integration_token_create(name="Interface engine", created_by=None)
    engine = APIClient()
    engine.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    record = {
        "event_id": "feed-app-1",
        "patient_external_id": "MRN-APP",
        "type": "app_installed",
        "occurred_at": "2026-01-14T09:05:00-05:00",
        "channel": "front_desk",
    }
    refused = {**record, "event_id": "feed-app-2", "channel": "phone"}

    answer = engine.post(
        reverse("api_events_bulk"), {"records": [record, refused]}, format="json"
    ).json()

    assert answer["created"] == 1
    (error,) = answer["errors"]
    assert error["field"] == "channel"
    assert "app, front_desk" in error["reason"]
    assert app_installs(patient)[0].channel == "front_desk"
