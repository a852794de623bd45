"""The monthly dashboard email (workflows.md): the PDF to every manager on the 1st."""

import smtplib

from celery import shared_task
from django.utils import timezone

from metrics.exports import ReportNotReady, monthly_report_send_once
from metrics.selectors import month_parse, month_previous

# The nightly rollup of the 1st finishes the month before; until then, try again.
NOT_READY_RETRY_SECONDS = 30 * 60


@shared_task(
    bind=True,
    acks_late=True,
    time_limit=15 * 60,
    max_retries=16,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=60,
    retry_backoff_max=60 * 60,
)
def send_monthly_report(self, month: str | None = None) -> int:
    """Email last month's practice PDF to the managers, once per month whatever the
    number of deliveries. `month` ("YYYY-MM") is for a manual re-run."""
    target = month_parse(month) if month else month_previous(timezone.localdate().replace(day=1))
    last_try = self.request.retries >= self.max_retries
    try:
        return monthly_report_send_once(month=target, require_complete=not last_try)
    except ReportNotReady as not_ready:
        raise self.retry(exc=not_ready, countdown=NOT_READY_RETRY_SECONDS) from not_ready
