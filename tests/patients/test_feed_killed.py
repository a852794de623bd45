"""A nightly import killed half-way (a deploy, an out-of-memory kill) leaves no trace,
and the sweep fails its run, which would otherwise say "running" forever."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files import File
from django.db import connection
from django.utils import timezone

from patients.import_services import import_runs_fail_stalled, import_upload_accept
from patients.models import ActivityEvent, ImportRun, ImportStatus, Patient
from tests.conftest import requires_postgres
from tests.factories import PatientFactory

ROOT = Path(__file__).resolve().parents[2]
EVENT_COUNT = 300_000


def write_big_events_file(path: Path, patients: list[str]) -> None:
    with path.open("w") as out:
        out.write("event_id,patient_external_id,type,occurred_at,channel\n")
        for n in range(EVENT_COUNT):
            out.write(f"k{n},{patients[n % len(patients)]},login,2026-01-05T09:00:00Z,portal\n")


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_killing_an_import_midway_leaves_the_event_log_as_before(tmp_path):
    mrns = [PatientFactory().external_id for _ in range(20)]
    events_file = tmp_path / "events.csv"
    write_big_events_file(events_file, mrns)
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_events", str(events_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    empty_size = _event_table_size()
    try:
        _wait_until_rows_are_written(empty_size)
        assert process.poll() is None, "the import finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    _wait_until_the_killed_session_ends()
    assert not ActivityEvent.objects.exists()
    assert Patient.objects.count() == 20
    assert ImportRun.objects.get().status == "running"  # killed: it could not say more
    _sweep_fails_the_run()


def _sweep_fails_the_run() -> ImportRun:
    later = timezone.now() + timedelta(minutes=settings.IMPORT_STALL_MINUTES + 1)
    assert import_runs_fail_stalled(now=later) == 1
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.FAILED
    assert "no progress for" in run.failure and "Nothing of it was written" in run.failure
    return run


@requires_postgres
@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL; CI does)")
@pytest.mark.django_db(transaction=True)
def test_a_web_upload_whose_worker_is_killed_is_failed_by_the_sweep(tmp_path, import_files_dir):
    mrns = [PatientFactory().external_id for _ in range(20)]
    events_file = tmp_path / "events.csv"
    write_big_events_file(events_file, mrns)
    worker = _start_worker(import_files_dir)
    try:
        with events_file.open("rb") as stream:
            run = import_upload_accept(kind="events", upload=File(stream, "events.csv"), user=None)
        _wait_until_progress_shows(run)
        assert worker.poll() is None, "the worker stopped before it could be killed"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    _wait_until_the_killed_session_ends()
    run.refresh_from_db()
    assert run.status == ImportStatus.RUNNING and run.progress_done > 0
    assert not ActivityEvent.objects.exists()
    run = _sweep_fails_the_run()
    assert run.stored_file == "" and list(import_files_dir.iterdir()) == []


def _start_worker(files_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "IMPORT_FILES_DIR": str(files_dir),
    }
    command = [sys.executable, "-m", "celery", "-A", "portal_adoption", "worker", "--pool", "solo"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_until_progress_shows(run: ImportRun, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status == ImportStatus.RUNNING and run.progress_done > 0:
            return
        assert run.status != ImportStatus.COMPLETED, "the import ended before it could be killed"
        time.sleep(0.02)
    raise AssertionError("the worker never showed progress")


def _wait_until_the_killed_session_ends(timeout: float = 120) -> None:
    # A killed client's PostgreSQL session runs its statement to the end and only
    # then finds the socket closed and rolls back. Until then its transaction is
    # merely uncommitted, so "nothing was written" would hold trivially, and its
    # locks would collide with the test's own teardown (flush) under load.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.02)
    raise AssertionError("the killed process's database session never ended")


def _event_table_size() -> int:
    # Uncommitted rows are invisible to other sessions, but they take up room
    # in the table's file: its size says the import is writing. The log is
    # partitioned by month: the sum of its partitions' files.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(pg_relation_size(relid)), 0)::bigint "
            "FROM pg_partition_tree('patients_activityevent')"
        )
        return cursor.fetchone()[0]


def _wait_until_rows_are_written(empty_size: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _event_table_size() > empty_size + 256 * 1024:
            return
        time.sleep(0.02)
    raise AssertionError("the import never wrote a batch")
