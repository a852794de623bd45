"""Idle sign-out: background polls never count as activity, clicks do.

Nora leaves the nursing queue open on a shared screen; the urgent banner
polls every 30 s. With SESSION_IDLE_MINUTES=1 her session must end a minute
after her last click, however many polls came since.
"""

import re
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER": "urgent-alert"}
# A tag that polls: an hx-trigger with "every", and the URL it polls in the same tag.
POLLING_TAG = re.compile(r"<[^>]*hx-trigger=\"[^\"]*\bevery\b[^>]*>", re.DOTALL)
POLLED_URL_NAME = re.compile(r"hx-get=\"\{% url '([^']+)'")


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def is_signed_in(client) -> bool:
    return SESSION_KEY in client.session


@override_settings(SESSION_IDLE_MINUTES=1)
def test_a_session_that_only_polls_ends_after_the_idle_minutes(client, nurse, clock):
    client.force_login(nurse)
    assert client.get(reverse("messaging:queues")).status_code in (200, 302)
    for _poll in range(3):
        clock.shift(25)
        response = client.get(reverse("messaging:urgent_alert"), **POLL)
    # 75 s of polls, no click: the last poll finds the session over.
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("login")
    assert not is_signed_in(client)
    page = client.get(reverse("home"))
    assert page.status_code == 302
    assert page.url.startswith(reverse("login"))


def test_a_poll_after_signing_out_elsewhere_moves_the_whole_page_to_sign_in(client, nurse):
    client.force_login(nurse)
    client.get(reverse("home"))
    other_tab = client.session
    other_tab.flush()
    response = client.get(reverse("messaging:urgent_alert"), **POLL)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("login"))
    assert b"<form" not in response.content


@override_settings(SESSION_IDLE_MINUTES=1)
def test_a_session_with_clicks_between_the_polls_stays_signed_in(client, nurse, clock):
    client.force_login(nurse)
    for _minute in range(4):
        clock.shift(25)
        client.get(reverse("messaging:urgent_alert"), **POLL)
        clock.shift(25)
        assert client.get(reverse("home")).status_code == 200
    assert is_signed_in(client)


@override_settings(SESSION_IDLE_MINUTES=1)
def test_a_poll_does_not_extend_the_stored_session(client, nurse, clock):
    from django.contrib.sessions.models import Session

    client.force_login(nurse)
    client.get(reverse("home"))
    key = client.session.session_key
    expiry = Session.objects.get(pk=key).expire_date
    clock.shift(20)
    client.get(reverse("messaging:urgent_alert"), **POLL)
    assert Session.objects.get(pk=key).expire_date == expiry


@override_settings(SESSION_IDLE_MINUTES=1)
def test_the_sign_in_form_says_why_the_session_ended(client, nurse, clock):
    client.force_login(nurse)
    client.get(reverse("home"))
    clock.shift(61)
    page = client.get(reverse("home"), follow=True)
    assert page.templates[0].name == "registration/login.html"
    assert "signed out after 1 minute without activity" in page.content.decode()


@override_settings(SESSION_IDLE_MINUTES=1)
def test_an_idle_administrator_is_signed_out_of_the_admin_site_too(client, administrator, clock):
    client.force_login(administrator)
    client.get(reverse("home"))
    clock.shift(90)
    assert client.get(reverse("admin:index")).status_code == 302
    assert not is_signed_in(client)


def _callbacks_by_name(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _callbacks_by_name(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry.callback


def polled_url_names() -> set[str]:
    names = set()
    for template in (ROOT / "templates").rglob("*.html"):
        for tag in POLLING_TAG.findall(template.read_text()):
            found = POLLED_URL_NAME.search(tag)
            assert found, f"{template}: a polling tag whose URL this test cannot read: {tag}"
            names.add(found.group(1))
    return names


def test_the_project_has_polls_to_check():
    assert {"messaging:urgent_alert", "enrollment:qr_status"} <= polled_url_names()


@pytest.mark.parametrize("name", sorted(polled_url_names()))
def test_every_polled_view_is_marked_as_a_background_poll(name):
    callbacks = dict(_callbacks_by_name())
    assert getattr(callbacks[name], "background_poll", False), (
        f"{name} is polled by a template: mark its view with "
        "portal_adoption.middleware.background_poll"
    )
