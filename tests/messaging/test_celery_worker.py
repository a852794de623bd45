"""A real Celery worker, on the CI's Redis and PostgreSQL, sends a claimed reminder once."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from messaging.models import Communication
from messaging.tasks import send_communication
from tests.conftest import requires_postgres
from tests.factories import PatientFactory

ROOT = Path(__file__).resolve().parents[2]


def worker_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@requires_postgres
@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL; CI does)")
@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_a_queued_reminder_exactly_once():
    patient = PatientFactory()
    communication = Communication.objects.create(
        patient=patient, rule="app_nudge", period="once", channel="email", body="Hello"
    )
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal_adoption",
            "worker",
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        send_communication.delay(communication.pk)
        send_communication.delay(communication.pk)  # delivered twice: sent once
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            communication.refresh_from_db()
            if communication.status == "sent":
                break
            time.sleep(0.2)
        time.sleep(1)  # let the second delivery run too
        communication.refresh_from_db()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert communication.status == "sent"
    assert communication.attempts == 1
