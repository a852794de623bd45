"""Background work for the feed: uploaded files, and the sweep of imports whose worker died."""

from celery import shared_task
from django.conf import settings

from patients.import_services import import_runs_fail_stalled, import_upload_run


@shared_task(acks_late=True, time_limit=settings.CELERY_TASK_TIME_LIMIT)
def import_upload(run_id: int) -> int | None:
    """Import an uploaded file, by its run's id (the file itself waits in storage)."""
    report = import_upload_run(run_id=run_id)
    return report.received if report else None


@shared_task(acks_late=True, time_limit=120)
def fail_stalled_imports() -> int:
    """Runs with no sign of life for IMPORT_STALL_MINUTES are failed, with the reason."""
    return import_runs_fail_stalled()
