"""Maria's monthly dashboard: the page, the API, targets, opportunities, exports, the email.

The dashboard reads rollups only, so these tests write MonthlyRollup rows
directly: January 2026 is the worked example of metrics.md.
"""

import csv
import datetime as dt
import io
import re
import zlib
from decimal import Decimal

import pytest
from django.core.cache.backends.base import BaseCache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from metrics.exports import (
    ReportNotReady,
    dashboard_csv,
    dashboard_pdf,
    monthly_report_send_once,
)
from metrics.figures import ACTIONS, DEFAULT_TARGETS, FIGURE_KEYS
from metrics.models import MonthlyReportDelivery, MonthlyRollup, Target
from metrics.report_tasks import send_monthly_report
from metrics.selectors import change, dashboard, scope_resolve, shortfall, status, trend
from metrics.target_services import TargetError, TargetErrors, target_set, targets_update
from portal_adoption.roles import Role
from tests.factories import LocationFactory, ProviderFactory, staff
from tests.portal_adoption.test_page_shell import INLINE_SCRIPT, INLINE_STYLE

JANUARY = dt.date(2026, 1, 1)
DECEMBER = dt.date(2025, 12, 1)

# The worked example of metrics.md, with the figures it implies.
JANUARY_FIGURES = {
    "panel": 5000,
    "enrolled": 3400,
    "enrollment_rate": 0.68,
    "new_enrollments": 124,
    "active_users": 1530,
    "active_user_rate": 0.45,
    "multi_feature_users": 612,
    "multi_feature_share": 0.4,
    "app_install_rate": 0.34,
    "messages_received": 892,
    "messages_sent": 876,
    "messages_per_active_user": 1.155,
    "appointments_self_scheduled": 234,
    "self_scheduled_share": 0.29,
    "results_viewed": 456,
    "same_day_view_share": 0.82,
    "viewed_before_contact_share": 0.61,
    "portal_payments": "23450.00",
    "portal_payment_share": 0.18,
    "phone_calls": 2200,
    "phone_calls_change": -12.0,
    "avg_response_hours": 4.2,
    "median_response_hours": 3.1,
    "response_within_target_share": 0.91,
    "responses_by_phone": 41,
    # metrics.md's last table: the values the worked example does not state.
    "after_hours_avg_response_hours": 19.5,
    "after_hours_median_response_hours": 15.2,
    "annual_exam_self_scheduled_share": 0.22,
    "satisfaction": 4.7,
}
DECEMBER_FIGURES = {
    **JANUARY_FIGURES,
    "enrollment_rate": 0.65,
    "active_user_rate": 0.43,
    "new_enrollments": 100,
    "phone_calls": 2500,
    "portal_payments": "20000.00",
    "satisfaction": 4.6,
    "after_hours_avg_response_hours": 21.0,
    "annual_exam_self_scheduled_share": 0.2,
}


def rollup(month, figures, *, kind="practice", scope_id=0, computed_at=None):
    return MonthlyRollup.objects.create(
        month=month,
        scope_kind=kind,
        scope_id=scope_id,
        figures=figures,
        computed_at=computed_at
        or timezone.make_aware(dt.datetime.combine(month.replace(day=28), dt.time(3)))
        + dt.timedelta(days=5),
    )


@pytest.fixture
def worked_example(db):
    rollup(DECEMBER, DECEMBER_FIGURES)
    return rollup(JANUARY, JANUARY_FIGURES)


@pytest.fixture
def north(db):
    return LocationFactory(code="NORTH", name="North Clinic")


@pytest.fixture
def dr_okafor(north):
    return ProviderFactory(code="OKAFOR", name="Dr. Okafor", location=north)


@pytest.fixture
def scoped(worked_example, north, dr_okafor):
    rollup(JANUARY, {"enrollment_rate": 0.5, "panel": 900}, kind="location", scope_id=north.pk)
    rollup(JANUARY, {"enrollment_rate": 0.8, "panel": 300}, kind="provider", scope_id=dr_okafor.pk)
    rollup(DECEMBER, {"enrollment_rate": 0.45}, kind="location", scope_id=north.pk)


def api(client, month="2026-01", **params):
    return client.get(reverse("api_metrics_monthly", kwargs={"month": month}), params)


# --- The JSON API ---------------------------------------------------------------------


def test_the_api_answers_exactly_the_keys_of_architecture_md(client, manager, worked_example):
    client.force_login(manager)
    answer = api(client).json()
    assert list(answer) == ["month", "scope", "figures", "previous", "targets", "opportunities"]
    assert answer["month"] == "2026-01"
    assert answer["scope"] == {"kind": "practice", "id": None, "name": "Whole practice"}
    assert list(answer["figures"]) == FIGURE_KEYS
    assert answer["figures"] == JANUARY_FIGURES
    assert answer["previous"]["enrollment_rate"] == 0.65
    assert list(answer["previous"]) == FIGURE_KEYS
    for item in answer["opportunities"]:
        assert set(item) == {"figure", "label", "value", "target", "shortfall", "action"}


def test_a_missing_figure_or_month_is_null_not_zero(client, manager, db):
    rollup(JANUARY, {"enrollment_rate": 0.7, "panel": 10, "unexpected": 1})
    client.force_login(manager)
    answer = api(client).json()
    assert answer["figures"]["enrollment_rate"] == 0.7
    assert answer["figures"]["satisfaction"] is None
    assert "unexpected" not in answer["figures"]
    assert answer["previous"] == dict.fromkeys(FIGURE_KEYS)
    empty = api(client, "2025-06").json()
    assert empty["figures"] == dict.fromkeys(FIGURE_KEYS)
    assert empty["opportunities"] == []


def test_a_bad_month_is_refused_naming_the_format(client, manager, db):
    client.force_login(manager)
    for bad in ("2026-13", "202601", "January", "2026-1"):
        response = api(client, bad)
        assert response.status_code == 400, bad
        assert "YYYY-MM" in response.json()["month"][0]


def test_scope_filters_by_location_or_provider_by_id_or_code(
    client, manager, scoped, north, dr_okafor
):
    client.force_login(manager)
    by_location = api(client, location=north.pk).json()
    assert by_location["scope"] == {"kind": "location", "id": north.pk, "name": "North Clinic"}
    assert by_location["figures"]["enrollment_rate"] == 0.5
    assert by_location["previous"]["enrollment_rate"] == 0.45
    assert api(client, location="NORTH").json()["figures"]["panel"] == 900
    by_provider = api(client, provider=dr_okafor.pk).json()
    assert by_provider["scope"]["name"] == "Dr. Okafor"
    assert by_provider["figures"]["enrollment_rate"] == 0.8
    assert by_provider["previous"]["enrollment_rate"] is None
    practice = api(client, location="", provider="").json()
    assert practice["figures"]["enrollment_rate"] == 0.68


def test_unknown_or_double_scopes_are_refused_naming_the_parameter(client, manager, scoped, north):
    client.force_login(manager)
    unknown = api(client, location=99999)
    assert unknown.status_code == 400
    assert "location" in unknown.json()
    assert api(client, provider="NOBODY").status_code == 400
    assert "provider" in api(client, provider="NOBODY").json()
    both = api(client, location=north.pk, provider=1)
    assert both.status_code == 400
    assert "not both" in both.json()["provider"][0]


def test_the_schema_documents_the_metrics_api(client, manager):
    client.force_login(manager)
    schema = client.get(reverse("api_schema")).content.decode()
    assert "metrics_monthly" in schema


# --- Change, targets, status, opportunities --------------------------------------------


def test_rates_change_in_points_and_counts_and_money_in_percent():
    assert change("enrollment_rate", 0.68, 0.65) == pytest.approx(3.0)  # "+3 pts"
    assert change("enrollment_rate", 0.65, 0.68) == pytest.approx(-3.0)
    assert change("phone_calls", 2200, 2500) == pytest.approx(-12.0)
    assert change("portal_payments", "23450.00", "20000.00") == pytest.approx(17.25)
    assert change("enrollment_rate", 0.68, None) is None
    assert change("new_enrollments", None, 12) is None
    assert change("new_enrollments", 12, 0) is None  # a percent of nothing is no data
    assert change("avg_response_hours", 4.2, 5.0) == pytest.approx(-0.8)


def test_the_page_shows_changes_like_the_worked_example(client, manager, worked_example):
    client.force_login(manager)
    html = client.get(reverse("metrics:dashboard"), {"month": "2026-01"}).content.decode()
    assert "Portal performance - January 2026" in html
    assert "68%" in html and "+3 pts" in html and "vs December 2025" in html
    assert "+2 pts" in html  # active users 43% -> 45%
    assert "124" in html and "+24%" in html  # new enrollments 100 -> 124
    assert "-12%" in html  # phone calls
    assert "$23,450" in html
    assert "4.2 hours" in html
    assert "4.7 / 5.0" in html
    assert "29% of all appointments" in html
    assert "82% viewed the same day" in html


def test_targets_default_to_metrics_md_and_managers_change_them(db):
    answer = dashboard(JANUARY)
    assert answer["targets"] == {key: float(value) for key, value in DEFAULT_TARGETS.items()}
    assert answer["targets"]["enrollment_rate"] == 0.7
    assert answer["targets"]["avg_response_hours"] == 8.0
    target_set(figure="enrollment_rate", value="0.75")
    assert dashboard(JANUARY)["targets"]["enrollment_rate"] == 0.75


def test_status_is_green_amber_red_whichever_way_is_better():
    assert status("enrollment_rate", 0.70, 0.70) == "good"
    assert status("enrollment_rate", 0.64, 0.70) == "near"  # within 10% of the target
    assert status("enrollment_rate", 0.62, 0.70) == "below"
    assert status("avg_response_hours", 4.2, 8) == "good"
    assert status("avg_response_hours", 8.5, 8) == "near"
    assert status("avg_response_hours", 9, 8) == "below"
    assert status("satisfaction", None, 4.5) is None


# metrics.md, "Worked example": (figure, value, target, shortfall) for January 2026.
PLAYBOOK_SHORTFALLS = [
    ("app_install_rate", 0.34, 0.50, 0.320),
    ("annual_exam_self_scheduled_share", 0.22, 0.30, 0.267),
    ("after_hours_avg_response_hours", 19.5, 16, 0.219),
    ("active_user_rate", 0.45, 0.50, 0.100),
    ("same_day_view_share", 0.82, 0.85, 0.035),
    ("self_scheduled_share", 0.29, 0.30, 0.033),
    ("enrollment_rate", 0.68, 0.70, 0.029),
]


def test_the_playbooks_numbers_give_the_playbooks_shortfalls(worked_example):
    answer = dashboard(JANUARY)
    for figure, value, target, expected in PLAYBOOK_SHORTFALLS:
        assert answer["figures"][figure] == value, figure
        assert answer["targets"][figure] == target, figure  # the defaults of metrics.md
        assert shortfall(figure, value, answer["targets"][figure]) == pytest.approx(
            expected, abs=0.0005
        ), figure
    # Every other figure with a target is at or beyond it.
    below = [
        key
        for key in answer["targets"]
        if shortfall(key, answer["figures"][key], answer["targets"][key])
    ]
    assert sorted(below) == sorted(figure for figure, *_rest in PLAYBOOK_SHORTFALLS)


def test_the_key_opportunities_are_the_playbooks_three_in_its_order(worked_example):
    opportunities = dashboard(JANUARY)["opportunities"]

    # metrics.md: "1. Increase app installs (34% of users today) 2. Promote
    # self-scheduling of annual exams 3. Improve evening/weekend message response".
    assert [o["figure"] for o in opportunities] == [
        "app_install_rate",  # 34% vs 50%: 32.0% short
        "annual_exam_self_scheduled_share",  # 22% vs 30%: 26.7% short
        "after_hours_avg_response_hours",  # 19.5 h vs 16 h: 21.9% over
    ]
    app, annual, evenings = opportunities
    assert (app["value"], app["target"], app["label"]) == (0.34, 0.5, "App install rate")
    assert app["shortfall"] == pytest.approx(0.32)
    assert app["action"].startswith("Help patients install the app during enrollment")
    assert (annual["value"], annual["target"]) == (0.22, 0.3)
    assert annual["label"] == "Annual exams self-scheduled"
    assert annual["action"].startswith("Promote self-scheduling of annual exams")
    assert (evenings["value"], evenings["target"]) == (19.5, 16.0)
    assert evenings["label"] == "Evening/weekend response time"
    assert evenings["shortfall"] == pytest.approx(3.5 / 16, abs=0.0001)
    assert evenings["action"].startswith("Improve evening and weekend message response")


def test_a_slow_response_time_is_an_opportunity_lower_being_better(worked_example):
    target_set(figure="avg_response_hours", value=2)  # 4.2 h is 110% over
    opportunities = dashboard(JANUARY)["opportunities"]
    assert opportunities[0]["figure"] == "avg_response_hours"
    assert opportunities[0]["shortfall"] == pytest.approx(1.1)
    assert "checkpoints" in opportunities[0]["action"]


def test_each_figure_with_a_target_has_its_own_playbook_action():
    actions = {key: str(ACTIONS[key]) for key in DEFAULT_TARGETS}
    assert len(set(actions.values())) == len(actions), "two figures share an action"


def test_figures_at_target_or_without_data_are_no_opportunity(db):
    rollup(JANUARY, {"enrollment_rate": 0.9, "app_install_rate": None, "satisfaction": 4.0})
    opportunities = dashboard(JANUARY)["opportunities"]
    assert [o["figure"] for o in opportunities] == ["satisfaction"]


def test_target_writes_name_the_field_at_fault(db):
    with pytest.raises(TargetError) as unknown:
        target_set(figure="panel_size", value=1)
    assert unknown.value.field == "figure"
    with pytest.raises(TargetError) as over:
        target_set(figure="enrollment_rate", value="1.5")
    assert over.value.field == "enrollment_rate"
    with pytest.raises(TargetError) as negative:
        target_set(figure="avg_response_hours", value=-1)
    assert negative.value.field == "avg_response_hours"
    with pytest.raises(TargetErrors):
        targets_update(values={"enrollment_rate": "0.8", "satisfaction": 6})
    assert not Target.objects.exists()  # all or nothing


def test_managers_edit_targets_on_the_targets_page(client, manager, worked_example):
    client.force_login(manager)
    page = client.get(reverse("metrics:targets"))
    assert page.status_code == 200
    assert 'value="70"' in page.content.decode()  # the default, in percent
    form = {"enrollment_rate": "60", "active_user_rate": "", "app_install_rate": "50"}
    response = client.post(reverse("metrics:targets"), form)
    assert response.status_code == 302
    assert Target.objects.get(figure="enrollment_rate").value == Decimal("0.6")
    assert not Target.objects.filter(figure="app_install_rate").exists()  # still the default
    refused = client.post(reverse("metrics:targets"), {"enrollment_rate": "150"})
    assert refused.status_code == 400
    assert "between 0% and 100%" in refused.content.decode()
    negative = client.post(reverse("metrics:targets"), {"satisfaction": "-1"})
    assert "cannot be negative" in negative.content.decode()
    assert dashboard(JANUARY)["targets"]["enrollment_rate"] == 0.6


# --- The page ----------------------------------------------------------------------------


def test_the_page_has_the_three_sections_opportunities_charts_and_definitions(
    client, manager, worked_example
):
    client.force_login(manager)
    response = client.get(reverse("metrics:dashboard"))
    html = response.content.decode()
    assert response.context["month"] == JANUARY  # the newest month with figures
    for title in ("Adoption", "Engagement", "Impact", "Key opportunities"):
        assert title in html
    assert "help patients install the app during enrollment".lower() in html.lower()
    assert html.count('class="trend-chart"') >= 11
    assert reverse("metrics:chart", kwargs={"figure": "enrollment_rate"}) in html
    assert f"{reverse('metrics:definitions')}#enrollment_rate" in html
    assert "How is this computed?" in html
    assert "status-below" in html and "status-good" in html and "status-near" in html
    assert '<option value="2026-01" selected>' in html
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_STYLE.search(html)
    assert "css/dashboard.css" in html


def test_the_page_filters_by_location_and_provider(client, manager, scoped, north, dr_okafor):
    client.force_login(manager)
    page = client.get(
        reverse("metrics:dashboard"), {"month": "2026-01", "scope": f"location:{north.pk}"}
    )
    assert page.context["data"]["figures"]["enrollment_rate"] == 0.5
    assert "North Clinic" in page.content.decode()
    page = client.get(
        reverse("metrics:dashboard"), {"month": "2026-01", "scope": f"provider:{dr_okafor.pk}"}
    )
    assert page.context["data"]["scope"]["name"] == "Dr. Okafor"
    assert client.get(reverse("metrics:dashboard"), {"scope": "location:99999"}).status_code == 400
    assert client.get(reverse("metrics:dashboard"), {"month": "soon"}).status_code == 400


def test_the_page_answers_from_rollups_in_a_few_queries(
    client, manager, scoped, django_assert_max_num_queries
):
    client.force_login(manager)
    # 18: one loads the manager's verified second-factor device (django-otp), one looks
    # for a current rollout plan (the program's banner; none here), one reads the
    # published feedback changes the satisfaction chart's words name (issue 13).
    with django_assert_max_num_queries(18):
        assert client.get(reverse("metrics:dashboard")).status_code == 200


def test_without_rollups_the_page_says_how_to_get_figures(client, manager, db):
    client.force_login(manager)
    html = client.get(reverse("metrics:dashboard")).content.decode()
    assert "manage.py rollup_metrics" in html
    assert "nightly job" in html
    rollup(DECEMBER, DECEMBER_FIGURES)
    html = client.get(reverse("metrics:dashboard"), {"month": "2026-01"}).content.decode()
    assert "No figures for January 2026 yet" in html
    assert "rollup_metrics --month 2026-01" in html


def test_every_figure_has_its_definition_anchor(client, manager, db):
    client.force_login(manager)
    html = client.get(reverse("metrics:definitions")).content.decode()
    for key in FIGURE_KEYS:
        assert f'id="{key}"' in html, key
    assert "portal_activated" in html
    assert "percentage points" in html


def test_a_chart_is_an_svg_image_with_its_own_relaxed_style_policy(client, manager, worked_example):
    client.force_login(manager)
    url = reverse("metrics:chart", kwargs={"figure": "enrollment_rate"})
    response = client.get(url, {"month": "2026-01", "scope": "practice"})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<?xml")
    assert b"<svg" in response.content
    policy = response["Content-Security-Policy"]
    assert "'unsafe-inline'" in policy.split("style-src")[1].split(";")[0]
    assert "script-src 'self'" in policy
    page_policy = client.get(reverse("metrics:dashboard"))["Content-Security-Policy"]
    assert "unsafe-inline" not in page_policy
    missing = client.get(reverse("metrics:chart", kwargs={"figure": "nonsense"}))
    assert missing.status_code == 404


# --- Redis down (issue 10, finding 15): the cache is a speed-up, never a dependency ------


class BrokenCache(BaseCache):
    """A cache whose server is gone: every operation raises, as Redis's client does."""

    def __init__(self, location, params):
        super().__init__(params)

    def _down(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    get = set = add = delete = get_many = set_many = delete_many = clear = touch = _down
    has_key = incr = decr = _down


CACHES_DOWN = [
    pytest.param(
        {"default": {"BACKEND": "tests.metrics.test_dashboard.BrokenCache"}}, id="raising-backend"
    ),
    pytest.param(
        {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": "redis://127.0.0.1:9/0",  # a closed port
            }
        },
        id="redis-on-a-closed-port",
    ),
]


@pytest.mark.parametrize("caches", CACHES_DOWN)
def test_with_the_cache_down_the_dashboard_and_every_chart_still_answer(
    client, manager, worked_example, settings, caches, caplog
):
    settings.CACHES = caches
    client.force_login(manager)

    page = client.get(reverse("metrics:dashboard"), {"month": "2026-01"})

    assert page.status_code == 200
    charts = re.findall(r'<img[^>]+src="([^"]+\.svg\?[^"]+)"', page.content.decode())
    assert charts, "the dashboard shows its charts"
    for url in charts:
        response = client.get(url.replace("&amp;", "&"))
        assert response.status_code == 200, url
        assert b"<svg" in response.content
    # The charts are stored in the database (metrics.drawings), not in the cache.


@pytest.mark.parametrize("caches", CACHES_DOWN)
def test_with_the_cache_down_the_monthly_email_still_goes_once(
    personas, worked_example, report_not_sent_yet, mailoutbox, settings, caches
):
    settings.CACHES = caches
    personas[Role.MANAGER].email = "maria@example.org"
    personas[Role.MANAGER].save()

    assert monthly_report_send_once(month=JANUARY, today=dt.date(2026, 2, 3)) == 1
    assert monthly_report_send_once(month=JANUARY, today=dt.date(2026, 2, 3)) == 0

    assert [m.to for m in mailoutbox] == [["maria@example.org"]]
    delivery = MonthlyReportDelivery.objects.get(month=JANUARY)
    assert delivery.recipients == 1 and delivery.sent_at is not None


def test_a_failed_send_releases_the_months_claim_for_the_retry(
    manager, worked_example, report_not_sent_yet, mailoutbox, monkeypatch
):
    from metrics import exports

    manager.email = "maria@example.org"
    manager.save()

    def smtp_down(month):
        raise ConnectionRefusedError

    monkeypatch.setattr(exports, "monthly_report_email", smtp_down)
    with pytest.raises(ConnectionRefusedError):
        monthly_report_send_once(month=JANUARY, today=dt.date(2026, 2, 3))
    assert not MonthlyReportDelivery.objects.exists()
    monkeypatch.undo()
    assert monthly_report_send_once(month=JANUARY, today=dt.date(2026, 2, 3)) == 1


def test_trend_covers_twelve_months_with_gaps_as_none(worked_example):
    points = trend("enrollment_rate", month=JANUARY)
    assert len(points) == 12
    assert points[0][0] == dt.date(2025, 2, 1)
    assert points[-1] == (JANUARY, 0.68)
    assert points[-2] == (DECEMBER, 0.65)
    assert points[0][1] is None


# --- Exports ---------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    """The text drawn in a matplotlib PDF: its content streams, inflated, strings joined."""
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for array in re.findall(rb"\[(.*?)\]\s*TJ", content, re.S):
            line = b"".join(_pdf_strings(array))
            text.append(line.decode("utf-16-be", errors="replace"))
    return "\n".join(text)


def _pdf_strings(array: bytes):
    """The literal strings of a TJ array, with PDF escapes undone."""
    escapes = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
    i = 0
    while i < len(array):
        if array[i] != ord("("):
            i += 1
            continue
        i += 1
        out = bytearray()
        while array[i] != ord(")"):
            if array[i] == ord("\\"):
                i += 1
                if chr(array[i]).isdigit():
                    digits = re.match(rb"[0-7]{1,3}", array[i : i + 3]).group()
                    out.append(int(digits, 8))
                    i += len(digits)
                    continue
                out += escapes.get(array[i], bytes([array[i]]))
            else:
                out.append(array[i])
            i += 1
        i += 1
        yield bytes(out)


def test_the_pdf_renders_the_figures_changes_targets_and_opportunities(worked_example):
    data = dashboard_pdf(JANUARY)
    assert data.startswith(b"%PDF")
    assert b"Portal performance - January 2026" in data  # the document's title
    text = pdf_text(data)
    assert "Portal performance - January 2026" in text
    for expected in (
        "Adoption",
        "Engagement",
        "Impact",
        "Enrollment rate: 68%",
        "+3 pts vs December",
        "target 70%",
        "Self-scheduled appointments: 234",
        "Portal payments: $23,450",
        "Phone calls: 2,200",
        "-12%",
        "Average response time: 4.2 hours",
        "Patient satisfaction: 4.7 / 5.0",
        "Key opportunities",
        "App install rate: 34% today, target 50%",
        "All figures",
        "Twelve-month trends",
    ):
        assert expected in text, expected


def test_the_pdf_of_a_location(scoped, north):
    data = dashboard_pdf(JANUARY, scope_resolve(location_id=north.pk))
    assert b"Portal performance - January 2026 - North Clinic" in data
    assert "Enrollment rate: 50%" in pdf_text(data)


def test_the_pdf_download(client, manager, worked_example):
    client.force_login(manager)
    response = client.get(reverse("metrics:export_pdf"), {"month": "2026-01"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "portal-performance-2026-01.pdf" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_one_row_per_month_and_scope(client, manager, scoped, north, dr_okafor):
    rows = read_csv(dashboard_csv())
    assert [(r["month"], r["scope"], r["scope_name"]) for r in rows] == [
        ("2025-12", "practice", "Whole practice"),
        ("2025-12", "location", "North Clinic"),
        ("2026-01", "practice", "Whole practice"),
        ("2026-01", "location", "North Clinic"),
        ("2026-01", "provider", "Dr. Okafor"),
    ]
    january = rows[2]
    assert january["enrollment_rate"] == "0.68"
    assert january["portal_payments"] == "23450.00"
    assert rows[3]["satisfaction"] == ""  # no data
    client.force_login(manager)
    response = client.get(reverse("metrics:export_csv"), {"scope": f"location:{north.pk}"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    only_north = read_csv(response.content.decode())
    assert [(r["month"], r["scope_id"]) for r in only_north] == [
        ("2025-12", str(north.pk)),
        ("2026-01", str(north.pk)),
    ]


def test_a_location_name_cannot_become_a_spreadsheet_formula(db):
    place = LocationFactory(code="EVIL", name='=HYPERLINK("x")')
    rollup(JANUARY, {"panel": 1}, kind="location", scope_id=place.pk)
    assert read_csv(dashboard_csv())[0]["scope_name"].startswith("'=")


# --- The monthly email -------------------------------------------------------------------


@pytest.fixture
def report_not_sent_yet(db):
    assert not MonthlyReportDelivery.objects.filter(month=JANUARY).exists()


def test_the_monthly_email_goes_to_managers_once_with_the_pdf(
    personas, worked_example, report_not_sent_yet, mailoutbox
):
    # mailoutbox after the database fixtures: their set-up starts a fresh outbox.
    personas[Role.MANAGER].email = "maria@example.org"
    personas[Role.MANAGER].save()
    for persona in personas.values():
        if persona.email == "":
            persona.email = f"{persona.username}@example.org"
            persona.save()
    gone = staff("olga", Role.MANAGER, email="olga@example.org")
    gone.is_active = False
    gone.save()
    staff("mo", Role.MANAGER, email="mo@example.org")

    assert send_monthly_report.apply(args=["2026-01"]).get() == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["maria@example.org", "mo@example.org"]
    message = mailoutbox[0]
    assert len(message.to) == 1  # managers do not see each other's addresses
    assert message.subject == "Portal performance - January 2026"
    assert "App install rate" in message.body
    (name, content, mimetype) = message.attachments[0]
    assert name == "portal-performance-2026-01.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")

    # A second delivery of the task (a retry, acks_late after a crash) sends nothing.
    assert send_monthly_report.apply(args=["2026-01"]).get() == 0
    assert len(mailoutbox) == 2


def test_the_email_waits_for_the_months_complete_rollup(manager, report_not_sent_yet, mailoutbox):
    manager.email = "maria@example.org"
    manager.save()
    early = timezone.make_aware(dt.datetime(2026, 1, 20, 3))
    rollup(JANUARY, JANUARY_FIGURES, computed_at=early)
    with pytest.raises(ReportNotReady):
        monthly_report_send_once(month=JANUARY, today=dt.date(2026, 2, 1))
    with pytest.raises(ReportNotReady):
        monthly_report_send_once(month=JANUARY, today=dt.date(2026, 1, 31))
    assert mailoutbox == []
    # The task's last try sends what there is: late figures beat no email.
    assert monthly_report_send_once(month=JANUARY, require_complete=False) == 1
    assert len(mailoutbox) == 1


# --- Who may see it -------------------------------------------------------------------------

MANAGERS = {Role.MANAGER, Role.ADMINISTRATOR}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_only_managers_and_administrators_see_the_dashboard(client, personas, worked_example, role):
    client.force_login(personas[role])
    urls = [
        reverse("metrics:dashboard"),
        reverse("metrics:chart", kwargs={"figure": "enrollment_rate"}) + "?month=2026-01",
        reverse("metrics:export_csv"),
        reverse("metrics:export_pdf") + "?month=2026-01",
        reverse("metrics:definitions"),
        reverse("metrics:targets"),
        reverse("api_metrics_monthly", kwargs={"month": "2026-01"}),
    ]
    for url in urls:
        expected = 200 if role in MANAGERS else 403
        assert client.get(url).status_code == expected, url
    posted = client.post(reverse("metrics:targets"), {"enrollment_rate": "10"})
    assert posted.status_code == (302 if role in MANAGERS else 403)
    if role not in MANAGERS:
        assert not Target.objects.exists()


def test_the_api_refuses_anonymous_callers(worked_example):
    response = APIClient().get(reverse("api_metrics_monthly", kwargs={"month": "2026-01"}))
    assert response.status_code in (401, 403)


# --- Issue 11: the two new figures and "answered by phone", everywhere figures appear ----

NEW_FIGURES = ("annual_exam_self_scheduled_share", "after_hours_avg_response_hours")


def test_maria_sees_the_new_figures_with_targets_charts_and_the_playbooks_opportunities(
    client, manager, worked_example
):
    client.force_login(manager)
    html = client.get(reverse("metrics:dashboard"), {"month": "2026-01"}).content.decode()

    assert "Annual exams self-scheduled" in html and "22%" in html
    assert "Evening/weekend response time" in html and "19.5 hours" in html
    assert "median 15.2 hours" in html
    assert "4.2 hours" in html and "41 answered by phone" in html
    assert "Target 30%" in html and "Target 16.0 hours" in html
    assert "+2 pts" in html  # annual exams 20% in December
    assert "-1.5 h" in html  # evenings and weekends 21 h in December
    for figure in NEW_FIGURES:
        assert reverse("metrics:chart", kwargs={"figure": figure}) in html, figure
        assert f"{reverse('metrics:definitions')}#{figure}" in html, figure
    opportunities = html[html.index("Key opportunities") :]
    assert opportunities.index("App install rate") < opportunities.index(
        "Annual exams self-scheduled"
    )
    assert opportunities.index("Annual exams self-scheduled") < opportunities.index(
        "Evening/weekend response time"
    )
    assert "Promote self-scheduling of annual exams" in opportunities
    assert "Improve evening and weekend message response" in opportunities


def test_the_new_figures_have_twelve_month_charts(client, manager, worked_example):
    client.force_login(manager)
    for figure in NEW_FIGURES:
        url = reverse("metrics:chart", kwargs={"figure": figure})
        response = client.get(url, {"month": "2026-01"})
        assert response.status_code == 200, figure
        assert b"<svg" in response.content
    points = trend("after_hours_avg_response_hours", month=JANUARY)
    assert points[-2:] == [(DECEMBER, 21.0), (JANUARY, 19.5)]


def test_the_api_answers_the_new_keys_and_the_old_ones_keep_their_meaning(
    client, manager, worked_example
):
    client.force_login(manager)
    answer = api(client).json()

    assert answer["figures"]["annual_exam_self_scheduled_share"] == 0.22
    assert answer["figures"]["after_hours_avg_response_hours"] == 19.5
    assert answer["figures"]["after_hours_median_response_hours"] == 15.2
    assert answer["figures"]["responses_by_phone"] == 41
    assert answer["figures"]["avg_response_hours"] == 4.2
    assert answer["targets"]["annual_exam_self_scheduled_share"] == 0.3
    assert answer["targets"]["after_hours_avg_response_hours"] == 16.0
    assert [o["figure"] for o in answer["opportunities"]][1:] == list(NEW_FIGURES)


def test_the_csv_and_the_pdf_carry_the_new_figures(worked_example):
    january = read_csv(dashboard_csv())[-1]
    assert january["annual_exam_self_scheduled_share"] == "0.22"
    assert january["after_hours_avg_response_hours"] == "19.5"
    assert january["after_hours_median_response_hours"] == "15.2"
    assert january["responses_by_phone"] == "41"

    text = pdf_text(dashboard_pdf(JANUARY))
    for expected in (
        "Annual exams self-scheduled: 22%",
        "Evening/weekend response time: 19.5 hours",
        "median 15.2 hours",
        "41 answered by phone",
        "Annual exams self-scheduled: 22% today, target 30%",
        "Evening/weekend response time: 19.5 hours today, target 16.0 hours",
        "Promote self-scheduling of annual exams",
        "Improve evening and weekend message response",
    ):
        assert expected in text, expected


def test_the_monthly_email_lists_the_playbooks_three_opportunities(
    personas, worked_example, report_not_sent_yet, mailoutbox
):
    personas[Role.MANAGER].email = "maria@example.org"
    personas[Role.MANAGER].save()

    assert monthly_report_send_once(month=JANUARY, today=dt.date(2026, 2, 3)) == 1

    body = mailoutbox[0].body
    assert "1. App install rate: 34% today, target 50%." in body
    assert "2. Annual exams self-scheduled: 22% today, target 30%." in body
    assert "3. Evening/weekend response time: 19.5 hours today, target 16.0 hours." in body


def test_the_definitions_page_states_the_one_response_time_and_the_new_figures(client, manager, db):
    client.force_login(manager)
    html = client.get(reverse("metrics:definitions")).content.decode()

    for key in ("responses_by_phone", *NEW_FIGURES, "after_hours_median_response_hours"):
        assert f'id="{key}"' in html, key
    assert "<code>response_by_phone</code>" in html
    assert "first response" in html
    assert "Target: 30%" in html and "Target: 16 hours" in html
    assert "federal holiday" in html
    assert "No data when the feed sends no appointment types" in html


def test_maria_sets_the_new_targets_on_the_targets_page(client, manager, worked_example):
    client.force_login(manager)
    page = client.get(reverse("metrics:targets")).content.decode()
    assert 'name="annual_exam_self_scheduled_share"' in page
    assert 'name="after_hours_avg_response_hours"' in page
    assert "Default: 30%" in page and "Default: 16 hours" in page

    response = client.post(
        reverse("metrics:targets"),
        {"annual_exam_self_scheduled_share": "25", "after_hours_avg_response_hours": "20"},
    )

    assert response.status_code == 302
    targets = dashboard(JANUARY)["targets"]
    assert targets["annual_exam_self_scheduled_share"] == 0.25
    assert targets["after_hours_avg_response_hours"] == 20.0
    # 19.5 h is now within target: the third opportunity is active users.
    assert [o["figure"] for o in dashboard(JANUARY)["opportunities"]] == [
        "app_install_rate",
        "annual_exam_self_scheduled_share",
        "active_user_rate",
    ]
    refused = client.post(reverse("metrics:targets"), {"after_hours_avg_response_hours": "0"})
    assert refused.status_code == 400
    assert "more than 0 hours" in refused.content.decode()
