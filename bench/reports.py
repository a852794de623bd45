"""Time the managers' report pages read from the rollup, against the live computation.

    .venv/bin/python bench/reports.py --patients 20000 --events 500000 --months 12

Loads the event log with bench/rollup.py's loader (same options) into a
throwaway database, runs `rollup_all` (which now also rolls up the response-time
and incentive-cohort reports), then times, in the same run:
- GET /messages/reports/response-times/ (current month, default 13-week grid)
  and /enrollment/reports/incentives/ through the test client: p50/p95 and queries;
- the live computation the response-time page used to run (a month by category
  plus 13 weeks by hour of the week), once.
"""

import sys
import time

import rollup as loaded  # parses the same options (--patients, --events, --months, ...)
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

PAGES = ("messaging:report_response_times", "enrollment:report_incentives")


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
        manager = loaded.User.objects.create(username="bench-manager")
        loaded.staff_set_roles(user=manager, roles=[loaded.Role.MANAGER])
        client = Client()
        client.force_login(manager)
        loaded._pass_second_step(client, manager)
        for name in PAGES:
            url = reverse(name)
            assert client.get(url).status_code == 200
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            timings = []
            for _request in range(options.requests):
                began = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - began) * 1000)
            timings.sort()
            print(
                f"GET {url}: p50 {loaded._percentile(timings, 0.5):.1f} ms, "
                f"p95 {loaded._percentile(timings, 0.95):.1f} ms, {len(queries)} queries",
                flush=True,
            )
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
