"""Maria's response-time report: per category, and by the hour of the week messages arrive."""

import datetime as dt
import io
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from messaging.models import QUEUE_FOR_CATEGORY, Category, Message, MessageStatus
from messaging.selectors.reports import (
    heat_level,
    response_times_by_category,
    response_times_by_hour_of_week,
)
from messaging.services import Inbound, message_receive, message_reply
from patients.models import Channel, EventType
from portal_adoption.business_calendar import BusinessCalendar
from portal_adoption.models import AccessLogEntry
from portal_adoption.roles import Role
from tests.factories import ActivityEventFactory
from tests.portal_adoption.test_page_shell import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE

NEW_YORK = ZoneInfo("America/New_York")
REPORT = "messaging:report_response_times"
CLINICAL, ADMINISTRATIVE = Category.CLINICAL, Category.ADMINISTRATIVE
MONDAY, TUESDAY, WEDNESDAY, FRIDAY, SATURDAY = 0, 1, 2, 4, 5
_ids = itertools.count(1)


def local(*args):
    return dt.datetime(*args, tzinfo=NEW_YORK)


def message(patient, received, replied=None, category=CLINICAL):
    """A message as the queue stores it, due times from the business calendar, with
    its events: the patient's message, and the reply naming it (metrics.md)."""
    calendar = BusinessCalendar()
    stored = Message.objects.create(
        message_id=f"report-{next(_ids)}",
        patient=patient,
        body="A question",
        sent_at=received,
        received_at=received,
        category=category,
        classified_by="rule",
        queue=QUEUE_FOR_CATEGORY[category],
        status=MessageStatus.ANSWERED if replied else MessageStatus.NEW,
        internal_due_at=calendar.internal_due(received),
        external_due_at=calendar.external_due(received),
        first_reply_at=replied,
    )
    event(patient, EventType.MESSAGE_FROM_PATIENT, received, stored.message_id)
    if replied:
        event(patient, EventType.MESSAGE_TO_PATIENT, replied, reply_to=stored.message_id)
    return stored


def event(patient, type, at, object_id=None, *, reply_to="", channel=Channel.PORTAL):
    return ActivityEventFactory(
        patient=patient,
        type=type,
        occurred_at=at,
        object_id=object_id or f"object-{next(_ids)}",
        reply_to=reply_to,
        channel=channel,
    )


@pytest.fixture
def february(patient):
    """Messages around February 2026 (Presidents' Day is Monday 16 February)."""
    p = patient
    # Clinical, answered in February: 2 h (in time), 18 h (evening, late), 1 h, 4 h.
    message(p, local(2026, 2, 4, 10, 0), local(2026, 2, 4, 12, 0))
    message(p, local(2026, 2, 4, 19, 0), local(2026, 2, 5, 13, 0))
    message(p, local(2026, 2, 9, 9, 0), local(2026, 2, 9, 10, 0))
    message(p, local(2026, 2, 11, 10, 30), local(2026, 2, 11, 14, 30))
    # On the holiday, 5 h, in time (due noon the next business day).
    message(p, local(2026, 2, 16, 10, 0), local(2026, 2, 16, 15, 0))
    # Administrative: arrived in January, answered on Monday 2 February (67 h, late).
    message(p, local(2026, 1, 30, 16, 0), local(2026, 2, 2, 11, 0), ADMINISTRATIVE)
    # Saturday night, answered 23:30 on the 28th (already 1 March in UTC): 1.5 h.
    message(p, local(2026, 2, 28, 22, 0), local(2026, 2, 28, 23, 30), ADMINISTRATIVE)
    # Friday afternoon, answered Monday 2 March: counts in March, 66 h.
    message(p, local(2026, 2, 27, 16, 0), local(2026, 3, 2, 10, 0), ADMINISTRATIVE)
    # Tuesday afternoon, never answered.
    message(p, local(2026, 2, 10, 14, 0), None, ADMINISTRATIVE)
    # Answered 23:30 on 31 January (1 February in UTC): January's.
    message(p, local(2026, 1, 31, 22, 0), local(2026, 1, 31, 23, 30))


def test_response_times_per_category_for_the_month_of_the_first_response(february):
    report = response_times_by_category(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    clinical, administrative, billing = report.rows
    assert [row.key for row in report.rows] == ["clinical", "administrative", "billing"]
    # Clinical: 2, 18, 1, 4 and 5 hours; the 18 h one missed the internal target.
    assert clinical.replied == 5
    assert clinical.mean_hours == pytest.approx(6.0)
    assert clinical.median_hours == pytest.approx(4.0)
    assert (clinical.within_target, clinical.within_target_percent) == (4, 80)
    # Administrative: 67 h (late) and 1.5 h (in time); the median of two is their mean,
    # 34.25 rounded half up to one decimal as the dashboard rounds.
    assert administrative.replied == 2
    assert administrative.mean_hours == 34.3
    assert administrative.median_hours == 34.3
    assert administrative.within_target == 1
    # Billing: no data, not zero.
    assert (billing.replied, billing.mean_hours, billing.median_hours) == (0, None, None)
    assert billing.within_target_percent is None
    total = report.total
    assert total.replied == 7
    assert total.mean_hours == round((2 + 18 + 1 + 4 + 5 + 67 + 1.5) / 7, 1) == 14.1
    assert total.median_hours == pytest.approx(4.0)
    assert total.within_target == 5


def test_the_hour_of_week_grid_groups_by_local_weekday_and_hour(february):
    report = response_times_by_hour_of_week(dt.date(2026, 2, 1), now=local(2026, 3, 15, 12, 0))
    filled = {
        (cell.weekday, cell.hour): (cell.replied, round(cell.mean_hours, 2), cell.heat)
        for day in report.grid
        for cell in day
        if cell.replied
    }
    assert filled == {
        (WEDNESDAY, 10): (2, 3.0, "1"),
        (WEDNESDAY, 19): (1, 18.0, "3"),
        (MONDAY, 9): (1, 1.0, "0"),
        (MONDAY, 10): (1, 5.0, "2"),
        (SATURDAY, 22): (1, 1.5, "0"),
        (FRIDAY, 16): (1, 66.0, "4"),
    }
    assert len(report.grid) == 7 and all(len(day) == 24 for day in report.grid)
    assert report.grid[TUESDAY][14].heat == "none"
    hour, cells = report.by_hour[10]
    assert hour == 10 and [c.weekday for c in cells] == list(range(7))
    assert report.replied == 7


def test_business_hours_against_evenings_weekends_and_holidays(february):
    report = response_times_by_hour_of_week(dt.date(2026, 2, 1), now=local(2026, 3, 15, 12, 0))
    business, after = report.business_hours, report.after_hours
    # Open: Wed 10:00 (2 h), Wed 10:30 (4 h), Mon 9:00 (1 h), Fri 16:00 (66 h, late),
    # and Tue 14:00 still waiting.
    assert (business.received, business.replied, business.waiting) == (5, 4, 1)
    assert business.mean_hours == 18.3  # 18.25, rounded half up
    assert business.median_hours == pytest.approx(3.0)
    assert (business.within_target, business.within_target_percent) == (3, 75)
    # Closed: Wed 19:00 (18 h, late), Sat 22:00 (1.5 h), the holiday at 10:00 (5 h).
    assert (after.received, after.replied, after.waiting) == (3, 3, 0)
    assert after.mean_hours == round((18 + 1.5 + 5) / 3, 1)
    assert after.median_hours == pytest.approx(5.0)
    assert after.within_target == 2


def test_heat_levels_follow_the_hour_limits():
    assert [heat_level(h) for h in (None, 0, 1.99, 2, 3.9, 4, 7.9, 8, 23.9, 24, 100)] == [
        "none",
        "0",
        "0",
        "1",
        "1",
        "2",
        "2",
        "3",
        "3",
        "4",
        "4",
    ]


def test_a_reply_from_the_queue_counts_this_month(nurse, patient):
    inbound = Inbound(
        message_id="report-live",
        patient=patient,
        subject="Swelling",
        body="swelling after surgery",
        sent_at=timezone.now(),
    )
    received = message_receive(inbound=inbound)[0]
    message_reply(message=received, body="Keep it raised.", by=nurse)
    today = timezone.localdate()
    report = response_times_by_category(today.replace(day=1), today)
    assert report.total.replied == 1
    assert report.total.mean_hours < 0.01
    grid = response_times_by_hour_of_week(today)
    assert grid.replied == 1


# --- The page -------------------------------------------------------------------------


def test_only_managers_and_administrators_see_the_report(client, personas):
    for role, user in personas.items():
        client.force_login(user)
        expected = 200 if role in {Role.MANAGER, Role.ADMINISTRATOR} else 403
        assert client.get(reverse(REPORT)).status_code == expected, role


def test_the_page_shows_both_tables_and_a_shaded_grid(client, manager, patient, february):
    # A message two days ago, answered 30 hours later: in the default 13 weeks of the grid.
    received = timezone.now() - dt.timedelta(days=2)
    message(patient, received, received + dt.timedelta(hours=30))
    call_command("rollup_metrics", "--all", stdout=io.StringIO())  # the page reads the rollup
    client.force_login(manager)
    response = client.get(reverse(REPORT), {"month": "2026-02"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "February 2026" in html
    assert "As of the rollup of" in html
    assert "6.0" in html and "34.3" in html and "80%" in html
    assert "Evenings, nights, weekends and holidays" in html
    assert 'class="heat heat-4"' in html and 'class="heat heat-none"' in html
    assert "30.0" in html
    assert "/static/css/reports.css" in html
    assert response.context["form"]["month"].value() == "2026-02"
    assert patient.family_name not in html and patient.given_name not in html
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_STYLE.search(html)
    assert not EVENT_HANDLER.search(html)
    assert AccessLogEntry.objects.count() == 0


def test_with_no_messages_the_page_says_what_to_do(client, manager):
    client.force_login(manager)
    response = client.get(reverse(REPORT))
    html = response.content.decode()
    assert response.status_code == 200
    assert "No message got its first response in this month" in html
    assert "No message sent in this period has had a reply or a call yet" in html
    today = timezone.localdate()
    assert response.context["by_category"].month_start == today.replace(day=1)
    assert response.context["by_hour"].since == today - dt.timedelta(weeks=13)


@pytest.mark.parametrize(
    "query",
    [
        {"month": "February"},
        {"month": "2999-01"},
        {"since": "2999-01-01"},
        {"since": "2000-01-01"},
    ],
)
def test_a_wrong_period_says_what_to_correct(client, manager, query):
    client.force_login(manager)
    response = client.get(reverse(REPORT), query)
    assert response.status_code == 400
    assert "Correct the period above" in response.content.decode()
