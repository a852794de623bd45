"""Maria's reports read the nightly rollup: the same figures as the live computation,
kept fresh by the stale-month rule, and a page that does not grow with the history."""

import dataclasses
import datetime as dt
import io
import random
from zoneinfo import ZoneInfo

import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enrollment.selectors.reports import incentive_cohorts, rolled_incentive_cohorts
from messaging.models import ResponseTally, ResponseTallyMonth
from messaging.selectors.reports import (
    response_times_by_category,
    response_times_by_hour_of_week,
    rolled_response_times_by_category,
    rolled_response_times_by_hour_of_week,
)
from metrics.services import rollup_nightly
from patients.models import EventType
from tests.enrollment.test_reports import cohorts  # noqa: F401  (a fixture)
from tests.factories import PatientFactory
from tests.messaging.test_reports import (  # noqa: F401  (february is a fixture)
    ADMINISTRATIVE,
    event,
    february,
    local,
    message,
)

REPORT = "messaging:report_response_times"


def rollup(*months: str) -> None:
    for month in months:
        call_command("rollup_metrics", "--month", month, stdout=io.StringIO())


def live_part(report):
    """The report without where its figures came from."""
    return dataclasses.replace(report, as_of=None, pending=())


def test_the_rolled_up_report_equals_the_live_one(february, patient):  # noqa: F811
    # Odd times to the microsecond, an even count per group (the median of two middles),
    # a call as the first response, and a message answered only through the portal's feed.
    rng = random.Random(15)
    for n in range(40):
        sent = local(2026, 2, 1 + n % 27, rng.randrange(24), rng.randrange(60))
        sent += dt.timedelta(microseconds=rng.randrange(10**6))
        answered = sent + dt.timedelta(microseconds=rng.randrange(1, 90 * 3_600_000_000))
        message(patient, sent, answered if n % 7 else None, ADMINISTRATIVE if n % 3 else "billing")
    sent = local(2026, 2, 12, 20, 5)
    event(patient, EventType.MESSAGE_FROM_PATIENT, sent, "feed-only")
    event(patient, EventType.RESPONSE_BY_PHONE, sent + dt.timedelta(hours=3), reply_to="feed-only")
    rollup("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06")

    live = response_times_by_category(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    rolled = rolled_response_times_by_category(dt.date(2026, 2, 1))
    assert rolled.total.replied >= 35 and "not_in_queue" in [row.key for row in rolled.rows]
    assert live_part(rolled) == live
    assert rolled.as_of == ResponseTallyMonth.objects.get(month=dt.date(2026, 2, 1)).computed_at

    since = dt.date(2026, 2, 3)
    live_grid = response_times_by_hour_of_week(since, now=local(2026, 6, 30, 12, 0))
    rolled_grid = rolled_response_times_by_hour_of_week(since, today=dt.date(2026, 6, 30))
    assert rolled_grid.replied > 30
    assert live_part(rolled_grid) == live_grid  # the grid, the means, medians and targets
    assert rolled_grid.pending == ()


def test_a_month_not_rolled_up_yet_is_named_not_guessed(february):  # noqa: F811
    report = rolled_response_times_by_category(dt.date(2026, 2, 1))
    assert (report.total.replied, report.as_of, report.pending) == (0, None, (dt.date(2026, 2, 1),))


# A fixed mid-month day: on 2026-12-01 (practice time) the old month's first rollup
# counted nothing, on code that had passed the evening before.
@time_machine.travel(
    dt.datetime(2026, 11, 18, 14, 30, tzinfo=ZoneInfo("America/New_York")), tick=True
)
def test_a_late_reply_to_an_old_month_makes_it_stale_and_the_night_recomputes_it(patient):
    today = timezone.localdate()
    old = (today.replace(day=1) - dt.timedelta(days=40)).replace(day=1)
    sent = timezone.make_aware(dt.datetime.combine(old.replace(day=3), dt.time(10, 0)))
    waiting = message(patient, sent)
    call_command("rollup_metrics", "--all", stdout=io.StringIO())
    grid = rolled_response_times_by_hour_of_week(old)
    assert (grid.business_hours.received, grid.replied) == (1, 0)

    # Answered today: the old month's "by hour of the week" rows change.
    event(patient, EventType.MESSAGE_TO_PATIENT, timezone.now(), reply_to=waiting.message_id)
    # A call imported late, made in the old month, answers another of its messages.
    other = message(patient, sent + dt.timedelta(days=1))
    event(
        patient,
        EventType.RESPONSE_BY_PHONE,
        sent + dt.timedelta(days=1, hours=2),
        reply_to=other.message_id,
    )
    rollup_nightly()

    grid = rolled_response_times_by_hour_of_week(old)
    assert (grid.business_hours.received, grid.replied) == (2, 2)
    by_category = rolled_response_times_by_category(old)
    assert (by_category.total.replied, by_category.total.responses_by_phone) == (1, 1)


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert (
            client.get(reverse(REPORT), {"month": f"{timezone.localdate():%Y-%m}"}).status_code
            == 200
        )
    return len(queries)


def test_the_page_reads_as_many_queries_for_50_messages_as_for_5(client, manager):
    def messages(count):
        now = timezone.now()
        for n in range(count):
            sent = now - dt.timedelta(days=n % 20, hours=3)
            message(PatientFactory(), sent, sent + dt.timedelta(hours=1 + n % 5))
        call_command("rollup_metrics", "--all", stdout=io.StringIO())

    client.force_login(manager)
    messages(5)
    few = _page_queries(client)
    messages(45)
    assert ResponseTally.objects.filter(replied__gt=0).exists()
    assert _page_queries(client) == few


def test_the_rolled_up_cohorts_equal_the_live_ones(cohorts):  # noqa: F811
    call_command("rollup_metrics", "--all", stdout=io.StringIO())
    since = dt.date(2026, 1, 1)
    rolled = rolled_incentive_cohorts(since)
    assert rolled.incentivised.enrolled > 0 and rolled.pending == ()
    assert live_part(rolled) == incentive_cohorts(since, now=rolled.as_of)
    later = dt.date(2026, 2, 1)
    assert live_part(rolled_incentive_cohorts(later)) == incentive_cohorts(later, now=rolled.as_of)
