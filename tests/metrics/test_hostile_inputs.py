"""Hostile values in every parameter of the dashboard pages, chart, exports and API
answer 400 (or the page's own refusal), never 500 (issue 10, finding 10).

The table below names every URL of the metrics app and what it takes; a URL
added to the app without a row here fails the first test.
"""

from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from metrics.target_services import TARGET_FIGURES
from tests.factories import LocationFactory, ProviderFactory

# url name -> (method, query or form parameters, path arguments)
PARAMETERS = {
    "metrics:dashboard": ("get", ["month", "scope"], {}),
    "metrics:chart": ("get", ["month", "scope"], {"figure": "enrollment_rate"}),
    "metrics:export_csv": ("get", ["scope"], {}),
    "metrics:export_pdf": ("get", ["month", "scope"], {}),
    "metrics:definitions": ("get", [], {}),
    "metrics:targets": ("post", list(TARGET_FIGURES), {}),
    "api_metrics_monthly": ("get", ["location", "provider"], {"month": "2026-01"}),
    "metrics:equity": ("get", ["month"], {}),
    "api_metrics_equity": ("get", [], {"month": "2026-01"}),
    "metrics:electronic_access": ("get", ["start", "end"], {}),
    "metrics:electronic_access_csv": ("get", ["start", "end"], {}),
    "api_metrics_electronic_access": ("get", ["start", "end"], {}),
    "metrics:forecast": ("get", ["offer_rate", "acceptance"], {}),
    "api_metrics_forecast": ("get", ["offer_rate", "acceptance"], {}),
    "metrics:funnel": ("get", ["month", "by"], {}),
    "api_metrics_funnel": ("get", ["by"], {"month": "2026-01"}),
}
# Answers that are a refusal, not a failure: a redirect with a message (the PDF
# link and the targets form after saving) is how those pages refuse.
REFUSALS = {"metrics:export_pdf": {200, 302}, "metrics:targets": {302, 400}}

HOSTILE = [
    "\x00",
    "2026-01\x00",
    "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
    "\u0661\u0662",  # Arabic-Indic digits: int() reads them as 12
    "\ufffd",
    "\u202e1",  # right-to-left override
    "-1",
    "0",
    "99999999999999999999999999",
    "9" * 5000,
    "1e999999",
    "NaN",
    "-Infinity",
    "0001-01",
    "9999-12",
    "0000-00",
    "2026-13",
    "location:\u00b2",
    "location:\x00",
    "provider:99999999999999999999",
    "practice\x00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "\t=cmd|' /C calc'!A0",
]
# Already percent-encoded: UTF-8 of a lone surrogate, beyond U+10FFFF, an overlong NUL.
RAW = ["%ED%A0%80", "%F4%90%80%80", "%C0%80", "%FF"]


def values():
    return [quote(value, safe="") for value in HOSTILE] + RAW


def named_patterns(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from named_patterns(pattern, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{prefix}{pattern.name}", pattern


def test_every_url_of_the_metrics_app_is_in_the_table():
    metrics_urls = {
        name
        for name, pattern in named_patterns()
        if pattern.callback.__module__.startswith("metrics.")
    }
    assert metrics_urls == set(PARAMETERS)


@pytest.fixture
def manager_client(client, manager):
    location = LocationFactory(code="NORTH")
    ProviderFactory(code="OKAFOR", location=location)
    client.force_login(manager)
    return client


@pytest.mark.parametrize("name", list(PARAMETERS))
def test_hostile_values_in_every_parameter_are_refused_not_a_server_error(manager_client, name):
    method, parameters, kwargs = PARAMETERS[name]
    url = reverse(name, kwargs=kwargs)
    allowed = REFUSALS.get(name, {200, 400})
    for parameter in parameters:
        for value in values():
            if method == "get":
                response = manager_client.get(f"{url}?{parameter}={value}")
            else:
                response = manager_client.post(
                    url, f"{parameter}={value}", content_type="application/x-www-form-urlencoded"
                )
            assert response.status_code in allowed, (parameter, value, response.status_code)


@pytest.mark.parametrize("value", values())
def test_a_hostile_month_in_the_api_path_is_a_400_naming_the_month(manager_client, value):
    response = manager_client.get(f"/api/v1/metrics/monthly/{value}/")
    assert response.status_code in (400, 404), value
    if response.status_code == 400:
        assert "month" in response.json()


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1899-12", "2200-01"])
def test_a_month_at_the_edge_of_the_calendar_is_a_400_that_gives_the_window(manager_client, month):
    api = manager_client.get(reverse("api_metrics_monthly", kwargs={"month": month}))
    assert api.status_code == 400
    assert api.json()["month"] == ["month must be between 1900-01-01 and 2199-12-31."]
    page = manager_client.get(reverse("metrics:dashboard"), {"month": month})
    assert page.status_code == 400
    assert "month must be between 1900-01-01 and 2199-12-31." in page.content.decode()
    chart = reverse("metrics:chart", kwargs={"figure": "panel"})
    assert manager_client.get(chart, {"month": month}).status_code == 400


@pytest.mark.parametrize("parameter", ["location", "provider"])
@pytest.mark.parametrize("value", ["%00", "%C2%B2", "%ED%A0%80", "1" * 40, "%E2%80%AE1"])
def test_a_bad_location_or_provider_in_the_api_is_a_400_naming_it(manager_client, parameter, value):
    url = reverse("api_metrics_monthly", kwargs={"month": "2026-01"})
    response = manager_client.get(f"{url}?{parameter}={value}")
    assert response.status_code == 400
    assert list(response.json()) == [parameter]


def test_a_location_is_still_found_by_its_id_or_its_code(manager_client):
    location = LocationFactory(code="SOUTH-2", name="South")
    url = reverse("api_metrics_monthly", kwargs={"month": "2026-01"})
    by_id = manager_client.get(url, {"location": str(location.pk)})
    by_code = manager_client.get(url, {"location": "SOUTH-2"})
    assert (
        by_id.json()["scope"]
        == by_code.json()["scope"]
        == {
            "kind": "location",
            "id": location.pk,
            "name": "South",
        }
    )


def test_a_hostile_scope_on_the_dashboard_is_a_400_that_says_what_to_choose(manager_client):
    for value in ["location:\u00b2", "location:99999999999999999999", "provider:-1"]:
        response = manager_client.get(reverse("metrics:dashboard"), {"scope": value})
        assert response.status_code == 400, value
        assert "Choose the whole practice, a location or a provider." in response.content.decode()
