"""Files uploaded on the imports page: stored, run by a worker, and failed if the worker dies.

A large file takes longer than a web request may (gunicorn kills a worker
after 30 s), so the page only stores the file and records a queued run; a
Celery task (patients.tasks.import_upload, given the run's id only) imports
it with the same engine as every other way in, reporting its progress as it
goes. A run that shows no sign of life for IMPORT_STALL_MINUTES is failed by
a sweep (patients.tasks.fail_stalled_imports, every five minutes).
"""

import logging
import uuid
from datetime import datetime, timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from patients.feed import storable_text
from patients.feed_csv import event_rows, patient_rows
from patients.feed_import import (
    FeedFileInvalid,
    ImportProgress,
    ImportReport,
    events_import,
    import_run_fail,
    patients_import,
)
from patients.fhir import fhir_import_file
from patients.models import EventSource, ImportKind, ImportRun, ImportStatus

logger = logging.getLogger(__name__)

UPLOAD_SOURCES = {
    ImportKind.PATIENTS: EventSource.FEED_CSV,
    ImportKind.EVENTS: EventSource.FEED_CSV,
    ImportKind.FHIR: EventSource.FEED_FHIR,
}


def import_files():
    return storages["imports"]


def upload_limit_bytes() -> int:
    return settings.IMPORT_UPLOAD_MAX_MB * 1024 * 1024


def upload_too_large_message(size: int) -> str:
    return _(
        "The file is %(size)s MB; the imports page takes files up to %(limit)d MB "
        "(the IMPORT_UPLOAD_MAX_MB setting). Split the file, or import it on the server "
        "with manage.py import_patients, import_events or import_fhir."
    ) % {"size": f"{size / (1024 * 1024):.1f}", "limit": settings.IMPORT_UPLOAD_MAX_MB}


def import_upload_accept(*, kind: str, upload, user) -> ImportRun:
    """Store the file, record a queued run, and hand its id to a worker after commit."""
    suffix = PurePath(upload.name).suffix.lower()[:8]
    stored = import_files().save(f"{uuid.uuid4().hex}{suffix}", upload)
    try:
        run = ImportRun.objects.create(
            kind=kind,
            source=UPLOAD_SOURCES[kind],
            file_name=storable_text(upload.name)[:255],
            started_by=user,
            status=ImportStatus.QUEUED,
            heartbeat_at=timezone.now(),
            stored_file=stored,
        )
    except Exception:
        import_files().delete(stored)
        raise
    # The worker must find the run: hand it over once it is committed.
    transaction.on_commit(lambda: _enqueue(run))
    return run


def _enqueue(run: ImportRun) -> None:
    from patients.tasks import import_upload

    try:
        import_upload.delay(run.pk)
    except Exception as error:  # the broker is unreachable: say so now, not in 15 minutes
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            logger.warning("could not enqueue import run %s: %s", run.pk, type(error).__name__)
            import_run_fail(
                run=run,
                error=FeedFileInvalid(
                    _(
                        "The import could not be handed to a worker (the task queue did not "
                        "answer). Nothing was imported: upload the file again in a moment."
                    )
                ),
            )
            _discard_file(run)
            return
        raise


def import_upload_run(*, run_id: int) -> ImportReport | None:
    """Import a queued upload; None if it is not queued (run already, or failed by the sweep).

    The run is claimed by compare-and-set, so a task delivered twice imports once.
    """
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, heartbeat_at=timezone.now()
    )
    if not claimed:
        return None
    run = ImportRun.objects.select_related("started_by").get(pk=run_id)
    try:
        with import_files().open(run.stored_file, "rb") as stored:
            return _import_stored(run, stored.file)
    except FeedFileInvalid:
        return None  # recorded with the run by the engine
    except OSError as error:
        logger.error("import run %s: the stored file cannot be read: %s", run.pk, type(error))
        import_run_fail(run=run, error=_file_unreadable())
        return None
    except Exception as error:
        # Recorded with the run by the engine; the message may quote the file, so only its kind.
        logger.error("import run %s failed: %s", run.pk, type(error).__name__)
        return None
    finally:
        _discard_file(run)


def _import_stored(run: ImportRun, stream) -> ImportReport:
    if run.kind == ImportKind.FHIR:
        return fhir_import_file(stream, run=run, progress=ImportProgress(run.pk))
    rows, importer = (
        (patient_rows, patients_import)
        if run.kind == ImportKind.PATIENTS
        else (event_rows, events_import)
    )
    size = import_files().size(run.stored_file)
    # Progress in bytes of the file read: the rows are read as they are imported.
    progress = ImportProgress(run.pk, done=lambda _report: stream.tell(), total=size)
    return importer(rows(stream), source=run.source, run=run, progress=progress)


def _file_unreadable() -> FeedFileInvalid:
    return FeedFileInvalid(
        _(
            "The worker could not read the uploaded file. Web servers and workers must share "
            "the IMPORT_FILES_DIR directory. Nothing was imported: upload the file again."
        )
    )


def _discard_file(run: ImportRun) -> None:
    """The file holds patient data: it goes as soon as it has been imported or given up."""
    if run.stored_file:
        import_files().delete(run.stored_file)
        ImportRun.objects.filter(pk=run.pk).update(stored_file="")
        run.stored_file = ""


def import_runs_fail_stalled(*, now: datetime | None = None) -> int:
    """Fail every run that has shown no sign of life for IMPORT_STALL_MINUTES.

    Its worker died (a deploy, an out-of-memory kill) or never took it; its
    transaction died with it, so nothing of it was written. Compare-and-set
    on the heartbeat: a run that beats meanwhile is left alone.
    """
    now = now or timezone.now()
    minutes = settings.IMPORT_STALL_MINUTES
    cutoff = now - timedelta(minutes=minutes)
    stalled = ImportRun.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff),
        status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING],
    )
    failed = 0
    for run in stalled:
        reason = _stalled_reason(run, minutes)
        failed += ImportRun.objects.filter(
            pk=run.pk, status=run.status, heartbeat_at=run.heartbeat_at
        ).update(status=ImportStatus.FAILED, finished_at=now, failure=reason[:300])
        _discard_file(run)
    return failed


def _stalled_reason(run: ImportRun, minutes: int) -> str:
    if run.status == ImportStatus.QUEUED:
        return _(
            "No worker took this import within %(minutes)d minutes (are the Celery workers "
            "running?). Nothing was imported: upload the file again."
        ) % {"minutes": minutes}
    return _(
        "The import stopped: no progress for %(minutes)d minutes, so its worker has stopped "
        "(a restart or out of memory). Nothing of it was written: import the file again."
    ) % {"minutes": minutes}
