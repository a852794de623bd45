"""Background work for the triage queue."""

from celery import shared_task

from messaging.services import message_release_lapsed


@shared_task(acks_late=True, time_limit=120)
def release_lapsed_claims() -> int:
    """Claims untouched for 30 minutes go back to their queue (idempotent)."""
    return message_release_lapsed()
