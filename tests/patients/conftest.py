import pytest

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
def imports_in_process(settings, import_files_dir):
    """Tasks run at once, in this process, as they do without Redis (make run)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield import_files_dir
    celery_app.conf.task_always_eager = eager
