"""Maria uploads a large export: a worker imports it, the page shows how far it has got.

A web request must not do the import itself (gunicorn kills a worker after
30 s and the run stayed "running" forever): the page stores the file and
records a queued run, a Celery task imports it by the run's id, and a sweep
fails a run whose worker died.
"""

import datetime as dt
import io
import logging
import re
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from patients import feed_import, tasks
from patients.feed_csv import patient_rows
from patients.feed_import import patients_import
from patients.import_services import import_runs_fail_stalled, import_upload_run
from patients.models import ActivityEvent, EventSource, ImportRun, ImportStatus, Patient
from portal_adoption.json_input import MAX_JSON_DEPTH
from tests.conftest import requires_postgres
from tests.factories import LocationFactory, PatientFactory, ProviderFactory
from tests.patients.feed_files import EVENTS, EVENTS_HEADER, ROSTER, as_bytes


@pytest.fixture
def practice(db):
    north = LocationFactory(code="NORTH")
    ProviderFactory(code="DRLEE", location=north)


def upload(client, kind, content: bytes, name="export.csv"):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(reverse("patients:imports"), {"kind": kind, "file": file})


def test_an_upload_is_imported_by_a_worker_given_only_the_run_id(
    client, manager, practice, queued, import_files_dir
):
    client.force_login(manager)

    response = upload(client, "patients", as_bytes(ROSTER))

    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("patients:import_detail", args=[run.pk])
    assert queued == [(run.pk,)]  # the id, never the file or its records
    assert run.status == ImportStatus.QUEUED and not Patient.objects.exists()
    assert [p.name for p in import_files_dir.iterdir()] == [run.stored_file]
    page = client.get(response.url).content.decode()
    assert "Waiting for a worker" in page
    assert reverse("patients:import_progress", args=[run.pk]) in page

    import_upload_run(run_id=run.pk)  # what the worker does

    run.refresh_from_db()
    assert (run.status, run.created, run.started_by) == (ImportStatus.COMPLETED, 3, manager)
    assert Patient.objects.count() == 3
    assert run.stored_file == "" and list(import_files_dir.iterdir()) == []
    assert "Waiting for a worker" not in client.get(response.url).content.decode()


def test_a_task_delivered_twice_imports_the_file_once(client, manager, practice, queued):
    client.force_login(manager)
    upload(client, "patients", as_bytes(ROSTER))
    run = ImportRun.objects.get()

    first = import_upload_run(run_id=run.pk)
    second = import_upload_run(run_id=run.pk)

    assert first.created == 3 and second is None
    assert ImportRun.objects.get().status == ImportStatus.COMPLETED


def test_the_progress_bar_is_a_progress_element_polled_while_the_import_runs(client, manager):
    run = ImportRun.objects.create(
        kind="events",
        source="feed_csv",
        status=ImportStatus.RUNNING,
        progress_done=420,
        progress_total=1000,
    )
    client.force_login(manager)

    fragment = client.get(reverse("patients:import_progress", args=[run.pk]))
    page = client.get(reverse("patients:imports")).content.decode()

    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert re.search(r'<progress[^>]*max="100"[^>]*value="42"', html)
    assert 'hx-trigger="every 2s"' in html
    assert "42% of the file imported" in html
    assert "<progress" in page  # the imports page shows it too
    for text in (html, page):
        assert "style=" not in text and "<script>" not in text.replace(" ", "")


def test_a_finished_import_tells_the_polling_page_to_reload(client, manager):
    run = ImportRun.objects.create(kind="events", source="feed_csv", status="completed")
    client.force_login(manager)

    response = client.get(
        reverse("patients:import_progress", args=[run.pk]), HTTP_HX_REQUEST="true"
    )

    assert response["HX-Refresh"] == "true"
    assert "hx-trigger" not in response.content.decode()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_progress_is_visible_outside_the_import_while_it_runs(
    client, manager, practice, imports_in_process, monkeypatch
):
    """The import is one transaction: its progress goes by a connection of its own."""
    monkeypatch.setattr(feed_import, "BATCH_SIZE", 2)
    monkeypatch.setattr(feed_import, "PROGRESS_INTERVAL", 0)
    for mrn in ("MRN-1", "MRN-2"):
        PatientFactory(external_id=mrn)
    seen = []
    real_writer = feed_import._event_writer

    def watching_writer(source):
        write = real_writer(source)

        def write_and_look(rows):
            write(rows)
            run = ImportRun.objects.get(kind="events")  # another statement, committed data only
            seen.append((run.progress_done, run.progress_total, run.heartbeat_at))

        return write_and_look

    monkeypatch.setattr(feed_import, "_event_writer", watching_writer)
    client.force_login(manager)

    upload(client, "events", as_bytes(EVENTS))

    size = len(as_bytes(EVENTS))
    assert len(seen) == 4  # 7 events, 2 a batch
    assert all(total == size for _done, total, _beat in seen[1:])
    assert 0 < seen[1][0] <= seen[-1][0] <= size
    assert ActivityEvent.objects.count() == 7


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_roster_upload_shows_how_much_of_the_file_is_imported(
    client, manager, practice, imports_in_process, monkeypatch
):
    monkeypatch.setattr(feed_import, "BATCH_SIZE", 2)
    monkeypatch.setattr(feed_import, "PROGRESS_INTERVAL", 0)
    seen = []
    real_store = feed_import._store_patients

    def store_and_look(accepted, codes, report):
        real_store(accepted, codes, report)
        run = ImportRun.objects.get(kind="patients")  # committed data only
        progress_bar = render_to_string("patients/includes/import_progress.html", {"run": run})
        seen.append((run.progress_done, run.progress_total, progress_bar))

    monkeypatch.setattr(feed_import, "_store_patients", store_and_look)
    client.force_login(manager)

    upload(client, "patients", as_bytes(ROSTER))

    assert len(seen) == 2  # 3 patients, 2 a batch: the second batch sees the first's progress
    done, total, progress_bar = seen[1]
    assert total == len(as_bytes(ROSTER))  # bytes of the file, not records
    assert 0 < done <= total
    assert "% of the file imported" in progress_bar
    assert Patient.objects.count() == 3


def test_a_file_over_the_limit_is_refused_with_the_limit_and_the_setting_named(
    client, manager, settings, import_files_dir
):
    settings.IMPORT_UPLOAD_MAX_MB = 1
    client.force_login(manager)
    big = as_bytes(EVENTS_HEADER + "\n" + "x" * (1024 * 1024 + 10))

    response = upload(client, "events", big)

    assert response.status_code == 400
    text = response.content.decode()
    assert "up to 1 MB" in text and "IMPORT_UPLOAD_MAX_MB" in text
    assert not ImportRun.objects.exists() and not import_files_dir.exists()


def test_a_request_declaring_a_body_over_the_limit_is_refused_before_it_is_read(
    client, manager, settings
):
    settings.IMPORT_UPLOAD_MAX_MB = 1
    client.force_login(manager)

    response = client.post(
        reverse("patients:imports"),
        data=b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(200 * 1024 * 1024),
    )

    assert response.status_code == 413
    assert "The file is 200.0 MB" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_the_sweep_fails_a_run_whose_worker_stopped_with_the_reason(db, settings, import_files_dir):
    settings.IMPORT_STALL_MINUTES = 15
    now = timezone.now()
    import_files_dir.mkdir()
    (import_files_dir / "abandoned.csv").write_text("external_id\n")

    def run(status, minutes_ago, **fields):
        beat = now - dt.timedelta(minutes=minutes_ago)
        return ImportRun.objects.create(
            kind="events", source="feed_csv", status=status, heartbeat_at=beat, **fields
        )

    dead = run(ImportStatus.RUNNING, 16, stored_file="abandoned.csv")
    never_taken = run(ImportStatus.QUEUED, 20)
    alive = run(ImportStatus.RUNNING, 2)
    done = run(ImportStatus.COMPLETED, 60)

    assert import_runs_fail_stalled(now=now) == 2

    statuses = dict(ImportRun.objects.values_list("pk", "status"))
    assert statuses == {
        dead.pk: "failed",
        never_taken.pk: "failed",
        alive.pk: "running",
        done.pk: "completed",
    }
    dead.refresh_from_db()
    never_taken.refresh_from_db()
    assert "no progress for 15 minutes" in dead.failure
    assert "No worker took this import" in never_taken.failure
    assert dead.finished_at == now
    assert list(import_files_dir.iterdir()) == []


def test_the_sweep_is_on_the_beat_schedule_and_runs_as_a_task(db, settings):
    run = ImportRun.objects.create(
        kind="events",
        source="feed_csv",
        status=ImportStatus.RUNNING,
        heartbeat_at=timezone.now() - dt.timedelta(hours=2),
    )
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "patients.tasks.fail_stalled_imports" in tasks_scheduled
    assert tasks.fail_stalled_imports.apply().get() == 1
    assert ImportRun.objects.get(pk=run.pk).status == ImportStatus.FAILED


def test_a_web_fhir_upload_nested_too_deep_answers_400_with_the_reason(
    client, manager, imports_in_process
):
    client.force_login(manager)
    deep = '{"resourceType": "Bundle", "entry": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = upload(client, "fhir", deep.encode(), name="bundle.json")

    assert response.status_code == 400
    assert f"more than {MAX_JSON_DEPTH} levels" in response.content.decode()
    assert ImportRun.objects.get().status == ImportStatus.FAILED


def test_hostile_values_in_an_upload_are_rejected_alone_and_their_pages_work(
    client, manager, practice, imports_in_process
):
    client.force_login(manager)
    upload(client, "patients", as_bytes(ROSTER))
    lines = EVENTS.splitlines()
    lines[3] = lines[3].replace("login", "login\x00")
    content = (
        "\n".join(lines).encode() + b"\ne8,MRN-1,login,2026-01-06T20:15:00Z,app\xed\xa0\x80,,,,\n"
    )

    response = upload(client, "events", content)

    run = ImportRun.objects.get(kind="events")
    assert response.status_code == 302
    assert (run.status, run.created, run.rejected) == ("completed", 6, 2)
    detail = client.get(reverse("patients:import_detail", args=[run.pk]))
    download = client.get(reverse("patients:import_rejections_csv", args=[run.pk]))
    assert detail.status_code == 200 and download.status_code == 200
    text = b"".join(download.streaming_content).decode()
    assert "\ufffd" in text and "\x00" not in text


@requires_postgres
def test_an_import_goes_on_when_its_progress_cannot_be_written(practice, monkeypatch):
    def no_connection(alias):
        raise OperationalError("too many connections")

    monkeypatch.setattr(feed_import, "PROGRESS_INTERVAL", 0)
    monkeypatch.setattr(feed_import.connections, "create_connection", no_connection)

    report = patients_import(
        patient_rows(io.BytesIO(as_bytes(ROSTER))), source=EventSource.FEED_CSV
    )

    assert report.created == 3
    assert ImportRun.objects.get().status == ImportStatus.COMPLETED


@requires_postgres
def test_a_progress_write_that_failed_is_not_tried_again_at_every_batch(
    practice, monkeypatch, caplog
):
    """A database refusing connections is not asked again each second (only after
    PROGRESS_RETRY_SECONDS); the log says it once."""
    tries = []

    def no_connection(alias):
        tries.append(alias)
        raise OperationalError("too many connections")

    monkeypatch.setattr(feed_import, "BATCH_SIZE", 1)
    monkeypatch.setattr(feed_import, "PROGRESS_INTERVAL", 0)
    monkeypatch.setattr(feed_import.connections, "create_connection", no_connection)

    with caplog.at_level(logging.WARNING, logger="patients.feed_import"):
        report = patients_import(
            patient_rows(io.BytesIO(as_bytes(ROSTER))), source=EventSource.FEED_CSV
        )

    assert report.created == 3  # three batches, three beats
    assert len(tries) == 1
    warnings = [r for r in caplog.records if "progress not written" in r.getMessage()]
    assert len(warnings) == 1


@requires_postgres
def test_progress_is_written_again_once_the_database_takes_connections_again(
    practice, monkeypatch, caplog
):
    """One refused connection does not silence the run for good: the sweep would
    take a live import for a dead one. The next try opens a fresh connection."""
    tries = []
    create = feed_import.connections.create_connection

    def refused_once(alias):
        tries.append(alias)
        if len(tries) == 1:
            raise OperationalError("too many connections")
        return create(alias)

    monkeypatch.setattr(feed_import, "BATCH_SIZE", 1)
    monkeypatch.setattr(feed_import, "PROGRESS_INTERVAL", 0)
    monkeypatch.setattr(feed_import, "PROGRESS_RETRY_SECONDS", 0)
    monkeypatch.setattr(feed_import.connections, "create_connection", refused_once)

    with caplog.at_level(logging.INFO, logger="patients.feed_import"):
        report = patients_import(
            patient_rows(io.BytesIO(as_bytes(ROSTER))), source=EventSource.FEED_CSV
        )

    assert report.created == 3
    assert len(tries) == 2  # refused, then a fresh connection kept for the other beats
    messages = [r.getMessage() for r in caplog.records]
    assert sum("progress not written" in m for m in messages) == 1
    assert sum("progress written again" in m for m in messages) == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_an_import_waiting_for_the_one_ahead_keeps_saying_it_is_alive(practice, monkeypatch):
    monkeypatch.setattr(feed_import, "PROGRESS_INTERVAL", 0.1)
    ahead = connections.create_connection(DEFAULT_DB_ALIAS)  # an import holding the feed
    with ahead.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [feed_import.FEED_LOCK_ID])
    outcome = []

    def second_import():
        try:
            rows = patient_rows(io.BytesIO(as_bytes(ROSTER)))
            outcome.append(patients_import(rows, source=EventSource.FEED_CSV).created)
        finally:
            connection.close()

    waiting = threading.Thread(target=second_import)
    waiting.start()
    try:
        run = _wait_for_run()
        first_beat = run.heartbeat_at
        time.sleep(1)
        run.refresh_from_db()
        assert run.status == ImportStatus.RUNNING and not Patient.objects.exists()
        assert run.heartbeat_at > first_beat
    finally:
        ahead.close()  # the import ahead ends
        waiting.join(timeout=30)
    assert outcome == [3]


def _wait_for_run(timeout: float = 10) -> ImportRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = ImportRun.objects.first()
        if run is not None:
            return run
        time.sleep(0.02)
    raise AssertionError("the import never started")
