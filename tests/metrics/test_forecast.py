"""Maria asks when the enrollment rate reaches its target, and what offering the portal at
every check-in would change (issue 16, item 3).

The fixed history: today is December 10, 2026 (America/New_York), so the pace is read
from September, October and November 2026, and the projection starts from November's
rollup (written directly: panel 20, enrollment rate 50%).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from enrollment.models import Decline, DeclineReason, Enrollment
from metrics.exports import dashboard_pdf
from metrics.forecast.selectors import pace, projection, reached_at
from metrics.models import MonthlyRollup, ScopeKind, Target
from metrics.selectors import scope_resolve
from patients.models import Channel, EventType
from portal_adoption.roles import Role
from tests.factories import LocationFactory, PatientFactory, logged_event, staff
from tests.metrics.test_dashboard import pdf_text
from tests.portal_adoption.test_page_shell import INLINE_SCRIPT, INLINE_STYLE

NEW_YORK = ZoneInfo("America/New_York")
TODAY = dt.datetime(2026, 12, 10, 12, 0, tzinfo=NEW_YORK)
NOVEMBER = dt.date(2026, 11, 1)


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NEW_YORK)


def test_the_model_matches_the_hand_computation():
    # Hand computation: visits x offer x acceptance x activation / panel
    # = 200 x 0.5 x 0.8 x 0.5 / 1000 = 0.04 of the not-yet-enrolled share each month:
    #   month 1: 0.5    + 0.04 x (1 - 0.5)    = 0.52
    #   month 2: 0.52   + 0.04 x (1 - 0.52)   = 0.5392
    #   month 3: 0.5392 + 0.04 x (1 - 0.5392) = 0.557632
    # in closed form rate(k) = 1 - 0.5 x 0.96^k:
    #   month 5: 1 - 0.5 x 0.815373 = 0.592314 (below 60%)
    #   month 6: 1 - 0.5 x 0.782758 = 0.608621 (at or beyond 60%): the target month is 6.
    rates = projection(
        start_rate=0.5,
        panel=1000,
        monthly_visits=200,
        offer_rate=0.5,
        acceptance=0.8,
        activation=0.5,
    )
    assert len(rates) == 12
    assert rates[:3] == pytest.approx([0.52, 0.5392, 0.557632])
    assert rates[4] == pytest.approx(0.592314, abs=1e-6)
    assert rates[5] == pytest.approx(0.608621, abs=1e-6)
    assert reached_at(rates, 0.60) == 6
    # Both sides of the boundary: a target equal to month 1's rate is reached in month 1.
    assert reached_at(rates, 0.52) == 1
    assert reached_at(rates, 0.5201) == 2


def test_with_no_offers_the_rate_stays_where_it_is_and_never_reaches_the_target():
    for zero in ({"offer_rate": 0.0}, {"acceptance": 0.0}, {"activation": 0.0}):
        inputs = {"offer_rate": 0.5, "acceptance": 0.8, "activation": 0.5} | zero
        rates = projection(start_rate=0.5, panel=1000, monthly_visits=200, **inputs)
        assert rates == [0.5] * 12
        assert reached_at(rates, 0.7) is None
    # An empty panel does not divide by zero; a full practice stays at 100%.
    assert (
        projection(
            start_rate=0.4, panel=0, monthly_visits=9, offer_rate=1, acceptance=1, activation=1
        )
        == [0.4] * 12
    )
    assert projection(
        start_rate=0.99, panel=10, monthly_visits=1000, offer_rate=1, acceptance=1, activation=1
    ) == pytest.approx([1.0] * 12)


@pytest.fixture
def december_10():
    with time_machine.travel(TODAY, tick=False):
        yield


def visit(patient, event_id: str, at: dt.datetime):
    logged_event(
        patient,
        event_id,
        EventType.VISIT_COMPLETED,
        at,
        channel=Channel.FRONT_DESK,
        object_id=f"enc-{event_id}",
    )


@pytest.fixture
def history(db, december_10):
    """Sep-Nov 2026: 7 visits, 6 by patients not yet enrolled; 4 offered, 2 invited,
    1 activated. Outside the window, on both sides, a visit and an offer that must not count."""
    clerk = staff("desk-forecast", Role.FRONT_DESK)
    first, second, declined, started, quiet, quieter, before, after, enrolled = (
        PatientFactory() for _ in range(9)
    )
    # Invited and activated; the visit is at the first instant of September (inside).
    visit(first, "v1", local(2026, 9, 1, 0, 0))
    logged_event(first, "i1", EventType.PORTAL_INVITED, local(2026, 9, 1, 9, 0))
    logged_event(first, "a1", EventType.PORTAL_ACTIVATED, local(2026, 9, 2, 10, 0))
    # Invited, never activated.
    visit(second, "v2", local(2026, 10, 5, 10, 0))
    logged_event(second, "i2", EventType.PORTAL_INVITED, local(2026, 10, 5, 10, 30))
    # Offered and declined.
    visit(declined, "v3", local(2026, 10, 20, 11, 0))
    Decline.objects.create(
        patient=declined,
        reason=DeclineReason.PRIVACY,
        recorded_by=clerk,
        recorded_at=local(2026, 10, 20, 11, 5),
    )
    # A desk enrollment started in the last minute of November, not finished.
    visit(started, "v4", local(2026, 11, 30, 23, 58))
    Enrollment.objects.create(
        patient=started, started_by=clerk, started_at=local(2026, 11, 30, 23, 59)
    )
    # Seen, not offered.
    visit(quiet, "v5", local(2026, 11, 10, 9, 0))
    visit(quieter, "v6", local(2026, 11, 12, 9, 0))
    # Already enrolled when seen: a visit, but not one that could be offered the portal.
    logged_event(enrolled, "a9", EventType.PORTAL_ACTIVATED, local(2026, 1, 15, 9, 0))
    visit(enrolled, "v9", local(2026, 10, 1, 9, 0))
    # The last minute of August and the first instant of December: outside.
    visit(before, "v7", local(2026, 8, 31, 23, 59))
    logged_event(before, "i7", EventType.PORTAL_INVITED, local(2026, 8, 31, 23, 59))
    visit(after, "v8", local(2026, 12, 1, 0, 0))
    Decline.objects.create(
        patient=after,
        reason=DeclineReason.PRIVACY,
        recorded_by=clerk,
        recorded_at=local(2026, 12, 1, 0, 0),
    )
    # Older rollups do not matter: the latest month with figures is where it starts.
    MonthlyRollup.objects.create(
        month=dt.date(2026, 10, 1),
        scope_kind=ScopeKind.PRACTICE,
        figures={"panel": 20, "enrolled": 8, "enrollment_rate": 0.4},
    )
    MonthlyRollup.objects.create(
        month=NOVEMBER,
        scope_kind=ScopeKind.PRACTICE,
        figures={"panel": 20, "enrolled": 10, "enrollment_rate": 0.5},
    )


def test_the_pace_is_read_from_the_last_three_complete_months(history, december_10):
    found = pace(TODAY.date())
    assert (found.first_month, found.last_month) == (dt.date(2026, 9, 1), NOVEMBER)
    assert found.visits == 7
    assert found.visits_not_enrolled == 6
    assert (found.offered, found.invited, found.activated) == (4, 2, 1)
    assert found.offer_rate == pytest.approx(4 / 6)
    assert found.acceptance == 0.5
    assert found.activation == 0.5


# Hand computation for the history above, target 70% (the default):
#   at this pace: (7/3 visits) x (4/6 offer) x 0.5 acceptance x 0.5 activation / 20
#   = 7/360 = 0.019444 a month; rate(k) = 1 - 0.5 x (353/360)^k, and 70% needs
#   (353/360)^k <= 0.6, k >= ln 0.6 / ln(353/360) = 26.01: not within 12 months.
#   What if 100% offered and 100% accept: (7/3) x 1 x 1 x 0.5 / 20 = 7/120 = 0.058333;
#   rate(k) = 1 - 0.5 x (113/120)^k: month 8 = 1 - 0.5 x 0.618269 = 0.690865 (below),
#   month 9 = 1 - 0.5 x 0.582203 = 0.708898 (beyond): August 2027 (November + 9).
def test_maria_sees_the_target_is_not_reached_at_this_pace_but_is_with_every_check_in(
    client, manager, history, december_10
):
    client.force_login(manager)
    page = client.get(reverse("metrics:forecast"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "will not reach the target in the next 12 months" in html
    assert "How the forecast works" in html
    assert "50.0%" in html  # the start, November's rate
    assert "December 2026" in html and "November 2027" in html
    assert not INLINE_SCRIPT.search(html) and not INLINE_STYLE.search(html)

    asked = client.get(reverse("metrics:forecast"), {"offer_rate": "100", "acceptance": "100"})
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "it reaches the target in August 2027" in html
    assert "70.9%" in html and "69.1%" in html  # months 9 and 8 of the what-if


def test_the_api_gives_the_hand_computed_projection_and_the_what_if_month(
    manager, history, december_10
):
    api = APIClient()
    api.force_authenticate(manager)
    url = reverse("api_metrics_forecast")
    body = api.get(url).json()["forecast"]
    assert body["start"] == {"month": "2026-11", "enrollment_rate": 0.5, "panel": 20}
    assert body["target"] == 0.7
    assert body["pace"]["reaches_target"] is None
    assert body["pace"]["months"][0] == {
        "month": "2026-12",
        "enrollment_rate": pytest.approx(0.5 + 7 / 360 * 0.5),
    }
    assert body["pace"]["months"][-1]["month"] == "2027-11"
    assert body["what_if"] is None

    what_if = api.get(url, {"offer_rate": "100", "acceptance": "100"}).json()["forecast"]
    assert what_if["what_if"]["reaches_target"] == "2027-08"
    rates = [month["enrollment_rate"] for month in what_if["what_if"]["months"]]
    assert rates[7] == pytest.approx(0.690865, abs=1e-6)
    assert rates[8] == pytest.approx(0.708898, abs=1e-6)
    # The same what-if with nobody offered: the rate stays at 50%.
    still = api.get(url, {"offer_rate": "0"}).json()["forecast"]["what_if"]
    assert still["reaches_target"] is None
    assert {month["enrollment_rate"] for month in still["months"]} == {0.5}


def test_a_target_already_met_is_said_so(client, manager, history, december_10):
    Target.objects.create(figure="enrollment_rate", value="0.5000")
    client.force_login(manager)
    html = client.get(reverse("metrics:forecast")).content.decode()
    assert "already at or beyond the target" in html


def test_before_any_rollup_the_page_says_what_to_do(client, manager, db):
    client.force_login(manager)
    page = client.get(reverse("metrics:forecast"))
    assert page.status_code == 200
    assert "rollup_metrics --all" in page.content.decode()
    api = APIClient()
    api.force_authenticate(manager)
    assert api.get(reverse("api_metrics_forecast")).json() == {"forecast": None}


@pytest.mark.parametrize("bad", ["-1", "100.5", "abc", "NaN", "1e999", "Infinity"])
def test_a_bad_offer_rate_is_refused_naming_the_field(client, manager, history, bad):
    client.force_login(manager)
    page = client.get(reverse("metrics:forecast"), {"offer_rate": bad})
    assert page.status_code == 400
    assert 'id="id_offer_rate_error"' in page.content.decode()
    api = APIClient()
    api.force_authenticate(manager)
    refused = api.get(reverse("api_metrics_forecast"), {"offer_rate": bad, "acceptance": "50"})
    assert refused.status_code == 400
    assert set(refused.json()) == {"offer_rate"}
    bad_acceptance = api.get(reverse("api_metrics_forecast"), {"acceptance": bad})
    assert bad_acceptance.status_code == 400
    assert set(bad_acceptance.json()) == {"acceptance"}


def test_the_edges_of_a_percentage_are_accepted(client, manager, history, december_10):
    client.force_login(manager)
    for edge in ("0", "100"):
        response = client.get(reverse("metrics:forecast"), {"offer_rate": edge})
        assert response.status_code == 200, edge


def test_a_nurse_cannot_open_the_forecast_page_or_api(client, nurse, history):
    client.force_login(nurse)
    assert client.get(reverse("metrics:forecast")).status_code == 403
    api = APIClient()
    api.force_authenticate(nurse)
    assert api.get(reverse("api_metrics_forecast")).status_code == 403
    assert APIClient().get(reverse("api_metrics_forecast")).status_code in (401, 403)


def test_maria_finds_the_forecast_from_the_dashboard_and_its_definition(client, manager, db):
    client.force_login(manager)
    forecast_url = reverse("metrics:forecast")
    assert f'href="{forecast_url}"' in client.get(reverse("metrics:dashboard")).content.decode()
    definitions = client.get(reverse("metrics:definitions")).content.decode()
    assert 'id="forecast"' in definitions
    assert "How the forecast works" in definitions
    assert f'href="{forecast_url}"' in definitions


def test_the_monthly_pdf_has_a_forecast_page_from_that_month(history, december_10):
    # November is complete on December 10: its pace is September to November, the
    # history above, and it starts from November's 50%; not reached at this pace.
    text = pdf_text(dashboard_pdf(NOVEMBER))
    assert "Enrollment forecast - November 2026" in text
    assert "Enrollment rate in November 2026: 50.0%. Target: 70.0%." in text
    assert "will not reach the target in the next 12 months" in text
    assert "The pace, September 2026 to November 2026" in text
    assert "November 2027" in text
    # October's PDF starts from October's 40%, at the pace of August to October.
    october = pdf_text(dashboard_pdf(dt.date(2026, 10, 1)))
    assert "Enrollment rate in October 2026: 40.0%." in october
    assert "The pace, August 2026 to October 2026" in october
    # A location's PDF has no forecast page: the forecast is the practice's.
    location = LocationFactory()
    MonthlyRollup.objects.create(
        month=NOVEMBER,
        scope_kind=ScopeKind.LOCATION,
        scope_id=location.pk,
        figures={"panel": 5, "enrolled": 1, "enrollment_rate": 0.2},
    )
    scoped = pdf_text(dashboard_pdf(NOVEMBER, scope_resolve(location_id=location.pk)))
    assert "Enrollment forecast" not in scoped
