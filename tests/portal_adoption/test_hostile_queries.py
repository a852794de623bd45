"""Hostile values in every query parameter of every page answer 4xx or a page, never a 500.

Nobody has to list a page's parameters here: a first, ordinary request
records every key the page reads from the query string (forms bound to
request.GET read through the same QueryDict), and the second round sends a
hostile value for each of them, plus the common names below. A new page, or
a new parameter on an old one, is covered the day it is added.
"""

import pytest
from django.http import QueryDict
from django.urls import reverse

from portal_adoption.roles import Role
from tests.portal_adoption.test_role_access import PAGES, url_for

HOSTILE_VALUES = [
    "a%00b",  # a NUL byte
    "%ED%A0%80",  # a lone surrogate, UTF-8 encoded (arrives as U+FFFD)
    "%C2%B2",  # "²": a digit to str.isdigit(), not to int()
    "0001-01",
    "0001-01-01",
    "9999-12-31",
    "99999999999999999999999999",
    "x" * 3000,
]
# Parameters common enough to try on every page, read or not.
COMMON_KEYS = ["page", "month"]


ASKED: set = set()


class RecordingQueryDict(QueryDict):
    """A QueryDict that remembers every key a view asked it for."""

    asked = ASKED  # shared by copies too: forms copy the QueryDict they are bound to

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self.asked.add(key)
        return super().getlist(key, default)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


class RecordQueryKeysMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.GET = RecordingQueryDict(request.META.get("QUERY_STRING", ""))
        return self.get_response(request)


GET_PAGES = sorted(name for name, page in PAGES.items() if page.method == "get")


def reader_of(name) -> Role:
    """Someone allowed to open the page; the manager where possible (sees the most)."""
    allowed = PAGES[name].allowed
    for role in (Role.MANAGER, Role.ADMINISTRATOR, Role.NURSE, Role.FRONT_DESK, Role.PROVIDER):
        if role in allowed:
            return role
    return next(iter(allowed), None)


@pytest.fixture
def recording(settings):
    """Pages served with the recorder in front (set before the client's first request)."""
    settings.MIDDLEWARE = [f"{__name__}.RecordQueryKeysMiddleware", *settings.MIDDLEWARE]


def keys_read_by(client, url) -> set:
    ASKED.clear()
    client.get(url)
    return set(ASKED)


@pytest.mark.parametrize("name", GET_PAGES)
def test_hostile_query_values_never_make_a_page_fail(client, personas, patient, recording, name):
    role = reader_of(name)
    if role is None:
        pytest.skip("only integrations call it: covered by the API fuzz step of CI")
    client.force_login(personas[role])
    url = url_for(name, patient)
    keys = keys_read_by(client, url) | set(COMMON_KEYS)
    failures = []
    for key in sorted(keys):
        for value in HOSTILE_VALUES:
            response = client.get(url, QUERY_STRING=f"{key}={value}")
            if response.status_code >= 500:
                failures.append(f"{key}={value[:40]} -> {response.status_code}")
    assert not failures, f"{url} as {role.value}: " + "; ".join(failures)


def test_the_recorder_sees_the_parameters_a_page_reads(client, manager, recording):
    """The guard above is only as good as this: a page's form fields are found."""
    client.force_login(manager)
    keys = keys_read_by(client, reverse("access_log"))
    assert {"date_from", "date_to", "user", "patient"} <= keys


def test_hostile_query_values_never_make_the_sign_in_page_fail(client, recording):
    url = reverse("login")
    keys = keys_read_by(client, url) | {"next"}
    for key in sorted(keys):
        for value in HOSTILE_VALUES:
            assert client.get(url, QUERY_STRING=f"{key}={value}").status_code < 500, (key, value)
