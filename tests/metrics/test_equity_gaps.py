"""Maria looks for the patients the portal leaves behind: equity gaps (issue 16, item 2).

Small rosters in January 2026, rolled up by the nightly rollup itself, so the
practice's figures are the dashboard's; the groups' rates are worked out by
hand below each roster.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from metrics.equity.selectors import (
    AGE,
    LANGUAGE,
    LOCATION,
    Counts,
    Group,
    age_band,
    born_by,
    equity_gaps,
    judged,
    remedy,
    roster_counts,
)
from metrics.exports import dashboard_pdf
from metrics.models import MonthlyRollup, ScopeKind
from metrics.services import rollup_month
from patients.demo import DemoConfig, DemoPractice
from patients.models import EventType
from tests.factories import ActivityEventFactory, LocationFactory, PatientFactory
from tests.metrics.test_dashboard import pdf_text

NEW_YORK = ZoneInfo("America/New_York")
JANUARY = dt.date(2026, 1, 1)
JAN_31 = dt.date(2026, 1, 31)


def local(year, month, day, hour=12):
    return dt.datetime(year, month, day, hour, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def february_in_new_york(settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    with time_machine.travel(local(2026, 2, 10), tick=False):
        yield


@pytest.fixture
def clinic(db):
    return LocationFactory(code="MAIN", name="Main Street")


def patients(count, *, enrolled=0, active=0, **fields):
    """`count` panel patients: the first `enrolled` activated in December, the first
    `active` of those logged in in January."""
    fields.setdefault("location", LocationFactory(code="MAIN", name="Main Street"))
    made = PatientFactory.create_batch(count, **fields)
    for index, patient in enumerate(made[:enrolled]):
        ActivityEventFactory(
            patient=patient, type=EventType.PORTAL_ACTIVATED, occurred_at=local(2025, 12, 5)
        )
        if index < active:
            ActivityEventFactory(
                patient=patient, type=EventType.LOGIN, occurred_at=local(2026, 1, 9)
            )
    return made


def group_of(report, dimension, key):
    return next(g for g in report["groups"] if g["dimension"] == dimension and g["key"] == key)


def practice_figures():
    return MonthlyRollup.objects.get(month=JANUARY, scope_kind=ScopeKind.PRACTICE).figures


# --- Hand-computed rates --------------------------------------------------------


@pytest.fixture
def three_languages(clinic):
    # English: 60 patients, 45 enrolled (75%), 30 of them active (66.7%).
    patients(60, enrolled=45, active=30, preferred_language="en")
    # Spanish: 30 patients, 9 enrolled (30%): 9 enrolled are too few for an active rate.
    patients(30, enrolled=9, active=0, preferred_language="es")
    # Vietnamese: 29 patients, every one enrolled and active: still "fewer than 30".
    patients(29, enrolled=29, active=29, preferred_language="vi")
    # Practice: 119 on the panel, 83 enrolled (69.7%), 59 active (71.1% of 83).
    rollup_month(JANUARY)


def test_rates_by_language_are_worked_out_from_the_roster(three_languages):
    report = equity_gaps(JANUARY)

    assert report["practice"] == {
        "enrollment_rate": 83 / 119,
        "active_user_rate": 59 / 83,
    }
    english = group_of(report, LANGUAGE, "en")
    assert english["label"] == "English"
    assert english["enrollment_rate"]["rate"] == 0.75
    assert english["enrollment_rate"]["gap_points"] == round((83 / 119 - 0.75) * 100, 1) == -5.3
    assert english["active_user_rate"]["rate"] == 0.667
    assert not english["enrollment_rate"]["flagged"]
    spanish = group_of(report, LANGUAGE, "es")
    assert spanish["enrollment_rate"]["rate"] == 0.3
    assert spanish["enrollment_rate"]["gap_points"] == 39.7
    assert spanish["enrollment_rate"]["flagged"]
    assert "Spanish" in spanish["enrollment_rate"]["remedy"]
    assert spanish["active_user_rate"] == {
        "fewer_than_30": True,
        "rate": None,
        "gap_points": None,
        "flagged": False,
        "remedy": None,
    }


def test_a_group_of_29_is_fewer_than_30_and_a_group_of_30_has_a_rate(three_languages):
    report = equity_gaps(JANUARY)

    vietnamese = group_of(report, LANGUAGE, "vi")
    for figure in ("enrollment_rate", "active_user_rate"):
        assert vietnamese[figure]["fewer_than_30"]
        assert vietnamese[figure]["rate"] is None
        assert vietnamese[figure]["gap_points"] is None
    spanish = group_of(report, LANGUAGE, "es")
    assert not spanish["enrollment_rate"]["fewer_than_30"]
    assert spanish["enrollment_rate"]["rate"] == 0.3


def test_the_page_and_the_api_never_show_a_small_groups_rate_or_any_count(
    three_languages, manager, client
):
    client.force_login(manager)
    page = client.get(reverse("metrics:equity"), {"month": "2026-01"})
    api = APIClient()
    api.force_authenticate(manager)
    answer = api.get(reverse("api_metrics_equity", kwargs={"month": "2026-01"}))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Vietnamese" in html and "fewer than 30" in html
    assert "100%" not in html  # the Vietnamese rate
    assert "Spanish" in html and "30%" in html and "39.7 pts below" in html
    assert "the script in Spanish" in html
    assert answer.status_code == 200
    vietnamese = group_of(answer.json(), LANGUAGE, "vi")
    assert vietnamese["enrollment_rate"]["rate"] is None
    # No count anywhere: a group is its name and its two rates.
    for group in answer.json()["groups"]:
        assert set(group) == {"dimension", "key", "label", "enrollment_rate", "active_user_rate"}
        for figure in ("enrollment_rate", "active_user_rate"):
            assert set(group[figure]) == {
                "fewer_than_30",
                "rate",
                "gap_points",
                "flagged",
                "remedy",
            }


def test_groups_of_fewer_than_30_patients_are_said_so_in_every_dimension(three_languages):
    report = equity_gaps(JANUARY)

    # Everyone was born on 17 May 1970 (the factory's), so 55 at the end of January.
    assert group_of(report, AGE, "50-64")["enrollment_rate"]["rate"] == round(83 / 119, 3)
    assert group_of(report, AGE, "80+")["enrollment_rate"]["fewer_than_30"]
    main = group_of(
        report, LOCATION, str(MonthlyRollup.objects.filter(scope_kind="location").get().scope_id)
    )
    assert main["label"] == "Main Street"
    assert main["enrollment_rate"]["gap_points"] == 0.0


def test_the_monthly_pdf_has_a_page_of_equity_gaps(three_languages):
    text = pdf_text(dashboard_pdf(JANUARY))

    assert "Equity gaps - January 2026" in text
    assert "Spanish: Enrollment rate 39.7 pts below the practice" in text
    assert "30% (39.7 pts below)" in text
    assert "fewer than 30" in text
    assert "Vietnamese" in text


# --- The 10-point line ------------------------------------------------------------


def test_exactly_10_points_below_the_practice_is_not_flagged(clinic):
    # Spanish 21 of 30 (70%), English 27 of 30 (90%): the practice 48 of 60, 80%.
    # 0.8 - 0.7 is 0.10000000000000009 in floating point: the comparison is exact.
    patients(30, enrolled=21, preferred_language="es")
    patients(30, enrolled=27, preferred_language="en")
    rollup_month(JANUARY)

    spanish = group_of(equity_gaps(JANUARY), LANGUAGE, "es")["enrollment_rate"]

    assert practice_figures()["enrollment_rate"] == 0.8
    assert spanish["gap_points"] == 10.0
    assert not spanish["flagged"]
    assert spanish["remedy"] is None


def test_10_1_points_below_the_practice_is_flagged(clinic):
    # Spanish 1 of 30 (3.33%), English 8 of 37: the practice 9 of 67 (13.43%),
    # 10.0995 points above the Spanish speakers.
    patients(30, enrolled=1, preferred_language="es")
    patients(37, enrolled=8, preferred_language="en")
    rollup_month(JANUARY)

    spanish = group_of(equity_gaps(JANUARY), LANGUAGE, "es")["enrollment_rate"]

    assert spanish["gap_points"] == 10.1
    assert spanish["flagged"]
    assert "Spanish" in spanish["remedy"]


def test_the_flag_is_judged_on_exact_fractions():
    practice = Counts(panel=60, enrolled=48, active_users=0)
    exactly_ten = Group(LANGUAGE, "es", "Spanish", Counts(panel=30, enrolled=21))
    just_over = Group(LANGUAGE, "es", "Spanish", Counts(panel=300, enrolled=209))  # 69.67%

    assert not judged(exactly_ten, practice)["enrollment_rate"]["flagged"]
    assert judged(just_over, practice)["enrollment_rate"]["flagged"]


# --- Age bands --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (dt.date(2008, 2, 1), ""),  # 17 on 31 January 2026
        (dt.date(2008, 1, 31), "18-34"),  # 18 that day
        (dt.date(1991, 2, 1), "18-34"),  # 34
        (dt.date(1991, 1, 31), "35-49"),  # 35
        (dt.date(1946, 2, 1), "65-79"),  # 79
        (dt.date(1946, 1, 31), "80+"),  # 80
    ],
)
def test_the_age_band_is_the_age_on_the_months_last_day(born, band):
    assert age_band(born, JAN_31) == band


def test_a_leap_day_birthday_counts_from_the_first_of_march():
    assert age_band(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == ""
    assert age_band(dt.date(2008, 2, 29), dt.date(2026, 3, 31)) == "18-34"
    assert born_by(dt.date(2028, 2, 29), 18) == dt.date(2010, 2, 28)


def test_the_database_puts_each_patient_in_the_same_age_band(clinic):
    for born in (
        dt.date(2008, 2, 1),
        dt.date(2008, 1, 31),
        dt.date(1991, 2, 1),
        dt.date(1991, 1, 31),
        dt.date(1946, 2, 1),
        dt.date(1946, 1, 31),
    ):
        patients(1, birth_date=born, preferred_language="en")

    counts = roster_counts(JANUARY)

    assert {band: c.panel for (_language, band), c in counts.items()} == {
        "": 1,
        "18-34": 2,
        "35-49": 1,
        "65-79": 1,
        "80+": 1,
    }


# --- The practice is the dashboard's ----------------------------------------------


def test_the_groups_add_up_to_the_dashboards_practice(clinic, manager):
    north = LocationFactory(code="NORTH", name="North")
    patients(40, enrolled=30, active=12, preferred_language="en")
    patients(35, enrolled=10, active=4, preferred_language="es", location=north)
    # Off the panel at the end of January: gone on the 31st, or not yet registered.
    patients(3, enrolled=3, active=3, deactivated_on=JAN_31, preferred_language="es")
    patients(2, registered_on=dt.date(2026, 2, 1), preferred_language="en")
    # Enrolled in February, a February login: not enrolled or active in January.
    late = patients(1, preferred_language="en", location=north)[0]
    ActivityEventFactory(
        patient=late, type=EventType.PORTAL_ACTIVATED, occurred_at=local(2026, 2, 2)
    )
    ActivityEventFactory(patient=late, type=EventType.LOGIN, occurred_at=local(2026, 2, 3))
    rollup_month(JANUARY)
    api = APIClient()
    api.force_authenticate(manager)

    equity = api.get(reverse("api_metrics_equity", kwargs={"month": "2026-01"})).json()
    dashboard = api.get(reverse("api_metrics_monthly", kwargs={"month": "2026-01"})).json()

    assert equity["practice"]["enrollment_rate"] == dashboard["figures"]["enrollment_rate"]
    assert equity["practice"]["active_user_rate"] == dashboard["figures"]["active_user_rate"]
    assert (dashboard["figures"]["panel"], dashboard["figures"]["enrolled"]) == (76, 40)
    total = Counts()
    for counts in roster_counts(JANUARY).values():
        total.add(counts)
    assert (total.panel, total.enrolled, total.active_users) == (76, 40, 16)
    assert group_of(equity, LANGUAGE, "es")["enrollment_rate"]["rate"] == round(10 / 35, 3)
    assert group_of(equity, LOCATION, str(north.pk))["enrollment_rate"]["rate"] == round(10 / 36, 3)


# --- Remedies ------------------------------------------------------------------------


def test_each_kind_of_group_gets_its_own_remedy():
    assert "script in Spanish" in remedy(LANGUAGE, "es", "enrollment_rate", "Spanish")
    assert "interpreter" in remedy(LANGUAGE, "ht", "enrollment_rate", "Haitian Creole")
    assert "tech-help session" in remedy(AGE, "80+", "enrollment_rate", "80 and older")
    assert "tech-help session" in remedy(AGE, "65-79", "active_user_rate", "65 to 79")
    assert "mobile app" in remedy(AGE, "18-34", "enrollment_rate", "18 to 34")
    assert "Main Street" in remedy(LOCATION, "1", "enrollment_rate", "Main Street")
    assert "checklist" in remedy(LOCATION, "1", "enrollment_rate", "Main Street")


# --- Who may look ------------------------------------------------------------------


def test_a_nurse_cannot_open_the_page_or_the_api(three_languages, nurse, client):
    client.force_login(nurse)
    api = APIClient()
    api.force_authenticate(nurse)

    assert client.get(reverse("metrics:equity")).status_code == 403
    assert api.get(reverse("api_metrics_equity", kwargs={"month": "2026-01"})).status_code == 403


def test_a_manager_reaches_the_page_from_the_dashboard_and_the_definitions(
    three_languages, manager, client
):
    client.force_login(manager)

    dashboard = client.get(reverse("metrics:dashboard")).content.decode()
    definitions = client.get(reverse("metrics:definitions")).content.decode()

    assert reverse("metrics:equity") in dashboard
    assert 'id="equity_gaps"' in definitions


def test_a_month_that_is_not_a_month_is_a_400_naming_the_field(manager, client, db):
    client.force_login(manager)
    api = APIClient()
    api.force_authenticate(manager)

    page = client.get(reverse("metrics:equity"), {"month": "2026-13"})
    answer = api.get(reverse("api_metrics_equity", kwargs={"month": "9999-99"}))

    assert page.status_code == 400
    assert page.context["form"].errors["month"]
    assert answer.status_code == 400
    assert "month" in answer.json()


@pytest.mark.parametrize("value", ["0001-01", "2026-13", "%00", "%ED%A0%80", "\u00b2"])
def test_a_hostile_month_in_the_api_path_is_a_400_naming_the_month(manager, db, value):
    api = APIClient()
    api.force_authenticate(manager)

    answer = api.get(f"/api/v1/metrics/equity/{value}/")

    assert answer.status_code in (400, 404), value
    if answer.status_code == 400:
        assert "month" in answer.json()


def test_a_month_without_figures_says_what_to_do(manager, client, db):
    client.force_login(manager)

    page = client.get(reverse("metrics:equity"))

    assert page.status_code == 200
    assert "rollup_metrics" in page.content.decode()


# --- The demo ------------------------------------------------------------------------


def test_the_demo_practice_leaves_its_oldest_behind_and_has_small_language_groups():
    """`make run`'s practice (2,000 patients, seed 42): the last full month, counted in
    memory with the definitions of metrics.md, then judged as the page judges."""
    until = dt.date(2026, 1, 31)
    practice = DemoPractice(DemoConfig(patients=2000, months=12, seed=42, until=until))
    activated, logged_in = {}, set()
    start = dt.datetime(2026, 1, 1, tzinfo=NEW_YORK)
    for event in practice.events():
        if event.type == EventType.PORTAL_ACTIVATED:
            activated.setdefault(event.patient_external_id, event.occurred_at)
        elif event.type == EventType.LOGIN and event.occurred_at >= start:
            logged_in.add(event.patient_external_id)
    groups: dict[tuple[str, str], Counts] = {}
    total = Counts()
    for patient in practice.patients:
        on_panel = patient.registered_on <= until and (
            patient.deactivated_on is None or patient.deactivated_on > until
        )
        if not on_panel:
            continue
        enrolled = patient.external_id in activated
        counts = Counts(1, int(enrolled), int(enrolled and patient.external_id in logged_in))
        total.add(counts)
        keys = [(LANGUAGE, patient.preferred_language)]
        if band := age_band(patient.birth_date, until):
            keys.append((AGE, band))
        for key in keys:
            groups.setdefault(key, Counts()).add(counts)

    results = {key: judged(Group(*key, key[1], c), total) for key, c in groups.items()}

    assert results[(AGE, "80+")]["enrollment_rate"]["flagged"]
    assert "tech-help" in results[(AGE, "80+")]["enrollment_rate"]["remedy"]
    assert any(
        r["enrollment_rate"]["fewer_than_30"] for k, r in results.items() if k[0] == LANGUAGE
    )
