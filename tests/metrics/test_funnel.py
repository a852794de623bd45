"""Maria asks where portal adoption leaks: the enrollment funnel (issue 16, item 1).

Today is June 15, 2026 (America/New_York). The March 2026 cohort is seven patients,
each step worked out by hand beside them in `march`; two patients just outside March
(the last minute of February, the first instant of April) belong to other cohorts.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from enrollment.models import Decline, DeclineReason, Enrollment
from metrics.exports import dashboard_pdf
from metrics.forecast.selectors import pace
from metrics.funnel import selectors
from metrics.funnel.selectors import biggest_drop, funnel
from metrics.funnel.services import funnel_rollup
from metrics.models import FunnelBy, FunnelRollup
from metrics.offers import offered_between, with_first_offer
from patients.models import Channel, EventType
from portal_adoption.roles import Role
from tests.factories import LocationFactory, PatientFactory, ProviderFactory, logged_event, staff
from tests.metrics.test_dashboard import pdf_text
from tests.portal_adoption.test_page_shell import INLINE_SCRIPT, INLINE_STYLE

NEW_YORK = ZoneInfo("America/New_York")
MARCH = dt.date(2026, 3, 1)
STEPS = [
    "offered",
    "invited",
    "activated",
    "first_login_7_days",
    "app_installed",
    "multi_feature",
    "active_90_days",
]


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def june_15_in_new_york(settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    with time_machine.travel(local(2026, 6, 15, 12, 0), tick=False):
        yield


class Log:
    """Events of one patient, numbered."""

    count = 0

    def __init__(self, patient):
        self.patient = patient

    def __call__(self, event_type, at, **fields):
        Log.count += 1
        fields.setdefault("channel", Channel.PORTAL)
        return logged_event(self.patient, f"f{Log.count}", event_type, at, **fields)

    def multi_feature_month(self, year, month, day=3):
        """A login, a message and a result viewed in one month: two features."""
        self(EventType.LOGIN, local(year, month, day, 9))
        self(EventType.MESSAGE_FROM_PATIENT, local(year, month, day, 10), object_id=f"m{Log.count}")
        self(EventType.RESULT_VIEWED, local(year, month, day + 1, 10), object_id=f"r{Log.count}")


@pytest.fixture
def march(db):
    """The March cohort (offered 7, invited 6, activated 5, first login within 7 days 4,
    app installed 4, multi-feature 3, of whom 2 past day 90, active at 90 days 1)."""
    north = LocationFactory(code="NORTH", name="North Clinic")
    south = LocationFactory(code="SOUTH", name="South Clinic")
    adams = ProviderFactory(code="ADAMS", name="Dr. Adams", location=north)
    baker = ProviderFactory(code="BAKER", name="Dr. Baker", location=south)
    fatima = staff("fatima-funnel", Role.FRONT_DESK, first_name="Fatima", last_name="Noor")
    carlos = staff("carlos-funnel", Role.FRONT_DESK, first_name="Carlos", last_name="Ruiz")

    def patient(location, provider):
        return PatientFactory(location=location, primary_provider=provider)

    # 1. Every step. Enrollment by Fatima; first login on day 7 (23:30): counts. The
    #    login exactly on day 90 (90 x 24 h after activation) counts.
    alpha = patient(north, adams)
    Enrollment.objects.create(patient=alpha, started_by=fatima, started_at=local(2026, 3, 2, 10))
    log = Log(alpha)
    log(EventType.PORTAL_INVITED, local(2026, 3, 2, 10, 1), channel=Channel.FRONT_DESK)
    # In UTC: a day is 24 hours (local wall-clock arithmetic would lose the DST hour).
    activated = log(EventType.PORTAL_ACTIVATED, local(2026, 3, 2, 10, 2)).occurred_at.astimezone(
        dt.UTC
    )
    log(EventType.APP_INSTALLED, local(2026, 3, 3, 9), channel=Channel.APP)
    log(EventType.LOGIN, local(2026, 3, 9, 23, 30))
    log.multi_feature_month(2026, 4)
    log(EventType.LOGIN, activated + dt.timedelta(days=90))

    # 2. Declined (Carlos), then an enrollment by Fatima: the decline was the first offer.
    #    First login on day 8 (00:30): stops at activated, whatever came after.
    bravo = patient(south, baker)
    Decline.objects.create(
        patient=bravo,
        reason=DeclineReason.NO_EMAIL,
        recorded_by=carlos,
        recorded_at=local(2026, 3, 5, 9),
    )
    Enrollment.objects.create(patient=bravo, started_by=fatima, started_at=local(2026, 3, 6, 8))
    log = Log(bravo)
    log(EventType.PORTAL_INVITED, local(2026, 3, 6, 8, 5))
    log(EventType.PORTAL_ACTIVATED, local(2026, 3, 6, 9))
    log(EventType.LOGIN, local(2026, 3, 14, 0, 30))
    log(EventType.APP_INSTALLED, local(2026, 3, 15, 9), channel=Channel.APP)
    log.multi_feature_month(2026, 4)

    # 3. Invited by the portal's feed (nobody recorded). Multi-feature in March; logins
    #    exactly on day 60 and a minute after day 90: not active at 90 days.
    charlie = patient(north, baker)
    log = Log(charlie)
    log(EventType.PORTAL_INVITED, local(2026, 3, 10, 11))
    activated = log(EventType.PORTAL_ACTIVATED, local(2026, 3, 10, 12)).occurred_at.astimezone(
        dt.UTC
    )
    log(EventType.LOGIN, local(2026, 3, 10, 13))
    log(EventType.APP_INSTALLED, local(2026, 3, 11, 9), channel=Channel.APP)
    log.multi_feature_month(2026, 3, day=20)
    log(EventType.LOGIN, activated + dt.timedelta(days=60))
    log(EventType.LOGIN, activated + dt.timedelta(days=90, minutes=1))

    # 4. Enrollment by Fatima on March 20: multi-feature, but day 90 (June 18) is ahead.
    delta = patient(south, adams)
    Enrollment.objects.create(patient=delta, started_by=fatima, started_at=local(2026, 3, 20, 10))
    log = Log(delta)
    log(EventType.PORTAL_INVITED, local(2026, 3, 20, 10, 1))
    log(EventType.PORTAL_ACTIVATED, local(2026, 3, 20, 11))
    log(EventType.LOGIN, local(2026, 3, 20, 11, 5))
    log(EventType.APP_INSTALLED, local(2026, 3, 20, 11, 10), channel=Channel.APP)
    log.multi_feature_month(2026, 4)

    # 5. Enrollment by Carlos in the last minute of March: invited, never activated.
    echo = patient(south, baker)
    Enrollment.objects.create(
        patient=echo, started_by=carlos, started_at=local(2026, 3, 31, 23, 59)
    )
    Log(echo)(EventType.PORTAL_INVITED, local(2026, 4, 1, 0, 30))

    # 6. Enrollment by Carlos, never invited: offered only.
    hotel = patient(north, adams)
    Enrollment.objects.create(patient=hotel, started_by=carlos, started_at=local(2026, 3, 12, 9))

    # 7. Invited by the feed: app installed, but one feature a month only once activated
    #    (two features in early March, before the activation, do not count).
    india = patient(north, adams)
    log = Log(india)
    log.multi_feature_month(2026, 3, day=12)
    log(EventType.PORTAL_INVITED, local(2026, 3, 15, 9))
    log(EventType.PORTAL_ACTIVATED, local(2026, 3, 15, 10))
    log(EventType.LOGIN, local(2026, 3, 16, 9))
    log(EventType.APP_INSTALLED, local(2026, 3, 16, 9, 30), channel=Channel.APP)
    log(EventType.MESSAGE_FROM_PATIENT, local(2026, 3, 20, 9), object_id="only-message")
    log(EventType.LOGIN, local(2026, 4, 2, 9))
    log(EventType.RESULT_VIEWED, local(2026, 4, 2, 9, 5), object_id="only-result")

    # Outside March: declined in the last minute of February (then invited in March),
    # and invited at the first instant of April.
    foxtrot = patient(north, adams)
    Decline.objects.create(
        patient=foxtrot,
        reason=DeclineReason.PRIVACY,
        recorded_by=fatima,
        recorded_at=local(2026, 2, 28, 23, 59),
    )
    Log(foxtrot)(EventType.PORTAL_INVITED, local(2026, 3, 3, 9))
    golf = patient(south, baker)
    Log(golf)(EventType.PORTAL_INVITED, local(2026, 4, 1, 0, 0))
    return {
        "north": north,
        "south": south,
        "adams": adams,
        "baker": baker,
        "fatima": fatima,
        "carlos": carlos,
    }


def counts(*values):
    return dict(zip(STEPS, values, strict=True))


def test_a_patient_is_offered_once_in_the_month_of_the_first_offer(march):
    offered = offered_between(local(2026, 3, 1, 0, 0), local(2026, 4, 1, 0, 0)).values_list(
        "pk", flat=True
    )
    assert len(offered) == 7
    first = dict(with_first_offer().values_list("pk", "offered_by_id"))
    # Bravo's decline (Carlos) came before Fatima's enrollment: Carlos made the offer.
    assert sorted(first.values(), key=str).count(march["carlos"].pk) == 3


def test_the_forecast_counts_a_patient_offered_once_in_the_first_offers_month(march):
    # June 15: the pace is March to May. Foxtrot, declined in February and invited in
    # March, was offered in February; golf, invited on April 1, in April.
    found = pace(dt.date(2026, 6, 15))
    assert found.offered == 7 + 1


def test_the_march_cohort_step_by_step_by_hand(march):
    funnel_rollup(months=[MARCH])
    data = funnel(MARCH)
    assert data["practice"]["counts"] == counts(7, 6, 5, 4, 4, 3, 1)
    assert data["practice"]["due_90"] == 2
    assert data["day_90_pending"] == 1
    assert data["practice"]["conversions"] == {
        "invited": pytest.approx(6 / 7),
        "activated": pytest.approx(5 / 6),
        "first_login_7_days": pytest.approx(4 / 5),
        "app_installed": 1.0,
        "multi_feature": pytest.approx(3 / 4),
        "active_90_days": 0.5,
    }


def test_the_cohorts_either_side_of_march(march):
    funnel_rollup(months=[dt.date(2026, 2, 1), dt.date(2026, 4, 1)])
    assert funnel(dt.date(2026, 2, 1))["practice"]["counts"]["offered"] == 1
    assert funnel(dt.date(2026, 4, 1))["practice"]["counts"] == counts(1, 1, 0, 0, 0, 0, 0)


def _groups(by, names):
    return {names[row["key"]]: row["counts"] for row in funnel(MARCH, by)["groups"]}


def test_the_cohort_per_location_provider_and_staff_member(march):
    funnel_rollup(months=[MARCH])

    def named(*keys):
        return {str(march[key].pk): key for key in keys}

    assert _groups(FunnelBy.LOCATION, named("north", "south")) == {
        "north": counts(4, 3, 3, 3, 3, 2, 1),
        "south": counts(3, 3, 2, 1, 1, 1, 0),
    }
    assert _groups(FunnelBy.PROVIDER, named("adams", "baker")) == {
        "adams": counts(4, 3, 3, 3, 3, 2, 1),
        "baker": counts(3, 3, 2, 1, 1, 1, 0),
    }
    assert _groups(FunnelBy.STAFF, named("fatima", "carlos") | {"0": "nobody"}) == {
        "fatima": counts(2, 2, 2, 2, 2, 2, 1),
        "carlos": counts(3, 2, 1, 0, 0, 0, 0),
        "nobody": counts(2, 2, 2, 2, 2, 1, 0),
    }


def test_the_biggest_drop_is_the_lowest_conversion_over_a_base_of_30():
    # 60 -> 45 (75%) -> 30 (66.7%) -> 29 -> ... -> 10 of 29 (34%): the last has a base
    # of 29, too small to judge; 30 -> 15 (50%) over 30 is the biggest drop.
    found = {
        "offered": 60,
        "invited": 45,
        "activated": 30,
        "first_login_7_days": 15,
        "app_installed": 15,
        "multi_feature": 14,
        "due_90": 29,
        "active_90_days": 10,
    }
    assert biggest_drop(found) == "first_login_7_days"
    assert biggest_drop(found | {"due_90": 30}) == "active_90_days"
    # A tie goes to the earlier step; nothing over 30 patients: no drop.
    tie = {"invited": 30, "activated": 15, "first_login_7_days": 15}  # 50% and 50%
    assert biggest_drop(found | tie) == "invited"
    assert biggest_drop({"offered": 29, "invited": 1}) is None


def test_the_biggest_drop_comes_with_the_playbook_action(march, monkeypatch):
    funnel_rollup(months=[MARCH])
    monkeypatch.setattr(selectors, "MIN_BASE", 2)
    drop = funnel(MARCH)["biggest_drop"]
    assert (drop["step"], drop["conversion"], drop["base"]) == ("active_90_days", 0.5, 2)
    assert "feature-awareness" in drop["action"]
    # With a base of 3 or more, the 90-day step (base 2) is not judged: 3 of 4 is.
    monkeypatch.setattr(selectors, "MIN_BASE", 3)
    assert funnel(MARCH)["biggest_drop"]["step"] == "multi_feature"
    # Activated but never logged in: the 7-day reminder.
    assert "7-day reminder" in str(selectors.ACTIONS["first_login_7_days"])


def test_the_rollup_is_rerunnable_and_replaces_the_cohort(march):
    FunnelRollup.objects.create(cohort=MARCH, by=FunnelBy.LOCATION, group_id=999, counts={})
    funnel_rollup(months=[MARCH])
    first = list(
        FunnelRollup.objects.order_by("by", "group_id").values_list("by", "group_id", "counts")
    )
    funnel_rollup(months=[MARCH])
    again = list(
        FunnelRollup.objects.order_by("by", "group_id").values_list("by", "group_id", "counts")
    )
    assert first == again
    assert (FunnelBy.LOCATION, 999) not in {(by, group) for by, group, _counts in again}
    assert len(again) == 1 + 2 + 2 + 3  # practice, locations, providers, staff


def test_the_nightly_rollup_keeps_the_last_13_cohorts_and_all_does_every_one(march):
    call_command("rollup_metrics")
    cohorts = set(FunnelRollup.objects.values_list("cohort", flat=True))
    assert min(cohorts) == dt.date(2025, 6, 1) and max(cohorts) == dt.date(2026, 6, 1)
    assert len(cohorts) == 13
    FunnelRollup.objects.all().delete()
    call_command("rollup_metrics", "--all")
    cohorts = set(FunnelRollup.objects.values_list("cohort", flat=True))
    assert min(cohorts) == dt.date(2026, 2, 1) and max(cohorts) == dt.date(2026, 6, 1)
    assert funnel(MARCH)["practice"]["counts"] == counts(7, 6, 5, 4, 4, 3, 1)


def test_maria_reads_the_funnel_by_location_with_the_biggest_drop(
    client, manager, march, monkeypatch
):
    funnel_rollup(months=[dt.date(2026, 2, 1), MARCH, dt.date(2026, 4, 1)])
    monkeypatch.setattr(selectors, "MIN_BASE", 2)
    client.force_login(manager)
    page = client.get(reverse("metrics:funnel"), {"month": "2026-03", "by": "location"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Enrollment funnel - March 2026" in html
    assert "North Clinic" in html and "South Clinic" in html
    assert "First login within 7 days" in html
    assert "86%" in html  # 6 of 7 invited
    assert "Still active at 90 days: 50% of 2 patients" in html
    assert "feature-awareness" in html
    assert 'href="/dashboard/definitions/#enrollment_funnel"' in html
    assert not INLINE_SCRIPT.search(html) and not INLINE_STYLE.search(html)
    # No month asked: the last finished month with a cohort (April; June is not over).
    default = client.get(reverse("metrics:funnel")).content.decode()
    assert "Enrollment funnel - April 2026" in default
    # By staff member: the clerks by name, and the feed's invitations as nobody.
    staff_page = client.get(reverse("metrics:funnel"), {"month": "2026-03", "by": "staff"})
    assert "Carlos Ruiz" in staff_page.content.decode()
    assert "Nobody recorded" in staff_page.content.decode()


def test_before_any_rollup_the_page_says_what_to_do(client, manager, db):
    client.force_login(manager)
    html = client.get(reverse("metrics:funnel")).content.decode()
    assert "No cohorts yet" in html
    assert "rollup_metrics --all" in html


def test_a_bad_breakdown_is_refused_naming_it(client, manager, march):
    client.force_login(manager)
    page = client.get(reverse("metrics:funnel"), {"by": "patient"})
    assert page.status_code == 400
    assert 'id="id_by_error"' in page.content.decode()


def test_the_api_gives_the_cohort_per_staff_member(manager, march):
    funnel_rollup(months=[MARCH])
    api = APIClient()
    api.force_authenticate(manager)
    url = reverse("api_metrics_funnel", kwargs={"month": "2026-03"})
    answer = api.get(url, {"by": "staff"}).json()
    assert answer["month"] == "2026-03" and answer["by"] == "staff"
    assert answer["practice"]["counts"] == counts(7, 6, 5, 4, 4, 3, 1)
    by_key = {row["key"]: row["counts"] for row in answer["groups"]}
    assert by_key[str(march["carlos"].pk)] == counts(3, 2, 1, 0, 0, 0, 0)
    assert by_key["0"]["offered"] == 2
    assert api.get(url).json()["groups"] == []
    refused = api.get(url, {"by": "patient"})
    assert refused.status_code == 400 and list(refused.json()) == ["by"]
    bad_month = api.get(reverse("api_metrics_funnel", kwargs={"month": "2026-13"}))
    assert bad_month.status_code == 400 and list(bad_month.json()) == ["month"]


def test_a_nurse_cannot_open_the_funnel_page_or_api(client, nurse, march):
    client.force_login(nurse)
    assert client.get(reverse("metrics:funnel")).status_code == 403
    api = APIClient()
    api.force_authenticate(nurse)
    url = reverse("api_metrics_funnel", kwargs={"month": "2026-03"})
    assert api.get(url).status_code == 403


def test_maria_finds_the_funnel_from_the_dashboard_and_its_definition(client, manager, db):
    client.force_login(manager)
    funnel_url = reverse("metrics:funnel")
    assert f'href="{funnel_url}"' in client.get(reverse("metrics:dashboard")).content.decode()
    definitions = client.get(reverse("metrics:definitions")).content.decode()
    assert 'id="enrollment_funnel"' in definitions
    assert "day 7 counts, day 8 does not" in definitions


def test_the_monthly_pdf_has_the_cohorts_funnel_page(march):
    funnel_rollup(months=[MARCH])
    text = pdf_text(dashboard_pdf(MARCH))
    assert "Enrollment funnel - March 2026" in text
    assert "North Clinic" in text
