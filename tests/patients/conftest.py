import pytest
from django.db import transaction

from patients import tasks
from portal_adoption.celery import app as celery_app


@pytest.fixture
def import_files_dir(settings, tmp_path):
    """Uploaded files wait here for their worker, not under var/."""
    folder = tmp_path / "imports"
    settings.IMPORT_FILES_DIR = str(folder)
    settings.STORAGES = {
        **settings.STORAGES,
        "imports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder


@pytest.fixture
def commits_at_once(monkeypatch):
    """Work enqueued "after commit" runs at once, as in production.

    A view runs in autocommit: an upload's run is committed as it is written,
    and what waits for the commit starts at once. In a test the whole test is
    one transaction that never commits, so it would never start.
    """
    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


@pytest.fixture
def imports_in_process(settings, import_files_dir, commits_at_once):
    """Tasks run at once, in this process, as they do without Redis (make run)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield import_files_dir
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def queued(monkeypatch, import_files_dir, commits_at_once):
    """The task queue: what was handed to it, not yet run by any worker."""
    handed = []
    monkeypatch.setattr(tasks.import_upload, "delay", lambda *args, **kw: handed.append(args))
    return handed
