"""Maria reads a month's figures: who is on the panel at the month's edges, and which
message each reply answers (metrics.md), each rule pinned on both sides (issue 17)."""

import datetime as dt

import pytest

from metrics.compute import adoption_filters, month_figures, month_of
from patients.models import Patient
from tests.factories import PatientFactory
from tests.metrics.test_figures import DECEMBER, JANUARY, T, event, local

FEBRUARY = dt.date(2026, 2, 1)


@pytest.fixture(autouse=True)
def _new_york(settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    settings.PRACTICE_COUNTRY = "US"


def on_the_panel(month: dt.date) -> list[str]:
    panel = Patient.objects.filter(adoption_filters(month).panel)
    return sorted(panel.values_list("given_name", flat=True))


def test_a_patient_who_left_on_the_months_last_day_is_not_on_that_months_panel(db):
    def patient(name, **fields):
        fields.setdefault("registered_on", dt.date(2024, 1, 2))
        return PatientFactory(given_name=name, **fields)

    patient("LeftJan31", deactivated_on=dt.date(2026, 1, 31))
    patient("LeftFeb1", deactivated_on=dt.date(2026, 2, 1))
    patient("Stays")
    patient("JoinedJan31", registered_on=dt.date(2026, 1, 31))
    patient("JoinedFeb1", registered_on=dt.date(2026, 2, 1))

    # "On the panel at the end of M": registered on or before M's last day, and not
    # deactivated on or before it. Leaving on the 31st is leaving in January.
    assert on_the_panel(DECEMBER) == ["LeftFeb1", "LeftJan31", "Stays"]
    assert on_the_panel(JANUARY) == ["JoinedJan31", "LeftFeb1", "Stays"]
    assert on_the_panel(FEBRUARY) == ["JoinedFeb1", "JoinedJan31", "Stays"]
    assert month_figures(JANUARY)["panel"] == 3
    assert month_figures(DECEMBER)["panel"] == 3


def test_a_reply_is_timed_from_the_message_it_names_not_another_of_the_patients(db):
    rosa = PatientFactory(external_id="MRN-ROSA", given_name="Rosa")
    hugo = PatientFactory(external_id="MRN-HUGO", given_name="Hugo")
    # Wednesday 14 January, opening hours 08:00-17:00.
    event(rosa, T.MESSAGE_FROM_PATIENT, local(1, 14, 9), object_id="m1")
    event(rosa, T.MESSAGE_FROM_PATIENT, local(1, 14, 14), object_id="m2")
    # Hugo's portal gave one of his messages the same id the day before; never answered.
    event(hugo, T.MESSAGE_FROM_PATIENT, local(1, 13, 9), object_id="m2")
    event(rosa, T.MESSAGE_TO_PATIENT, local(1, 14, 10), object_id="r1", reply_to="m1")
    event(rosa, T.MESSAGE_TO_PATIENT, local(1, 14, 16), object_id="r2", reply_to="m2")

    figures = month_figures(JANUARY)

    # m1 answered in 1 h, m2 in 2 h: 1.5 h. Not 4 h (m2's reply timed from m1: 7 h),
    # not 2 h (m1's reply timed from m2, "before its message", dropped), not 16 h
    # (m2's reply timed from Hugo's m2: 31 h).
    assert figures["avg_response_hours"] == 1.5
    assert figures["median_response_hours"] == 1.5
    assert figures["response_within_target_share"] == 1.0
    assert figures["messages_received"] == 3


def test_a_multi_feature_user_logged_in_that_month_not_only_the_month_before(db):
    rosa = PatientFactory(given_name="Rosa", registered_on=dt.date(2024, 1, 2))
    event(rosa, T.PORTAL_ACTIVATED, local(1, 5, 9))
    event(rosa, T.LOGIN, local(1, 31, 23, 30))  # January's last evening
    event(rosa, T.MESSAGE_FROM_PATIENT, local(2, 3, 10))
    event(rosa, T.RESULT_VIEWED, local(2, 4, 10))

    # Two features in February, but her last login was in January.
    assert month_figures(FEBRUARY)["multi_feature_users"] == 0

    event(rosa, T.LOGIN, local(2, 1, 0, 30))  # February's first night
    assert month_figures(FEBRUARY)["multi_feature_users"] == 1


def test_a_moment_without_a_time_zone_is_refused_rather_than_guessed():
    """23:30 on January 31 is February in UTC and January in New York: never guess."""
    with pytest.raises(ValueError, match="month_of needs an aware datetime"):
        month_of(dt.datetime(2026, 1, 31, 23, 30))
