"""Time the managers' report pages read from the rollup, against the live computation.

    .venv/bin/python bench/reports.py --patients 20000 --events 500000 --months 12

Loads the event log with bench/rollup.py's loader (same options) into a
throwaway database, runs `rollup_all` (which now also rolls up the response-time
and incentive-cohort reports), then times, in the same run:
- GET /messages/reports/response-times/ (current month, default 13-week grid)
  and /enrollment/reports/incentives/ through the test client: p50/p95 and queries;
- the live computation the response-time page used to run (a month by category
  plus 13 weeks by hour of the week), once.

With `--reuse DATABASE` (a database kept by `bench/rollup.py --keep`: 100,000
patients and 10,000,000 events by default) it loads nothing and times every
manager report page, the dashboard and the nightly workers page
(MANAGER_PAGES), p50 and p95 of --requests requests each, with their
queries: the issue's "every manager report under 150 ms at 100,000 patients
and 10 million events"; then the nightly workers page again with its
preview counted on every load. It rolls up
this month and the last first if the kept database has no rollup of them.
"""

import sys
import time

import rollup as loaded  # parses the same options (--patients, --events, --months, ...)
from django.db import connection
from django.test import override_settings
from django.urls import reverse

PAGES = ("messaging:report_response_times", "enrollment:report_incentives")
MANAGER_PAGES = (
    "metrics:dashboard",
    "messaging:report_response_times",
    "messaging:report_bill_pay",
    "messaging:report_results_education",
    "enrollment:report_staff",
    "enrollment:report_declines",
    "enrollment:report_incentives",
    "program:recognition",
    "messaging:outreach",
)


def count_queries(client, url: str) -> int:
    """The statements one GET sends (a wrapper: with DEBUG off Django keeps no log)."""
    sent = []

    def counted(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        client.get(url)
    return len(sent)


def time_pages(client, names, requests: int) -> None:
    """p50/p95 of `requests` GETs of each page, after one unmeasured request."""
    for name in names:
        url = reverse(name)
        assert client.get(url).status_code == 200, url
        queries = count_queries(client, url)
        timings = loaded.request_timings(client, url, requests)
        print(
            f"GET {url}: p50 {loaded._percentile(timings, 0.5):.1f} ms, "
            f"p95 {loaded._percentile(timings, 0.95):.1f} ms, {queries} queries",
            flush=True,
        )


def time_kept(database: str, requests: int) -> None:
    connection.settings_dict["NAME"] = database
    connection.close()
    # The pages open on this month or the last one: both rolled up, as every night.
    this_month = loaded.practice_today().replace(day=1)
    for month in (loaded.previous_month(this_month), this_month):
        if not loaded.MonthlyRollup.objects.filter(month=month).exists():
            loaded.rollup_month(month)
    patients = loaded.Patient.objects.count()
    print(f"{database}: {patients:,} patients, {loaded.ActivityEvent.objects.count():,} events")
    manager = loaded.signed_in_manager("bench-reports-manager")
    time_pages(manager, MANAGER_PAGES, requests)
    # The nightly workers page keeps tonight's preview for OUTREACH_PREVIEW_MINUTES;
    # at 0 it counts on every load, as when the kept count has just run out.
    with override_settings(OUTREACH_PREVIEW_MINUTES=0):
        print("counting tonight's preview on every load:")
        time_pages(manager, ("messaging:outreach",), requests)


def main() -> None:
    import datetime as dt
    import random

    from messaging.selectors.reports import (
        response_times_by_category,
        response_times_by_hour_of_week,
    )

    options = loaded.OPTIONS
    rng = random.Random(options.seed)
    loaded.setup_test_environment()
    if options.reuse:
        time_kept(options.reuse, options.requests)
        return
    original = loaded.throwaway_database("reports")
    try:
        current = loaded.practice_today().replace(day=1)
        first = current
        for _month in range(options.months - 1):
            first = loaded.previous_month(first)
        window = (int(loaded.month_bounds(first)[0].timestamp()), int(time.time()))
        plans = loaded.load_roster(rng, window)
        loaded.load_events(rng, plans, window)
        events = loaded.ActivityEvent.objects.count()
        seconds, run = loaded.timed(loaded.rollup_all)
        print(
            f"{len(plans):,} patients, {events:,} events; rollup_all {seconds:.1f} s "
            f"({len(run.months)} months, with the report rollups)",
            flush=True,
        )
        time_pages(loaded.signed_in_manager("bench-manager"), PAGES, options.requests)
        today = loaded.practice_today()
        began = time.perf_counter()
        response_times_by_category(today.replace(day=1), today)
        response_times_by_hour_of_week(today - dt.timedelta(weeks=13))
        print(
            f"live computation the page ran before: {(time.perf_counter() - began) * 1000:.0f} ms"
        )
    finally:
        connection.close()
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
