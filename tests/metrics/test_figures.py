"""Every figure of metrics.md on a hand-built practice, computed by hand below.

January 2026 in America/New_York (EST, UTC-5 all month). Two locations
(North, South), two providers (Dr. One at North, Dr. Two at South), a
patient with neither, and the traps: patients who left the panel during the
month, a duplicate view of one result and a second release of another, events
at 23:30 local on the last day of a month (the next month in UTC) and at
00:10 local on the 1st, a survey from a patient who never enrolled and one
from before the patient enrolled, a reply to a message from December, a
second reply, and a reply in January to a message first answered in December.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from metrics.compute import month_bounds, month_figures, month_of
from metrics.figures import FIGURE_KEYS
from patients.models import Channel, EventType, Patient
from tests.factories import ActivityEventFactory, LocationFactory, PatientFactory, ProviderFactory

NEW_YORK = ZoneInfo("America/New_York")
JANUARY = dt.date(2026, 1, 1)
DECEMBER = dt.date(2025, 12, 1)
ROSTER_SYNCED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

T = EventType


@pytest.fixture(autouse=True)
def new_york(settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    settings.PRACTICE_COUNTRY = "US"


def local(month, day, hour=12, minute=0, year=2026):
    return dt.datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def dec(day, hour=12, minute=0):
    return local(12, day, hour, minute, year=2025)


def event(patient, type_, when, channel=Channel.PORTAL, **fields):
    # Recorded when it happened: only events added later are "late" for the rollup.
    return ActivityEventFactory(
        patient=patient,
        type=type_,
        occurred_at=when,
        recorded_at=when,
        channel=channel,
        **fields,
    )


@pytest.fixture
def practice(db):
    return build_practice()


def build_practice() -> dict:
    """The hand-built practice; roster rows stamped as last changed in 2025."""
    north = LocationFactory(code="NORTH", name="North")
    south = LocationFactory(code="SOUTH", name="South")
    empty = LocationFactory(code="EMPTY", name="No patients")
    one = ProviderFactory(code="ONE", name="Dr. One", location=north)
    two = ProviderFactory(code="TWO", name="Dr. Two", location=south)

    def patient(name, location, provider, **fields):
        fields.setdefault("registered_on", dt.date(2024, 1, 2))
        return PatientFactory(
            external_id=f"MRN-{name}",
            given_name=name,
            location=location,
            primary_provider=provider,
            **fields,
        )

    a = patient("A", north, one)
    b = patient("B", north, two, registered_on=dt.date(2025, 6, 1))
    c = patient("C", south, two)
    d = patient("D", south, one)
    e = patient("E", north, one, deactivated_on=dt.date(2026, 1, 20))
    f = patient("F", south, two, deactivated_on=dt.date(2026, 2, 1))  # still on in January
    g = patient("G", south, two, registered_on=dt.date(2026, 2, 1))  # joins in February
    g2 = patient("G2", north, one, registered_on=dt.date(2026, 1, 31))  # joins on the 31st
    h = patient("H", south, two, registered_on=dt.date(2025, 1, 1))
    i = patient("I", north, two)
    j = patient("J", north, one, deactivated_on=dt.date(2026, 1, 25))
    n = patient("N", None, None)

    # A: enrolled in December, uses five features in January.
    event(a, T.PORTAL_ACTIVATED, dec(10, 10))
    event(a, T.APP_INSTALLED, dec(12, 10), Channel.APP)
    event(a, T.LOGIN, local(1, 8, 9))
    event(a, T.RECORD_VIEWED, local(1, 9))
    event(a, T.APPOINTMENT_BOOKED, dec(31, 23, 30), object_id="appt-a0")  # December, local
    event(a, T.APPOINTMENT_BOOKED, local(1, 12, 10), object_id="appt-a1")
    event(a, T.PAYMENT, dec(31, 23, 30), object_id="pay-a0", amount=Decimal("999.00"))
    event(a, T.PAYMENT, local(1, 15), object_id="pay-a1", amount=Decimal("100.00"))
    event(a, T.MESSAGE_FROM_PATIENT, dec(30, 15), object_id="msg-1")
    event(a, T.MESSAGE_TO_PATIENT, local(1, 2, 9), object_id="rep-1", reply_to="msg-1")
    event(a, T.MESSAGE_FROM_PATIENT, local(1, 5, 10), object_id="msg-3")
    event(a, T.MESSAGE_TO_PATIENT, local(1, 5, 14), object_id="rep-3a", reply_to="msg-3")
    event(a, T.MESSAGE_TO_PATIENT, local(1, 6, 9), object_id="rep-3b", reply_to="msg-3")
    event(a, T.MESSAGE_FROM_PATIENT, local(1, 31, 22), object_id="msg-2")
    event(a, T.MESSAGE_TO_PATIENT, local(2, 1, 8), object_id="rep-2", reply_to="msg-2")
    event(a, T.RESULT_RELEASED, local(1, 14, 8), "", object_id="r1")
    event(a, T.RESULT_VIEWED, local(1, 14, 10), object_id="r1")
    event(a, T.RESULT_COMMUNICATED, local(1, 14, 12), Channel.PHONE, object_id="r1")
    event(a, T.RESULT_VIEWED, local(1, 14, 15), object_id="r1")  # the duplicate view
    event(a, T.RESULT_RELEASED, local(1, 15, 9), "", object_id="r1")  # released again
    event(a, T.RESULT_RELEASED, local(1, 20, 18), "", object_id="r2")  # 23:00 UTC
    event(a, T.RESULT_VIEWED, local(1, 20, 21), object_id="r2")  # 02:00 UTC on the 21st
    event(a, T.RESULT_RELEASED, dec(27, 9), "", object_id="r4")
    event(a, T.RESULT_VIEWED, dec(28, 10), object_id="r4")
    event(a, T.RESULT_VIEWED, local(1, 3, 10), object_id="r4")
    event(a, T.SURVEY_RESPONSE, local(1, 20), object_id="s", score=5)

    # B: enrolls in January, self-schedules only.
    event(b, T.SURVEY_RESPONSE, local(1, 3), object_id="s", score=2)  # before enrolling
    event(b, T.PORTAL_ACTIVATED, local(1, 5, 9))
    event(b, T.LOGIN, local(1, 6), Channel.APP)
    event(b, T.APPOINTMENT_BOOKED, local(1, 14), Channel.APP, object_id="appt-b1")
    event(b, T.APPOINTMENT_BOOKED, local(1, 15), Channel.PHONE, object_id="appt-b2")
    event(b, T.PAYMENT, local(1, 16), Channel.PHONE, object_id="pay-b", amount=Decimal("49.50"))
    event(b, T.SURVEY_RESPONSE, local(1, 22), object_id="s", score=4)

    # C: enrolled since June, no login in January.
    event(c, T.PORTAL_ACTIVATED, local(6, 15, year=2025))
    event(c, T.PORTAL_ACTIVATED, local(1, 15))  # a second activation is not an enrollment
    event(c, T.APP_INSTALLED, local(2, 1, 0, 10), Channel.APP)  # February, local
    event(c, T.MESSAGE_FROM_PATIENT, local(1, 13, 9, 30), object_id="msg-5")
    event(c, T.MESSAGE_TO_PATIENT, local(1, 13, 12, 45), object_id="rep-5", reply_to="msg-5")
    event(c, T.MESSAGE_FROM_PATIENT, dec(20, 10), object_id="msg-4")
    event(c, T.MESSAGE_TO_PATIENT, dec(21, 10), object_id="rep-4a", reply_to="msg-4")
    event(c, T.MESSAGE_TO_PATIENT, local(1, 7, 10), object_id="rep-4b", reply_to="msg-4")
    event(c, T.RESULT_RELEASED, local(1, 21, 22), "", object_id="r3")  # 03:00 UTC on the 22nd
    event(c, T.RESULT_VIEWED, local(1, 22, 0, 30), object_id="r3")  # 05:30 UTC on the 22nd
    event(c, T.RESULT_RELEASED, dec(31, 23, 30), "", object_id="r8")  # January in UTC
    event(c, T.RESULT_VIEWED, local(1, 2, 10), object_id="r8")
    event(c, T.PAYMENT, local(1, 18), Channel.APP, object_id="pay-c", amount=Decimal("50.50"))
    event(c, T.SURVEY_RESPONSE, local(1, 21), object_id="s", score=4)
    for day in (3, 4, 5):
        event(c, T.PHONE_CALL, dec(day), Channel.PHONE)

    # D: never enrolled.
    event(d, T.APPOINTMENT_BOOKED, local(1, 16), Channel.FRONT_DESK, object_id="appt-d")
    event(d, T.PAYMENT, local(1, 17), Channel.MAIL, object_id="pay-d", amount=Decimal("200.00"))
    for when in (local(1, 5), local(1, 6), local(1, 31, 23, 59), dec(10), dec(11)):
        event(d, T.PHONE_CALL, when, Channel.PHONE)
    event(d, T.PHONE_CALL, local(2, 1, 0, 5), Channel.PHONE)  # February, local
    event(d, T.RESULT_RELEASED, local(1, 10, 9), "", object_id="r5")
    event(d, T.RESULT_COMMUNICATED, local(1, 11, 9), Channel.PHONE, object_id="r5")
    event(d, T.RESULT_VIEWED, local(1, 12, 9), object_id="r5")
    event(d, T.RESULT_RELEASED, local(1, 25, 9), "", object_id="r6")  # never viewed
    event(d, T.SURVEY_RESPONSE, local(1, 19), object_id="s", score=1)  # not enrolled
    event(d, T.MESSAGE_TO_PATIENT, local(1, 22), object_id="note-d")  # not a reply

    # E: enrolled long ago, left the panel on 20 January.
    event(e, T.PORTAL_ACTIVATED, local(3, 1, year=2025))
    event(e, T.APP_INSTALLED, local(3, 2, year=2025), Channel.APP)
    event(e, T.LOGIN, local(1, 8))
    event(e, T.MESSAGE_FROM_PATIENT, local(1, 8, 13), object_id="msg-6")
    event(e, T.SURVEY_RESPONSE, local(1, 25), object_id="s", score=3)  # after leaving

    event(f, T.PHONE_CALL, local(1, 8), Channel.PHONE)

    # H: enrolls at 23:30 on 31 January, local time (04:30 UTC on 1 February).
    event(h, T.PORTAL_ACTIVATED, local(1, 31, 23, 30))
    event(h, T.LOGIN, local(1, 31, 23, 45))
    event(h, T.RECORD_VIEWED, local(1, 31, 23, 50))
    event(h, T.MESSAGE_FROM_PATIENT, local(2, 1, 0, 20), object_id="msg-7")  # February

    # I: enrolled in November; last login 23:30 on 31 December (January in UTC).
    event(i, T.PORTAL_ACTIVATED, local(11, 1, year=2025))
    event(i, T.LOGIN, dec(31, 23, 30))
    event(i, T.APP_INSTALLED, local(1, 31, 23, 50), Channel.APP)
    event(i, T.RESULT_VIEWED, local(1, 31, 23, 55), object_id="r7")  # no release event

    # J: enrolls on 10 January, leaves on 25 January.
    event(j, T.PORTAL_ACTIVATED, local(1, 10))
    event(j, T.SURVEY_RESPONSE, local(1, 12), object_id="s", score=4)

    Patient.objects.update(updated_at=ROSTER_SYNCED)
    return {
        "north": north,
        "south": south,
        "empty": empty,
        "one": one,
        "two": two,
        "patients": [a, b, c, d, e, f, g, g2, h, i, j, n],
    }


def test_every_figure_for_the_practice_by_hand(practice):
    figures = month_figures(JANUARY)

    assert list(figures) == FIGURE_KEYS  # and nothing else: no month-over-month here
    # Panel: registered by 31 Jan, not deactivated by then. A, B, C, D, F (leaves on
    # 1 Feb), H, I, G2 (joins on 31 Jan) and N; not E (20 Jan), J (25 Jan), G (1 Feb).
    panel = 9
    # Enrolled: panel patients activated by the end of January (local): A, B, C, H
    # (23:30 on the 31st), I. E and J activated but left the panel.
    enrolled = 5
    # Active: enrolled with a login in January: A, B, H (23:45 on the 31st). Not C (no
    # login), not I (23:30 on 31 Dec, which is January in UTC), not E (left).
    active = 3
    expected = {
        "panel": panel,
        "enrolled": enrolled,
        "enrollment_rate": pytest.approx(5 / 9),
        # First activation in January: B, H and J (J left the panel since: counted, the
        # definition does not ask for the panel). Not C: her first was in June.
        "new_enrollments": 3,
        "active_users": active,
        "active_user_rate": pytest.approx(3 / 5),
        # A: messaging, scheduling, results, payments, records. B: self-scheduling only
        # (phone booking and phone payment are not features). H: records only (her
        # message is at 00:20 on 1 Feb).
        "multi_feature_users": 1,
        "multi_feature_share": pytest.approx(1 / 3),
        # A (December) and I (23:50 on 31 Jan); C's install is 00:10 on 1 Feb.
        "app_install_rate": pytest.approx(2 / 5),
        # msg-3, msg-2 (22:00 on the 31st), msg-5 and E's msg-6 (events count whoever sent
        # them); not msg-1 or msg-4 (December), msg-7 (February).
        "messages_received": 4,
        # rep-1, rep-3a, rep-3b, rep-5, rep-4b and the note to D; not rep-2 (1 Feb) or
        # rep-4a (December).
        "messages_sent": 6,
        "messages_per_active_user": pytest.approx((4 + 6) / 3),
        # A by portal, B by app; of 4 bookings (B by phone, D at the desk). A's portal
        # booking at 23:30 on 31 Dec is December.
        "appointments_self_scheduled": 2,
        "self_scheduled_share": pytest.approx(2 / 4),
        # First viewed in January: r1 (viewed twice: one result), r2, r3, r5, r7, r8.
        # Not r4: first viewed in December.
        "results_viewed": 6,
        # Of those with a release (not r7): r1 (14 Jan and 14 Jan), r2 (20 Jan local;
        # 23:00 and 02:00 UTC) are the same day; r3 (released 22:00 on the 21st, viewed
        # 00:30 on the 22nd: the same day in UTC, not locally), r5, r8 are not.
        "same_day_view_share": pytest.approx(2 / 5),
        # Released in January: r1 (viewed 10:00, called 12:00), r2, r3 (never contacted,
        # viewed) yes; r5 (called before viewing), r6 (never viewed) no. r8 was released
        # at 23:30 on 31 Dec local: December.
        "viewed_before_contact_share": pytest.approx(3 / 5),
        # Portal 100.00 (A) + app 50.50 (C), of 400.00 (+ 49.50 phone, 200.00 mail).
        "portal_payments": "150.50",
        "portal_payment_share": pytest.approx(150.50 / 400.00),
        # D on the 5th, 6th and at 23:59 on the 31st, F on the 8th; D's 00:05 on 1 Feb is
        # February. December: C three, D two.
        "phone_calls": 4,
        "phone_calls_change": pytest.approx((4 - 5) / 5 * 100),
        # First replies in January: msg-1 (Tue 30 Dec 15:00 -> Fri 2 Jan 09:00: 66 h),
        # msg-3 (10:00 -> 14:00: 4 h), msg-5 (09:30 -> 12:45: 3.25 h). Not rep-3b (second
        # reply), rep-4b (msg-4's first reply was in December), rep-2 (February).
        "avg_response_hours": 24.4,  # 73.25 / 3 = 24.41...
        "median_response_hours": 4.0,
        # Internal target: the end of the business day (17:00). msg-1 was due 30 Dec at
        # 17:00 (missed); msg-3 and msg-5 were answered the same day.
        "response_within_target_share": pytest.approx(2 / 3),
        # A 5, B 4 (22 Jan), C 4, J 4 (enrolled on the 10th, still on the panel on the
        # 12th). Not B's 2 (before she enrolled), D's 1 (never enrolled), E's 3 (after
        # she left the panel). 17 / 4 = 4.25, rounded half up.
        "satisfaction": 4.3,
    }
    assert figures == expected


def test_a_location_by_hand(practice):
    """North: A, B, E, G2, I, J."""
    figures = month_figures(JANUARY, location_id=practice["north"].pk)

    assert figures == {
        "panel": 4,  # A, B, G2, I
        "enrolled": 3,  # A, B, I
        "enrollment_rate": pytest.approx(3 / 4),
        "new_enrollments": 2,  # B, J
        "active_users": 2,  # A, B
        "active_user_rate": pytest.approx(2 / 3),
        "multi_feature_users": 1,
        "multi_feature_share": pytest.approx(1 / 2),
        "app_install_rate": pytest.approx(2 / 3),  # A, I
        "messages_received": 3,  # msg-3, msg-2, msg-6
        "messages_sent": 3,  # rep-1, rep-3a, rep-3b
        "messages_per_active_user": pytest.approx(6 / 2),
        "appointments_self_scheduled": 2,
        "self_scheduled_share": pytest.approx(2 / 3),
        "results_viewed": 3,  # r1, r2, r7
        "same_day_view_share": pytest.approx(1.0),  # r1, r2
        "viewed_before_contact_share": pytest.approx(1.0),  # r1, r2
        "portal_payments": "100.00",
        "portal_payment_share": pytest.approx(100.00 / 149.50),
        "phone_calls": 0,
        "phone_calls_change": None,  # no calls in December either
        "avg_response_hours": 35.0,  # 66 and 4
        "median_response_hours": 35.0,
        "response_within_target_share": pytest.approx(1 / 2),
        "satisfaction": 4.3,  # A 5, B 4, J 4: 4.33
    }


def test_a_provider_by_hand(practice):
    """Dr. Two: B, C, F, G, H, I."""
    figures = month_figures(JANUARY, provider_id=practice["two"].pk)

    assert figures == {
        "panel": 5,  # B, C, F, H, I (G joins in February)
        "enrolled": 4,  # B, C, H, I
        "enrollment_rate": pytest.approx(4 / 5),
        "new_enrollments": 2,  # B, H
        "active_users": 2,  # B, H
        "active_user_rate": pytest.approx(2 / 4),
        "multi_feature_users": 0,
        "multi_feature_share": 0.0,
        "app_install_rate": pytest.approx(1 / 4),  # I
        "messages_received": 1,  # msg-5
        "messages_sent": 2,  # rep-5, rep-4b
        "messages_per_active_user": pytest.approx(3 / 2),
        "appointments_self_scheduled": 1,
        "self_scheduled_share": pytest.approx(1 / 2),
        "results_viewed": 3,  # r3, r8, r7
        "same_day_view_share": 0.0,  # r3, r8: neither
        "viewed_before_contact_share": pytest.approx(1.0),  # r3
        "portal_payments": "50.50",
        "portal_payment_share": pytest.approx(50.50 / 100.00),
        "phone_calls": 1,  # F
        "phone_calls_change": pytest.approx((1 - 3) / 3 * 100),  # C's three in December
        "avg_response_hours": 3.3,  # 3.25, rounded half up
        "median_response_hours": 3.3,
        "response_within_target_share": 1.0,
        "satisfaction": 4.0,  # B 4, C 4
    }


def test_december_is_its_own_month(practice):
    figures = month_figures(DECEMBER)

    assert figures["new_enrollments"] == 1  # A
    assert figures["phone_calls"] == 5
    assert figures["phone_calls_change"] is None  # no calls in November
    assert figures["appointments_self_scheduled"] == 1  # A at 23:30 on 31 Dec
    assert figures["portal_payments"] == "999.00"
    assert figures["results_viewed"] == 1  # r4
    assert figures["same_day_view_share"] == 0.0  # released the 27th, viewed the 28th
    # Released in December: r4 (viewed, never contacted) and r8 (23:30 on the 31st,
    # viewed on 2 January: the definition does not stop at the end of the month).
    assert figures["viewed_before_contact_share"] == 1.0
    assert figures["avg_response_hours"] == 24.0  # msg-4: 20 Dec 10:00 -> 21 Dec 10:00
    assert figures["messages_received"] == 2  # msg-1, msg-4


def test_zero_denominators_are_null_not_zero(practice):
    figures = month_figures(JANUARY, location_id=practice["empty"].pk)

    counts = {key for key, value in figures.items() if isinstance(value, int)}
    assert {key: figures[key] for key in counts} == dict.fromkeys(counts, 0)
    assert figures["portal_payments"] == "0.00"
    for key in (
        "enrollment_rate",
        "active_user_rate",
        "multi_feature_share",
        "app_install_rate",
        "messages_per_active_user",
        "self_scheduled_share",
        "same_day_view_share",
        "viewed_before_contact_share",
        "portal_payment_share",
        "phone_calls_change",
        "avg_response_hours",
        "median_response_hours",
        "response_within_target_share",
        "satisfaction",
    ):
        assert figures[key] is None, key


def test_a_month_without_data(db):
    figures = month_figures(dt.date(2020, 1, 1))

    assert figures["panel"] == 0
    assert figures["enrollment_rate"] is None
    assert figures["portal_payments"] == "0.00"


def test_months_are_in_the_practice_time_zone(settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    start, end = month_bounds(dt.date(2026, 3, 1))  # daylight saving starts on 8 March
    assert start == dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 4, 1, 4, 0, tzinfo=dt.UTC)
    assert month_of(dt.datetime(2026, 2, 1, 4, 30, tzinfo=dt.UTC)) == JANUARY
    assert month_of(dt.datetime(2026, 2, 1, 5, 0, tzinfo=dt.UTC)) == dt.date(2026, 2, 1)
    assert month_of(dt.date(2026, 1, 31)) == JANUARY
