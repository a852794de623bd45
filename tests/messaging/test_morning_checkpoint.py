"""Nora's morning checkpoint: everything that arrived since the practice last closed.

"Overnight" is since the previous business day's close on the business
calendar: on a Monday the whole weekend, after a holiday or a closure the
day(s) the practice was shut, whatever the clocks did in between.
"""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from messaging.models import Queue
from messaging.selectors import checkpoint_messages, overnight_since
from messaging.services import Inbound, message_receive
from portal_adoption.models import BusinessHours, PracticeClosure

NEW_YORK = ZoneInfo("America/New_York")
_ids = itertools.count(1)


def local(*args, fold=0):
    return dt.datetime(*args, tzinfo=NEW_YORK, fold=fold)


def arrives(patient, at):
    """A clinical message that reaches the nursing queue at `at`."""
    with time_machine.travel(at, tick=False):
        inbound = Inbound(
            message_id=f"overnight-{next(_ids)}",
            patient=patient,
            subject="Rash",
            body="The rash on my arm is spreading.",
            sent_at=at,
        )
        return message_receive(inbound=inbound)[0]


def morning(at):
    return set(checkpoint_messages(Queue.NURSING, "morning", now=at))


def test_nora_s_monday_morning_shows_the_weekend_s_messages(client, nurse, patient):
    # Friday 9 January 2026 closes at 17:00.
    friday_afternoon = arrives(patient, local(2026, 1, 9, 16, 30))
    friday_evening = arrives(patient, local(2026, 1, 9, 18, 0))
    saturday = arrives(patient, local(2026, 1, 10, 10, 0))
    sunday_night = arrives(patient, local(2026, 1, 11, 21, 0))
    monday_early = arrives(patient, local(2026, 1, 12, 7, 30))
    monday = local(2026, 1, 12, 8, 5)
    assert morning(monday) == {friday_evening, saturday, sunday_night, monday_early}
    assert friday_afternoon not in morning(monday)

    client.force_login(nurse)
    with time_machine.travel(monday, tick=False):
        page = client.get(reverse("messaging:checkpoint", args=["nursing", "morning"]))
    assert page.status_code == 200
    assert [row[0] for row in page.context["rows"]] == [
        friday_evening,
        saturday,
        sunday_night,
        monday_early,
    ]
    assert "since the practice last closed (Friday, January 9, 17:00)" in page.content.decode()


def test_the_day_after_a_federal_holiday_looks_back_to_the_day_before_it(patient):
    # Thanksgiving is Thursday 26 November 2026: Friday morning looks back to Wednesday 17:00.
    arrives(patient, local(2026, 11, 25, 16, 0))
    wednesday_evening = arrives(patient, local(2026, 11, 25, 18, 0))
    thanksgiving = arrives(patient, local(2026, 11, 26, 12, 0))
    friday = local(2026, 11, 27, 8, 0)
    assert overnight_since(friday) == local(2026, 11, 25, 17, 0)
    assert morning(friday) == {wednesday_evening, thanksgiving}


def test_the_day_after_a_practice_closure_looks_back_to_the_day_before_it(patient):
    PracticeClosure.objects.create(date=dt.date(2026, 4, 15), name="Staff training")
    arrives(patient, local(2026, 4, 14, 16, 59))
    tuesday_evening = arrives(patient, local(2026, 4, 14, 17, 0))
    training_day = arrives(patient, local(2026, 4, 15, 11, 0))
    thursday = local(2026, 4, 16, 8, 0)
    assert morning(thursday) == {tuesday_evening, training_day}


def test_an_early_close_is_where_overnight_begins(patient):
    BusinessHours.objects.update_or_create(
        weekday=4, defaults={"opens": dt.time(8, 0), "closes": dt.time(13, 0)}
    )
    arrives(patient, local(2026, 1, 9, 12, 30))
    friday_afternoon = arrives(patient, local(2026, 1, 9, 14, 0))
    assert morning(local(2026, 1, 12, 8, 0)) == {friday_afternoon}


@pytest.mark.parametrize(
    "monday, friday",
    [
        # Clocks went forward on Sunday 8 March 2026: Friday's close was 17:00 EST (22:00 UTC).
        (local(2026, 3, 9, 8, 0), dt.date(2026, 3, 6)),
        # Clocks went back on Sunday 1 November 2026: Friday's close was 17:00 EDT (21:00 UTC).
        (local(2026, 11, 2, 8, 0), dt.date(2026, 10, 30)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_across_a_daylight_saving_change_overnight_begins_at_friday_s_close(
    patient, monday, friday
):
    close = local(friday.year, friday.month, friday.day, 17, 0)
    before_close = arrives(patient, close - dt.timedelta(minutes=30))
    at_close = arrives(patient, close)
    sunday = arrives(patient, local(2026, monday.month, monday.day - 1, 10, 0))
    assert overnight_since(monday) == close
    assert morning(monday) == {at_close, sunday}
    assert before_close not in morning(monday)
