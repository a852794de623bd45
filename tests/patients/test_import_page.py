"""Maria, the practice manager, uploads the nightly export files."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from patients.models import ActivityEvent, ImportRun, Patient
from portal_adoption.models import AccessLogEntry
from portal_adoption.selectors import AccessLogFilter, access_log_search
from tests.factories import LocationFactory, ProviderFactory
from tests.patients.feed_files import EVENTS, ROSTER, as_bytes

# Uploads are imported by a task after the upload's commit: here in-process, as without Redis.
pytestmark = pytest.mark.usefixtures("imports_in_process")


@pytest.fixture
def practice(db):
    north = LocationFactory(code="NORTH")
    ProviderFactory(code="DRLEE", location=north)


def upload(client, kind, text, name="export.csv"):
    file = SimpleUploadedFile(name, as_bytes(text), content_type="text/csv")
    return client.post(reverse("patients:imports"), {"kind": kind, "file": file})


def test_a_manager_uploads_the_roster_and_sees_the_counts(client, manager, practice):
    client.force_login(manager)
    response = upload(client, "patients", ROSTER)
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("patients:import_detail", kwargs={"pk": run.pk})
    page = client.get(response.url).content.decode()
    assert "Imported: 3 new, 0 updated, 0 already here." in page
    assert Patient.objects.count() == 3
    assert run.started_by == manager


def test_rejected_lines_are_listed_and_downloadable_to_fix_and_resend(client, manager, practice):
    client.force_login(manager)
    upload(client, "patients", ROSTER)
    broken = EVENTS.replace("2026-01-08T10:00:00-05:00", "2026-01-08 10:00")
    response = upload(client, "events", broken)
    page = client.get(response.url).content.decode()
    assert "1 rejected records" in page
    assert "occurred_at" in page
    run = ImportRun.objects.filter(kind="events").get()
    download = client.get(reverse("patients:import_rejections_csv", kwargs={"pk": run.pk}))
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0].startswith("line,field,reason,event_id,patient_external_id,type")
    assert lines[1].startswith("7,occurred_at,")
    assert ",e6,MRN-2,payment,2026-01-08 10:00," in lines[1]
    assert ActivityEvent.objects.count() == 6
    assert AccessLogEntry.objects.filter(resource="import_rejections", action="export").exists()


def test_a_file_with_a_wrong_header_is_refused_with_the_reason(client, manager, practice):
    client.force_login(manager)
    response = upload(client, "events", ROSTER)
    assert response.status_code == 400
    assert "Nothing was imported." in response.content.decode()
    assert "required columns missing" in response.content.decode()
    assert not ActivityEvent.objects.exists()


def test_a_file_that_is_not_csv_is_refused_by_the_form(client, manager, practice):
    client.force_login(manager)
    response = upload(client, "patients", ROSTER, name="roster.xlsx")
    assert response.status_code == 400
    assert "Choose a .csv file" in response.content.decode()


def test_the_imports_page_lists_recent_imports(client, manager, practice):
    client.force_login(manager)
    upload(client, "patients", ROSTER)
    page = client.get(reverse("patients:imports")).content.decode()
    assert "Patients (roster)" in page
    assert "Completed" in page


def test_an_empty_imports_page_says_where_to_start(client, manager):
    client.force_login(manager)
    page = client.get(reverse("patients:imports")).content.decode()
    assert "Nothing has been imported yet" in page


def test_a_manager_uploads_a_fhir_bundle(client, manager):
    from tests.patients.test_feed_three_ways import BUNDLE, EVENTS

    client.force_login(manager)
    file = SimpleUploadedFile("bundle.json", json.dumps(BUNDLE).encode(), "application/json")
    response = client.post(reverse("patients:imports"), {"kind": "fhir", "file": file})
    assert response.status_code == 302
    assert ActivityEvent.objects.count() == len(EVENTS)
    assert ImportRun.objects.get().kind == "fhir"


def test_reading_rejected_records_is_logged_with_each_patient_they_name(client, manager, practice):
    client.force_login(manager)
    upload(client, "patients", ROSTER)
    broken = EVENTS.replace("2026-01-08T10:00:00-05:00", "2026-01-08 10:00")  # MRN-2's payment
    broken += "\ne9,MRN-404,login,2026-01-06T20:15:00Z,app,,,,"  # not on the roster
    run = ImportRun.objects.get(pk=upload(client, "events", broken).url.split("/")[-2])
    mrn_2 = Patient.objects.get(external_id="MRN-2")

    client.get(reverse("patients:import_detail", args=[run.pk]))
    b"".join(client.get(reverse("patients:import_rejections_csv", args=[run.pk])).streaming_content)

    logged = access_log_search(AccessLogFilter(patient_id=mrn_2.pk))
    assert sorted(logged.values_list("resource", flat=True)) == [
        "import_rejections",
        "import_rejections_export",
    ]
    assert set(logged.values_list("user__username", flat=True)) == {"maria"}
    named = AccessLogEntry.objects.filter(resource__startswith="import_rejections")
    assert set(named.exclude(patient=None).values_list("patient", flat=True)) == {mrn_2.pk}
