"""Background work for the dashboard: the nightly rollup of the monthly figures."""

from celery import shared_task

from metrics.services import rollup_nightly


@shared_task(acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60)
def nightly_rollup() -> list[str]:
    """Recompute yesterday's month, the current month and every stale month.

    Takes no arguments (no patient data goes through the broker). Safe to run
    twice or after a crash: each month is replaced whole in one transaction.
    """
    return [f"{month:%Y-%m}" for month in rollup_nightly()]
