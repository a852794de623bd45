"""JSON nested absurdly deep is bad input (400), wherever JSON comes in: one parser for all."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.parsers import JSONParser as DrfJSONParser
from rest_framework.test import APIClient
from rest_framework.views import APIView

from patients.models import ImportRun
from portal_adoption.json_input import MAX_JSON_DEPTH, JsonInvalid, JSONParser, json_loads

DEEP = 100_000


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [DEEP, MAX_JSON_DEPTH + 1])
def test_json_nested_too_deep_is_invalid_with_the_limit_named(depth):
    with pytest.raises(JsonInvalid, match=f"more than {MAX_JSON_DEPTH} levels"):
        json_loads(nested(depth))


def test_json_nested_to_the_limit_is_read():
    assert json_loads(nested(MAX_JSON_DEPTH)) is not None


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_not_a_number_is_not_json(text):
    with pytest.raises(JsonInvalid):
        json_loads(text)


@pytest.fixture
def api(manager):
    client = APIClient()
    client.force_authenticate(manager)
    return client


@pytest.mark.parametrize("depth", [DEEP, MAX_JSON_DEPTH + 1])
@pytest.mark.parametrize(
    ("url_name", "content_type", "body"),
    [
        ("api_patients_bulk", "application/json", '{"records": %s}'),
        ("api_events_bulk", "application/json", '{"records": [%s]}'),
        ("api_fhir_bundle", "application/fhir+json", '{"resourceType": "Bundle", "entry": %s}'),
        ("api_fhir_bundle", "application/json", '{"resourceType": "Bundle", "entry": %s}'),
    ],
)
def test_deep_json_posted_to_the_feed_answers_400_and_writes_nothing(
    api, url_name, content_type, body, depth
):
    response = api.post(reverse(url_name), body % nested(depth), content_type=content_type)
    assert response.status_code == 400
    assert f"more than {MAX_JSON_DEPTH} levels" in response.json()["detail"]
    assert not ImportRun.objects.exists()


def _api_views(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is not None and issubclass(view_class, APIView):
                yield prefix + str(pattern.pattern), view_class


def test_every_api_view_reads_json_with_the_one_parser():
    views = list(_api_views())
    assert len(views) >= 10
    for route, view_class in views:
        for parser in view_class().get_parsers():
            if isinstance(parser, DrfJSONParser) or "json" in parser.media_type:
                assert isinstance(parser, JSONParser), (route, type(parser))


def test_the_feed_documentation_states_the_depth_limit():
    from patients.api import FEED_RULES_DOC

    assert f"{MAX_JSON_DEPTH} levels" in str(FEED_RULES_DOC)
