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
from patients.models import AppointmentType, Channel, EventType, Patient
from portal_adoption.models import BusinessHours, PracticeClosure
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
        # None of the three was answered by phone; all came in during opening hours
        # (msg-1 on a Tuesday at 15:00, msg-3 on a Monday at 10:00, msg-5 at 09:30).
        "responses_by_phone": 0,
        "after_hours_avg_response_hours": None,
        "after_hours_median_response_hours": None,
        # The feed of this practice sends no appointment types: no data, not 0%.
        "annual_exam_self_scheduled_share": None,
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
        "responses_by_phone": 0,
        "after_hours_avg_response_hours": None,
        "after_hours_median_response_hours": None,
        "annual_exam_self_scheduled_share": None,
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
        "responses_by_phone": 0,
        "after_hours_avg_response_hours": None,
        "after_hours_median_response_hours": None,
        "annual_exam_self_scheduled_share": None,
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
        "after_hours_avg_response_hours",
        "after_hours_median_response_hours",
        "annual_exam_self_scheduled_share",
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


# --- Issue 11: one response time, answered by phone, evening/weekend, annual exams -------


@pytest.fixture
def answered_every_way(practice):
    """K (North, Dr. One) writes in at every hour of the business calendar and is
    answered by portal message or by a call (a response_by_phone naming the message).

    January 2026: Saturday the 10th, Martin Luther King Day on Monday the 19th (a
    federal holiday), a closure on Tuesday the 27th; opening hours are the default
    weekdays 08:00-17:00.
    """
    PracticeClosure.objects.create(date=dt.date(2026, 1, 27), name="Staff training")
    k = PatientFactory(
        external_id="MRN-K",
        given_name="K",
        location=practice["north"],
        primary_provider=practice["one"],
        registered_on=dt.date(2024, 1, 2),
    )

    def asks(message, when):
        event(k, T.MESSAGE_FROM_PATIENT, when, object_id=message)

    def writes_back(message, when, reply):
        event(k, T.MESSAGE_TO_PATIENT, when, object_id=reply, reply_to=message)

    def calls_back(message, when, call):
        event(k, T.RESPONSE_BY_PHONE, when, Channel.PHONE, object_id=call, reply_to=message)

    # December: answered by a call on the 29th, then by message in January too.
    asks("k0", dec(29, 10))
    calls_back("k0", dec(29, 11), "call-k0")
    writes_back("k0", local(1, 2, 9), "rep-k0")  # not a first response
    # Saturday 11:00 -> Monday 09:00: 46 h, evening/weekend.
    asks("k1", local(1, 10, 11))
    writes_back("k1", local(1, 12, 9), "rep-k1")
    # MLK Day 10:00 (a holiday) -> a call at 14:00: 4 h, evening/weekend, by phone.
    asks("k2", local(1, 19, 10))
    calls_back("k2", local(1, 19, 14), "call-k2")
    # Wednesday 18:30 (after closing) -> Thursday 08:30: 14 h, evening/weekend; the call
    # that follows the reply is a second response.
    asks("k3", local(1, 21, 18, 30))
    writes_back("k3", local(1, 22, 8, 30), "rep-k3")
    calls_back("k3", local(1, 22, 10), "call-k3")
    # Thursday 07:30 (before opening) -> a call at 09:00: 1.5 h, evening/weekend, by phone.
    asks("k4", local(1, 22, 7, 30))
    calls_back("k4", local(1, 22, 9), "call-k4")
    # Friday 10:00 (open) -> a call at 11:00: 1 h, by phone, not evening/weekend.
    asks("k5", local(1, 23, 10))
    calls_back("k5", local(1, 23, 11), "call-k5")
    # Monday 26th: a call logged at 10:00 naming a message sent at 12:00 answers nothing;
    # the reply at 13:00 is the first response: 1 h.
    calls_back("k7", local(1, 26, 10), "call-k7-early")
    asks("k7", local(1, 26, 12))
    writes_back("k7", local(1, 26, 13), "rep-k7")
    # The closure on Tuesday 27th, 11:00 -> Wednesday 09:00: 22 h, evening/weekend.
    asks("k6", local(1, 27, 11))
    writes_back("k6", local(1, 28, 9), "rep-k6")
    return {**practice, "k": k}


def test_a_message_answered_by_phone_is_answered_in_every_response_figure(answered_every_way):
    figures = month_figures(JANUARY)

    # First responses in January: msg-1 66 h, msg-3 4 h, msg-5 3.25 h (the practice's),
    # and K's k1 46 h, k2 4 h (call), k3 14 h, k4 1.5 h (call), k5 1 h (call), k7 1 h,
    # k6 22 h. Not k0 (first answered by the call on 29 December), not the second
    # response to k3, not the call logged before k7 was sent.
    assert figures["avg_response_hours"] == 16.3  # 162.75 / 10 = 16.275
    assert figures["median_response_hours"] == 4.0  # 1 1 1.5 3.25 4 | 4 14 22 46 66
    # Every one but msg-1 within the internal target: k1 by noon on Monday 12th, k2 by
    # noon on Tuesday 20th, k3 by noon on the 22nd, k4 by noon the same day, k6 by noon
    # on the 28th, k5 and k7 the same day.
    assert figures["response_within_target_share"] == pytest.approx(9 / 10)
    assert figures["responses_by_phone"] == 3  # k2, k4, k5
    # A call is an answer, not a message sent and not an inbound phone call.
    # The practice's 6 and K's rep-k0, rep-k1, rep-k3, rep-k7, rep-k6; no call.
    assert figures["messages_sent"] == 6 + 5
    assert figures["messages_received"] == 4 + 7  # k1 to k7
    assert figures["phone_calls"] == 4


def test_a_message_first_answered_by_phone_in_december_belongs_to_december(answered_every_way):
    figures = month_figures(DECEMBER)

    assert figures["avg_response_hours"] == 12.5  # msg-4 24 h, k0 1 h (the call)
    assert figures["responses_by_phone"] == 1


def test_evening_and_weekend_response_time_is_over_messages_that_came_in_while_closed(
    answered_every_way,
):
    practice = answered_every_way
    figures = month_figures(JANUARY)

    # k1 (Saturday) 46 h, k2 (holiday) 4 h, k3 (after closing) 14 h, k4 (before
    # opening) 1.5 h, k6 (closure) 22 h. Not msg-1, msg-3, msg-5, k5, k7: open hours.
    assert figures["after_hours_avg_response_hours"] == 17.5  # 87.5 / 5
    assert figures["after_hours_median_response_hours"] == 14.0
    north = month_figures(JANUARY, location_id=practice["north"].pk)
    assert north["after_hours_avg_response_hours"] == 17.5
    assert north["responses_by_phone"] == 3
    south = month_figures(JANUARY, location_id=practice["south"].pk)
    assert south["after_hours_avg_response_hours"] is None  # msg-5 came in at 09:30
    assert south["after_hours_median_response_hours"] is None
    assert south["responses_by_phone"] == 0


def test_evening_and_weekend_follows_the_practices_own_opening_hours(answered_every_way):
    # Open until 19:00 on Wednesdays: k3 (18:30) came in during opening hours.
    BusinessHours.objects.update_or_create(
        weekday=2, defaults={"opens": dt.time(8), "closes": dt.time(19)}
    )
    for weekday in (0, 1, 3, 4):
        BusinessHours.objects.get_or_create(weekday=weekday)

    figures = month_figures(JANUARY)

    assert figures["after_hours_avg_response_hours"] == 18.4  # (46 + 4 + 1.5 + 22) / 4
    assert figures["after_hours_median_response_hours"] == 13.0  # (4 + 22) / 2


@pytest.fixture
def booked_with_types(practice):
    """Bookings that say what they are for, around the ones without a type."""
    a, b, c, d = practice["patients"][:4]
    annual, follow_up = AppointmentType.ANNUAL_EXAM, AppointmentType.FOLLOW_UP

    def booked(patient, when, channel, object_id, kind):
        event(
            patient, T.APPOINTMENT_BOOKED, when, channel, object_id=object_id, appointment_type=kind
        )

    booked(a, local(1, 9), Channel.PORTAL, "appt-a2", annual)
    booked(a, local(1, 14), Channel.APP, "appt-a3", annual)
    booked(a, local(1, 15), Channel.PORTAL, "appt-a4", follow_up)  # not an annual exam
    booked(d, local(1, 20), Channel.PHONE, "appt-d2", annual)
    booked(b, local(1, 21), Channel.FRONT_DESK, "appt-b3", annual)
    booked(a, dec(31, 23, 30), Channel.PORTAL, "appt-a9", annual)  # December, local
    booked(c, local(2, 1, 0, 10), Channel.APP, "appt-c9", annual)  # February, local
    return practice


def test_annual_exams_self_scheduled_share_by_hand(booked_with_types):
    practice = booked_with_types
    figures = month_figures(JANUARY)

    # January's annual exams: A by portal and by app, D by phone, B at the desk.
    assert figures["annual_exam_self_scheduled_share"] == pytest.approx(2 / 4)
    # Every booking still counts for self-scheduling as a whole: the practice's 4 (2
    # self-scheduled) and these 5 (3 self-scheduled).
    assert figures["appointments_self_scheduled"] == 5
    assert figures["self_scheduled_share"] == pytest.approx(5 / 9)
    north = month_figures(JANUARY, location_id=practice["north"].pk)  # A, B
    assert north["annual_exam_self_scheduled_share"] == pytest.approx(2 / 3)
    south = month_figures(JANUARY, location_id=practice["south"].pk)  # D
    assert south["annual_exam_self_scheduled_share"] == 0.0
    assert month_figures(DECEMBER)["annual_exam_self_scheduled_share"] == 1.0
    assert month_figures(dt.date(2026, 2, 1))["annual_exam_self_scheduled_share"] == 1.0


def test_without_appointment_types_the_annual_exam_share_is_no_data_not_zero(practice):
    # January has four bookings, none with a type: the feed does not send them.
    figures = month_figures(JANUARY)

    assert figures["self_scheduled_share"] == pytest.approx(2 / 4)
    assert figures["annual_exam_self_scheduled_share"] is None
