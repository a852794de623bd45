"""Visits and statements are not logins, not portal activity and not payments (metrics.md).

metrics/compute.py counts by explicit lists of types; these tests pin that a
month whose only new events are visit_completed and statement_issued keeps
every figure, and that the same month does move when a real login or payment
arrives (so the comparison can see a change).
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from metrics.compute import month_figures
from patients.models import Channel, EventType
from tests.factories import ActivityEventFactory, PatientFactory

NEW_YORK = ZoneInfo("America/New_York")
JANUARY = dt.date(2026, 1, 1)


@pytest.fixture(autouse=True)
def new_york(settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"


def at(month, day, hour=12, year=2026):
    return dt.datetime(year, month, day, hour, tzinfo=NEW_YORK)


def event(patient, type_, when, channel, **fields):
    return ActivityEventFactory(
        patient=patient, type=type_, occurred_at=when, recorded_at=when, channel=channel, **fields
    )


@pytest.fixture
def enrolled(db):
    """Two patients who enrolled in December and did nothing in the portal in January."""
    patients = [
        PatientFactory(external_id=f"MRN-{n}", registered_on=dt.date(2025, 1, 1)) for n in (1, 2)
    ]
    for patient in patients:
        event(patient, EventType.PORTAL_ACTIVATED, at(12, 3, year=2025), Channel.PORTAL)
    return patients


def visits_and_statements(patient, n: int) -> None:
    event(patient, EventType.VISIT_COMPLETED, at(1, 5 + n), Channel.FRONT_DESK, object_id=f"v{n}")
    event(patient, EventType.VISIT_COMPLETED, at(1, 6 + n), Channel.OTHER, object_id=f"w{n}")
    for channel in (Channel.PORTAL, Channel.MAIL, Channel.OTHER):
        event(
            patient,
            EventType.STATEMENT_ISSUED,
            at(1, 10 + n),
            channel,
            object_id=f"st-{n}-{channel}",
            amount=Decimal("120.00"),
            due_date=dt.date(2026, 2, 15),
        )


def test_a_month_with_only_visits_and_statements_keeps_every_figure(enrolled):
    before = month_figures(JANUARY)

    for n, patient in enumerate(enrolled):
        visits_and_statements(patient, n)

    assert month_figures(JANUARY) == before
    assert before["active_users"] == 0
    assert before["portal_payments"] == "0.00"


def test_the_same_month_moves_with_a_login_and_a_portal_payment(enrolled):
    for n, patient in enumerate(enrolled):
        visits_and_statements(patient, n)
    before = month_figures(JANUARY)
    rosa = enrolled[0]

    event(rosa, EventType.LOGIN, at(1, 20), Channel.PORTAL)
    event(
        rosa,
        EventType.PAYMENT,
        at(1, 21),
        Channel.PORTAL,
        object_id="st-0-portal",
        amount=Decimal("120.00"),
    )
    after = month_figures(JANUARY)

    assert (before["active_users"], after["active_users"]) == (0, 1)
    assert after["portal_payments"] != before["portal_payments"]
