"""The CMS "Provide Patients Electronic Access" measure: figures, page, CSV and API.

A fixed history over the 90 days from Monday 2026-01-05 to Saturday 2026-04-04,
on the default calendar (Monday to Friday, US federal holidays; Martin Luther
King Jr. Day is Monday 2026-01-19). By hand:

- Ana: activated in 2025, seen Jan 8: access before the visit, counted.
- Ben: seen Thu Jan 8, invited Wed Jan 14 23:30 (Fri 9, Mon 12, Tue 13, Wed 14:
  the 4th business day): counted.
- Cara: seen Thu Jan 8, invited Thu Jan 15 00:10 (the 5th business day): not.
- Dan: seen Thu Jan 15, invited Thu Jan 22 16:00 (Fri 16, Tue 20, Wed 21, Thu 22:
  the holiday skipped, the 4th): counted.
- Eve: seen Thu Jan 15, invited Fri Jan 23 09:00 (the 5th): not.
- Gus: seen Feb 2 (no access) and Mar 2, invited Tue Mar 3: in time for the
  second visit, counted.
- Hal: seen Feb 10, never invited: not.
- Ida: seen Feb 3 and Feb 24, invited Mar 20 (after Mon Mar 2, the deadline of
  the last visit): not.
- Jo: activated in 2025, seen Sat Apr 4 23:55, the period's last minute: counted.
- Finn: seen Sun Jan 4 23:55 and Sun Apr 5 00:05, both outside: not in the
  denominator at all.

Denominator 9 (Ana, Ben, Cara, Dan, Eve, Gus, Hal, Ida, Jo), numerator 5 (Ana,
Ben, Dan, Gus, Jo): 5/9 = 55.6%. Not counted: Cara, Eve, Hal, Ida.
"""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from metrics.electronic_access.selectors import access_deadline, electronic_access
from metrics.exports import dashboard_pdf
from patients.models import ActivityEvent, Channel, EventType, PatientFirsts
from portal_adoption.business_calendar import BusinessCalendar
from portal_adoption.models import AccessAction, AccessLogEntry, PracticeClosure
from tests.factories import ActivityEventFactory, PatientFactory
from tests.metrics.test_dashboard import pdf_text
from tests.patients.test_demo_data import run_demo_data

NEW_YORK = ZoneInfo("America/New_York")
START, END = dt.date(2026, 1, 5), dt.date(2026, 4, 4)
PERIOD = {"start": "2026-01-05", "end": "2026-04-04"}
AFTER_THE_PERIOD = dt.datetime(2026, 5, 1, 12, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def new_york(settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    settings.PRACTICE_COUNTRY = "US"


@pytest.fixture(autouse=True)
def in_may():
    with time_machine.travel(AFTER_THE_PERIOD, tick=False):
        yield


def at(month, day, hour=10, minute=0, year=2026):
    return dt.datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def event(patient, type_, when, channel=Channel.PORTAL):
    return ActivityEventFactory(
        patient=patient, type=type_, occurred_at=when, recorded_at=when, channel=channel
    )


def seen(patient, *whens):
    for when in whens:
        event(patient, EventType.VISIT_COMPLETED, when, Channel.FRONT_DESK)


def invited(patient, when):
    event(patient, EventType.PORTAL_INVITED, when, Channel.FRONT_DESK)


def activated(patient, when):
    invited(patient, when - dt.timedelta(days=1))
    event(patient, EventType.PORTAL_ACTIVATED, when)


@pytest.fixture
def history(db):
    people = {
        name: PatientFactory(given_name=name, family_name=f"{name}son", external_id=f"MRN-{name}")
        for name in ("Ana", "Ben", "Cara", "Dan", "Eve", "Finn", "Gus", "Hal", "Ida", "Jo")
    }
    activated(people["Ana"], at(6, 1, year=2025))
    seen(people["Ana"], at(1, 8))
    seen(people["Ben"], at(1, 8))
    invited(people["Ben"], at(1, 14, 23, 30))
    seen(people["Cara"], at(1, 8))
    invited(people["Cara"], at(1, 15, 0, 10))
    seen(people["Dan"], at(1, 15))
    invited(people["Dan"], at(1, 22, 16))
    seen(people["Eve"], at(1, 15))
    invited(people["Eve"], at(1, 23, 9))
    seen(people["Finn"], at(1, 4, 23, 55), at(4, 5, 0, 5))
    invited(people["Finn"], at(1, 6))
    seen(people["Gus"], at(2, 2), at(3, 2))
    invited(people["Gus"], at(3, 3))
    seen(people["Hal"], at(2, 10))
    seen(people["Ida"], at(2, 3), at(2, 24))
    invited(people["Ida"], at(3, 20))
    activated(people["Jo"], at(6, 1, year=2025))
    seen(people["Jo"], at(4, 4, 23, 55))
    return people


def not_counted_names(measure):
    return [row.patient.given_name for row in measure.not_counted]


# --- The figures ------------------------------------------------------------------


def test_a_manager_gets_the_hand_computed_rate_for_a_90_day_period(history):
    measure = electronic_access(START, END)

    assert (measure.denominator, measure.numerator) == (9, 5)
    assert measure.rate == Decimal(5) / Decimal(9)
    assert sorted(not_counted_names(measure)) == ["Cara", "Eve", "Hal", "Ida"]


def test_access_on_the_4th_business_day_after_a_weekend_counts_and_on_the_5th_does_not(
    history,
):
    measure = electronic_access(START, END)
    missed = not_counted_names(measure)

    assert "Ben" not in missed  # Wed Jan 14, 23:30: the 4th business day after Thu Jan 8
    assert "Cara" in missed  # Thu Jan 15, 00:10: the 5th
    assert access_deadline(dt.date(2026, 1, 8)) == dt.date(2026, 1, 14)


def test_a_federal_holiday_is_not_a_business_day(history):
    measure = electronic_access(START, END)
    missed = not_counted_names(measure)

    assert "Dan" not in missed  # Thu Jan 22: Martin Luther King Jr. Day skipped
    assert "Eve" in missed  # Fri Jan 23
    assert access_deadline(dt.date(2026, 1, 15)) == dt.date(2026, 1, 22)


def test_a_practice_closure_moves_the_deadline_a_business_day_later(db):
    PracticeClosure.objects.create(date=dt.date(2026, 1, 13), name="Move")

    assert access_deadline(dt.date(2026, 1, 8), BusinessCalendar()) == dt.date(2026, 1, 15)


def test_a_visit_on_a_saturday_counts_business_days_from_the_monday(db):
    assert access_deadline(dt.date(2026, 1, 10)) == dt.date(2026, 1, 15)


def test_access_already_in_place_before_the_visit_counts(history):
    missed = not_counted_names(electronic_access(START, END))

    assert "Ana" not in missed and "Jo" not in missed


def test_visits_outside_the_period_are_not_in_the_denominator(history):
    measure = electronic_access(START, END)

    assert "Finn" not in not_counted_names(measure)
    # The 90 days a day later take Finn's Apr 5 visit: invited Jan 6, before it, counted.
    later = electronic_access(dt.date(2026, 1, 6), dt.date(2026, 4, 5))
    assert later.denominator == 10 and later.numerator == 6


def test_a_patient_seen_twice_counts_once_when_access_came_in_time_for_the_last_visit(
    history,
):
    measure = electronic_access(START, END)
    ida = next(row for row in measure.not_counted if row.patient.given_name == "Ida")

    assert "Gus" not in not_counted_names(measure)
    assert ida.visits == [dt.date(2026, 2, 3), dt.date(2026, 2, 24)]
    assert ida.deadline == dt.date(2026, 3, 2)
    assert ida.access_at == at(3, 20)
    assert not ida.still_in_time


def test_a_patient_whose_4_business_days_have_not_passed_is_still_in_time(db):
    rosa = PatientFactory(given_name="Rosa", family_name="Delgado")
    seen(rosa, at(4, 29))  # Wednesday; the deadline is Tue May 5, and today is May 1
    measure = electronic_access(dt.date(2026, 2, 1), dt.date(2026, 5, 1))

    (row,) = measure.not_counted
    assert row.still_in_time and row.deadline == dt.date(2026, 5, 5)
    assert (measure.denominator, measure.numerator, measure.still_in_time) == (1, 0, 1)


def test_a_period_without_visits_has_no_rate(db):
    measure = electronic_access(START, END)

    assert (measure.denominator, measure.numerator, measure.rate) == (0, 0, None)


# --- The page, the CSV and the API ------------------------------------------------


def test_a_manager_sees_the_rate_the_definition_and_the_patients_not_counted(
    client, manager, history
):
    client.force_login(manager)
    response = client.get(reverse("metrics:electronic_access"), PERIOD)

    assert response.status_code == 200
    html = response.content.decode()
    assert "55.6%" in html
    assert "official CMS specification" in html
    for name in ("Cara", "Eve", "Hal", "Ida"):
        assert f"{name}son, {name}" in html
    for name in ("Ana", "Ben", "Dan", "Gus", "Jo", "Finn"):
        assert f"{name}son, {name}" not in html


def test_the_list_of_patients_not_counted_is_access_logged(client, manager, history):
    client.force_login(manager)
    client.get(reverse("metrics:electronic_access"), PERIOD)

    (entry,) = AccessLogEntry.objects.filter(action=AccessAction.LIST, resource="electronic_access")
    assert entry.user == manager
    listed = set(entry.listed_patients.values_list("patient", flat=True))
    assert listed == {history[name].pk for name in ("Cara", "Eve", "Hal", "Ida")}


def test_without_a_period_the_page_shows_this_year(client, manager, history):
    client.force_login(manager)
    response = client.get(reverse("metrics:electronic_access"))

    assert response.status_code == 200
    # The whole of 2026 takes Finn's two visits too: invited before the Apr 5 one, counted.
    assert response.context["measure"].denominator == 10
    assert response.context["measure"].numerator == 6


def test_a_manager_downloads_the_patients_not_counted_as_csv_with_formulas_neutralized(
    client, manager, history
):
    hostile = PatientFactory(
        given_name='=HYPERLINK("http://evil.example/","Open")',
        family_name="+cmd|' /C calc'!A0",
        external_id="-MRN-EVIL",
    )
    seen(hostile, at(3, 9))
    client.force_login(manager)
    response = client.get(reverse("metrics:electronic_access_csv"), PERIOD)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["MRN", "Family name", "Given name", "Visits in the period"]
    by_mrn = {row[0]: row for row in rows[1:]}
    assert set(by_mrn) == {"MRN-Cara", "MRN-Eve", "MRN-Hal", "MRN-Ida", "'-MRN-EVIL"}
    assert by_mrn["'-MRN-EVIL"][1:3] == [
        "'+cmd|' /C calc'!A0",
        '\'=HYPERLINK("http://evil.example/","Open")',
    ]
    assert by_mrn["MRN-Ida"][3:7] == ["2026-02-03 2026-02-24", "2026-03-02", "2026-03-20", "no"]
    (entry,) = AccessLogEntry.objects.filter(resource="electronic_access_export")
    assert entry.listed_patients.count() == 5


def test_the_api_gives_the_figures_and_the_patients_not_counted(client, manager, history):
    client.force_login(manager)
    response = client.get("/api/v1/metrics/electronic-access/", PERIOD)

    assert response.status_code == 200
    body = response.json()
    assert (body["denominator"], body["numerator"]) == (9, 5)
    assert body["rate"] == pytest.approx(5 / 9)
    hal = next(row for row in body["not_counted"] if row["patient_external_id"] == "MRN-Hal")
    assert (
        hal["visits"] == ["2026-02-10"] and hal["deadline"] == "2026-02-17"
    )  # Presidents' Day, Feb 16
    assert hal["first_access_at"] is None
    (entry,) = AccessLogEntry.objects.filter(
        resource="electronic_access", path="/api/v1/metrics/electronic-access/"
    )
    assert entry.listed_patients.count() == 4


@pytest.mark.parametrize(
    "url",
    ["metrics:electronic_access", "metrics:electronic_access_csv", "api"],
)
def test_a_nurse_or_the_front_desk_cannot_open_the_measure(
    client, nurse, front_desk_clerk, history, url
):
    path = "/api/v1/metrics/electronic-access/" if url == "api" else reverse(url)
    for user in (nurse, front_desk_clerk):
        client.force_login(user)
        response = client.get(path, PERIOD)
        assert response.status_code == 403
        assert b"Cara" not in response.content
    assert not AccessLogEntry.objects.filter(action=AccessAction.LIST).exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-13-01", "end": "2026-04-04"}, "start"),
        ({"start": "2026-01-05", "end": "yesterday"}, "end"),
        ({"start": "2026-01-05", "end": "2026-04-05"}, "end"),  # 91 days
        ({"start": "2026-01-05", "end": "2026-04-03"}, "end"),  # 89 days
        ({"start": "2026-02-01", "end": "2026-12-31"}, "end"),  # not a calendar year
        ({"start": "2026-04-04", "end": "2026-01-05"}, "end"),
        ({"start": "9999-01-01", "end": "2026-12-31"}, "start"),
        ({"start": "1800-01-01", "end": "2026-04-04"}, "start"),
        ({"end": "2026-04-04"}, "start"),
        ({"start": "\x00", "end": "2026-04-04"}, "start"),
    ],
)
def test_a_period_the_measure_does_not_take_gets_an_error_naming_the_field(
    client, manager, query, field
):
    client.force_login(manager)

    page = client.get(reverse("metrics:electronic_access"), query)
    assert page.status_code == 400
    assert page.context["form"].errors.keys() == {field}
    api = client.get("/api/v1/metrics/electronic-access/", query)
    assert api.status_code == 400
    assert set(api.json()) == {field}
    assert client.get(reverse("metrics:electronic_access_csv"), query).status_code == 400


def test_a_calendar_year_and_exactly_90_days_are_both_accepted(client, manager, history):
    client.force_login(manager)

    year = client.get(
        "/api/v1/metrics/electronic-access/", {"start": "2026-01-01", "end": "2026-12-31"}
    )
    days = client.get("/api/v1/metrics/electronic-access/", PERIOD)
    assert (year.status_code, days.status_code) == (200, 200)
    assert year.json()["denominator"] == 10


def test_the_monthly_pdf_has_a_page_for_the_year_to_date_without_names(history):
    text = pdf_text(dashboard_pdf(dt.date(2026, 4, 1)))

    # January 1 to April 30: Finn's visits are in (invited before the Apr 5 one): 6 of 10.
    assert "Provide Patients Electronic Access (CMS)" in text
    assert "60.0% given portal access in time" in text
    assert "Patients seen (denominator): 10" in text
    assert "Cara" not in text and "MRN-" not in text


def test_the_definitions_page_and_the_dashboard_lead_to_the_measure(client, manager):
    client.force_login(manager)
    measure_url = reverse("metrics:electronic_access")

    definitions = client.get(reverse("metrics:definitions")).content.decode()
    assert "official CMS specification" in definitions and measure_url in definitions
    assert measure_url in client.get(reverse("metrics:dashboard")).content.decode()


def test_the_demo_practice_shows_every_kind_of_patient_on_the_measure(db):
    run_demo_data("--patients=300", "--months=4", "--seed=7", "--no-logins")
    calendar = BusinessCalendar()
    start, end = dt.date(2026, 2, 1), dt.date(2026, 5, 1)  # 90 days, up to today
    measure = electronic_access(start, end, calendar=calendar)

    in_time_after_a_visit = 0
    for firsts in PatientFirsts.objects.filter(invited_at__date__range=(start, end)):
        visits = ActivityEvent.objects.filter(
            patient_id=firsts.patient_id,
            type=EventType.VISIT_COMPLETED,
            occurred_at__lte=firsts.invited_at,
            occurred_at__date__gte=start,
        )
        last = visits.order_by("-occurred_at").first()
        if last and firsts.invited_at.date() <= access_deadline(
            last.occurred_at.astimezone(NEW_YORK).date(), calendar
        ):
            in_time_after_a_visit += 1
    assert measure.denominator > 100
    assert 0.4 < measure.rate < 0.95
    assert in_time_after_a_visit >= 5
    assert any(row.access_at for row in measure.not_counted)  # invited too late
    assert any(row.access_at is None for row in measure.not_counted)  # never invited
