"""Background work for the triage queue and the nightly outreach."""

import logging

from celery import shared_task

from messaging.channels import DeliveryError
from messaging.outreach import communication_send, communications_due, outreach_run
from messaging.services import message_release_lapsed

log = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=120)
def release_lapsed_claims() -> int:
    """Claims untouched for 30 minutes go back to their queue (idempotent)."""
    return message_release_lapsed()


@shared_task(
    acks_late=True,
    time_limit=60,
    autoretry_for=(DeliveryError,),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=6,
)
def send_communication(communication_id: int) -> str:
    """Send one claimed message; a repeat delivery of this task sends nothing twice."""
    return communication_send(communication_id)


@shared_task(acks_late=True, time_limit=30 * 60)
def nightly_outreach() -> int:
    """Tonight's reminders and campaigns. A failed rule or patient is recorded for the
    managers' nightly page and skipped; the task succeeds so the rest is not run twice."""
    run = outreach_run()
    if run.failed:
        log.warning("nightly outreach: %d step(s) failed; see the nightly page", run.failed)
    return run.pk


@shared_task(acks_late=True, time_limit=300)
def dispatch_due_communications() -> int:
    """Send what waited: texts held over quiet hours, enqueues lost while Redis was down."""
    due = communications_due()
    for communication_id in due:
        send_communication.delay(communication_id)
    return len(due)


@shared_task(acks_late=True, time_limit=300)
def frequent_outreach() -> int:
    """Results education and activity alerts, every few minutes (no arguments: no
    patient data in a task). A failed step is recorded for the nightly page."""
    from messaging.outreach.frequent import frequent_run

    counts, failed = frequent_run()
    if failed:
        log.warning("frequent outreach: %d step(s) failed; see the nightly page", failed)
    return sum(tally["claimed"] for tally in counts.values())
