"""Background work for the dashboard: the nightly rollup of the monthly figures."""

import logging

from celery import shared_task

from metrics.drawings import drawings_prerender
from metrics.services import rollup_nightly

log = logging.getLogger(__name__)


@shared_task(acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60)
def nightly_rollup() -> dict:
    """Recompute yesterday's month, the current month and every stale month.

    Takes no arguments (no patient data goes through the broker). Safe to run
    twice or after a crash: each month is replaced whole in one transaction.
    A month that fails is recorded for the managers' nightly page and tried
    again the next night; the task itself succeeds, so Celery does not run
    the months that worked again.
    """
    run = rollup_nightly()
    # Redraw the stored PDF and charts this run changed (metrics.drawings).
    drawings_prerender(months=run.months)
    if run.failures:
        log.warning(
            "nightly rollup: %d step(s) failed, %d month(s) done; see the nightly page",
            len(run.failures),
            len(run.months),
        )
    return {"months": [f"{month:%Y-%m}" for month in run.months], "failed": len(run.failures)}
