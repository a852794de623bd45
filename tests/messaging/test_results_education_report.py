"""The managers' results-education report line and the nightly page's frequent rules."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import Communication, OutreachSetting, ResultEducationItem
from messaging.rollups import results_education_months_changed
from messaging.selectors.results_education import (
    ViewShare,
    results_education_view_share,
    rolled_results_education_view_share,
)
from metrics.services import rollup_month
from patients.models import EventType
from tests.factories import ActivityEventFactory, PatientFactory

MONTH = dt.date(2026, 3, 1)


MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)


def at(day, hour):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def result(patient, object_id, released, viewed=None):
    ActivityEventFactory(
        patient=patient, type=EventType.RESULT_RELEASED, occurred_at=released, object_id=object_id
    )
    if viewed:
        ActivityEventFactory(
            patient=patient, type=EventType.RESULT_VIEWED, occurred_at=viewed, object_id=object_id
        )


def messaged(patient, object_id, status="sent", period="2026-03-10"):
    communication = Communication.objects.create(
        patient=patient,
        rule="results_education",
        period=period,
        channel="email",
        body="…",
        status=status,
    )
    ResultEducationItem.objects.create(
        communication=communication, patient=patient, result_key=object_id
    )
    return communication


def test_the_same_day_share_is_split_by_whether_a_message_was_sent(db):
    day = dt.date(2026, 3, 10)
    a, b = PatientFactory(), PatientFactory()
    result(a, "R1", at(day, 9), at(day, 20))  # messaged, viewed the same day
    result(a, "R2", at(day, 9), at(day + dt.timedelta(days=1), 9))  # messaged, next day
    messaged(a, "R1")
    ResultEducationItem.objects.create(
        communication=Communication.objects.get(), patient=a, result_key="R2"
    )
    result(b, "R1", at(day, 9), at(day, 10))  # same object id, another patient: not messaged
    result(b, "R3", at(day, 9), at(day + dt.timedelta(days=2), 9))
    result(b, "R4", at(day, 9))  # never viewed: not counted
    messaged(b, "R9", status="suppressed", period="2026-03-11")
    result(b, "R9", at(day, 9), at(day, 22))  # the message was not sent: not messaged
    line = results_education_view_share(MONTH)
    assert (line.messaged.viewed, line.messaged.same_day) == (2, 1)
    assert (line.not_messaged.viewed, line.not_messaged.same_day) == (3, 2)


def test_a_result_counts_in_the_month_of_its_first_view(db):
    patient = PatientFactory()
    result(patient, "R1", at(dt.date(2026, 2, 28), 9), at(dt.date(2026, 3, 1), 9))
    ActivityEventFactory(
        patient=patient,
        type=EventType.RESULT_VIEWED,
        occurred_at=at(dt.date(2026, 2, 28), 8),
        object_id="R-other",
    )
    result(patient, "R2", at(dt.date(2026, 2, 1), 9), at(dt.date(2026, 2, 1), 10))
    ActivityEventFactory(  # a second view in March of a result first viewed in February
        patient=patient,
        type=EventType.RESULT_VIEWED,
        occurred_at=at(dt.date(2026, 3, 2), 10),
        object_id="R2",
    )
    line = results_education_view_share(MONTH)
    assert (line.not_messaged.viewed, line.not_messaged.same_day) == (1, 0)


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo("America/New_York"))


def test_the_same_day_share_compares_local_days_at_their_edges(db, settings):
    """Eight results first viewed in March 2026 (practice time: New York), counted by hand.

    Messaged (a sent message covers them): M1 released 08:00, viewed 23:59 the
    same local day (already the next day in UTC): same day. M2 released 23:30,
    viewed 00:30 the next local day (the same day in UTC): not same day.
    Not messaged: N1 released and viewed the same morning: same day. N2 viewed
    but never released: not counted at all. N3's message was suppressed (not
    sent), viewed the day after release: not same day. N4 released on Feb 28
    at 23:50, viewed Mar 1 at 00:10 (the same day in UTC): March's, not same
    day. N5 viewed first in February (counted there), again in March: not
    counted. N6 released Mar 31 at 08:00, viewed at 23:55 (April in UTC):
    March's, same day. N7 viewed at 00:05 on Apr 1: April's, not counted.
    Messaged 2 viewed, 1 same day; not messaged 4 viewed, 2 same day.
    """
    settings.PRACTICE_TIME_ZONE = settings.TIME_ZONE = "America/New_York"
    a, b = PatientFactory(), PatientFactory()
    march_9, march_10 = dt.date(2026, 3, 9), dt.date(2026, 3, 10)
    result(a, "M1", local(march_10, 8), local(march_10, 23, 59))
    result(a, "M2", local(march_9, 23, 30), local(march_10, 0, 30))
    messaged(a, "M1")
    ResultEducationItem.objects.create(
        communication=Communication.objects.get(), patient=a, result_key="M2"
    )
    result(b, "N1", local(march_10, 8), local(march_10, 11))
    ActivityEventFactory(
        patient=b, type=EventType.RESULT_VIEWED, occurred_at=local(march_10, 9), object_id="N2"
    )
    messaged(b, "N3", status="suppressed", period="2026-03-11")
    result(b, "N3", local(march_9, 8), local(march_10, 8))
    result(b, "N4", local(dt.date(2026, 2, 28), 23, 50), local(dt.date(2026, 3, 1), 0, 10))
    result(b, "N5", local(dt.date(2026, 2, 10), 8), local(dt.date(2026, 2, 10), 9))
    ActivityEventFactory(
        patient=b, type=EventType.RESULT_VIEWED, occurred_at=local(march_10, 9), object_id="N5"
    )
    result(b, "N6", local(dt.date(2026, 3, 31), 8), local(dt.date(2026, 3, 31), 23, 55))
    result(b, "N7", local(dt.date(2026, 3, 31), 8), local(dt.date(2026, 4, 1), 0, 5))
    line = results_education_view_share(MONTH)
    assert (line.messaged.viewed, line.messaged.same_day) == (2, 1)
    assert (line.not_messaged.viewed, line.not_messaged.same_day) == (4, 2)


def test_the_line_is_one_query_whatever_the_number_of_results(db, django_assert_num_queries):
    patient = PatientFactory()
    for number in range(5):
        result(patient, f"R{number}", at(dt.date(2026, 3, 10), 9), at(dt.date(2026, 3, 10), 10))
    with django_assert_num_queries(1):
        line = results_education_view_share(MONTH)
    assert (line.not_messaged.viewed, line.not_messaged.same_day) == (5, 5)


def test_a_manager_reads_the_results_education_line_for_a_month(client, manager):
    patient = PatientFactory()
    result(patient, "R1", at(dt.date(2026, 3, 10), 9), at(dt.date(2026, 3, 10), 18))
    messaged(patient, "R1")
    rollup_month(MARCH)
    client.force_login(manager)
    page = client.get(reverse("messaging:report_results_education"), {"month": "2026-03"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Patient got the results message" in html
    assert "100%" in html
    assert "As of the rollup of" in html
    assert "R1" not in html


def test_a_month_not_rolled_up_yet_is_said_so_and_counts_nothing(client, manager):
    patient = PatientFactory()
    result(patient, "R1", at(dt.date(2026, 3, 10), 9), at(dt.date(2026, 3, 10), 18))
    client.force_login(manager)
    page = client.get(reverse("messaging:report_results_education"), {"month": "2026-03"})
    html = page.content.decode()
    assert "Not rolled up yet, so not counted:" in html
    assert "No released result was first viewed in this month." in html


def test_the_rolled_up_line_equals_the_live_one_for_each_month(db):
    patient = PatientFactory()
    result(patient, "R1", at(dt.date(2026, 3, 10), 9), at(dt.date(2026, 3, 10), 18))
    result(patient, "R2", at(dt.date(2026, 3, 30), 9), at(dt.date(2026, 4, 2), 8))
    result(patient, "R3", at(dt.date(2026, 4, 1), 9), at(dt.date(2026, 4, 1), 10))
    result(patient, "R4", at(dt.date(2026, 4, 3), 9))  # never viewed
    messaged(patient, "R2")
    messaged(patient, "R4", period="2026-04-04")
    for month in (MARCH, APRIL):
        rollup_month(month)
        rolled = rolled_results_education_view_share(month)
        live = results_education_view_share(month)
        assert (rolled.messaged, rolled.not_messaged) == (live.messaged, live.not_messaged)
        assert rolled.as_of is not None and rolled.pending == ()
    assert rolled_results_education_view_share(APRIL).messaged == ViewShare(viewed=1, same_day=0)


def test_a_message_sent_after_the_rollup_marks_the_month_of_the_results_first_view(db):
    patient = PatientFactory()
    result(patient, "R1", at(dt.date(2026, 3, 30), 9), at(dt.date(2026, 4, 2), 8))
    result(patient, "R2", at(dt.date(2026, 2, 3), 9), at(dt.date(2026, 2, 3), 10))
    since = at(dt.date(2026, 4, 5), 12)
    earlier = messaged(patient, "R2")
    earlier.sent_at = since - dt.timedelta(seconds=1)
    earlier.save(update_fields=["sent_at"])
    late = messaged(patient, "R1", period="2026-04-05")
    late.sent_at = since
    late.save(update_fields=["sent_at"])

    assert results_education_months_changed(since) == [APRIL]


@pytest.mark.parametrize("month", ["2026-13", "0001-01", "2999-01", "March"])
def test_a_bad_month_is_refused_with_a_message(client, manager, month):
    client.force_login(manager)
    page = client.get(reverse("messaging:report_results_education"), {"month": month})
    assert page.status_code == 400
    assert "invalid-feedback" in page.content.decode()


def test_a_nurse_may_not_open_the_results_education_report(client, nurse):
    client.force_login(nurse)
    assert client.get(reverse("messaging:report_results_education")).status_code == 403


def test_the_nightly_page_shows_the_frequent_rules_and_a_switched_off_one(client, manager):
    OutreachSetting.objects.create(rule="activity_alert", enabled=False)
    patient = PatientFactory(notification_channel="sms")
    Communication.objects.create(
        patient=patient, rule="results_education", period="x", channel="email", body="…"
    )
    client.force_login(manager)
    page = client.get(reverse("messaging:outreach"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Results: how to read them" in html
    assert "Text alert: new activity in the portal" in html
    assert "switched off" in html
    today = page.context["frequent_today"]
    assert [(rule.value, tally["claimed"]) for rule, tally in today] == [
        ("results_education", 1),
        ("activity_alert", 0),
    ]
