"""The page shell: one layout, the user's role in view, safe under a strict CSP."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from portal_adoption.navigation import nav_for

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_the_project_has_templates_to_check():
    assert len(TEMPLATES) >= 8


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_script_or_style(template):
    text = template.read_text()
    assert not INLINE_SCRIPT.search(text)
    assert not INLINE_STYLE.search(text)
    assert not EVENT_HANDLER.search(text)


def test_pages_are_served_with_a_strict_content_security_policy(client, manager):
    client.force_login(manager)
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_rendered_pages_have_no_inline_script_or_style(client, manager, patient):
    client.force_login(manager)
    for url in (
        reverse("home"),
        reverse("patients:list"),
        reverse("patients:detail", kwargs={"pk": patient.pk}),
        reverse("access_log"),
        reverse("api_docs"),
    ):
        html = client.get(url).content.decode()
        assert not INLINE_SCRIPT.search(html), url
        assert not INLINE_STYLE.search(html), url


def test_every_page_shows_who_is_signed_in_their_role_and_a_way_out(client, nurse):
    client.force_login(nurse)
    html = client.get(reverse("patients:list")).content.decode()
    assert "Nora" in html
    assert "Nurse" in html
    assert 'action="/logout/"' in html
    assert 'aria-current="page"' in html


def test_assets_come_from_the_application_never_a_cdn(client, nurse):
    client.force_login(nurse)
    html = client.get(reverse("home")).content.decode()
    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "/static/django_htmx/htmx.min.js" in html
    assert "//cdn" not in html and "https://" not in html


def test_an_empty_roster_says_what_to_do(client, front_desk_clerk):
    client.force_login(front_desk_clerk)
    html = client.get(reverse("patients:list")).content.decode()
    assert "The roster is empty" in html


def test_a_search_with_no_match_says_how_to_search_better(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    html = client.post(reverse("patients:list"), {"q": "Zzyzx"}).content.decode()
    assert "No patient matches" in html


def test_a_birth_date_search_finds_the_patient(client, front_desk_clerk, patient):
    client.force_login(front_desk_clerk)
    for typed in ("1970-05-17", "5/17/1970"):
        response = client.post(reverse("patients:list"), {"q": typed})
        assert list(response.context["patients"]) == [patient]


def test_the_patient_page_shows_the_portal_activity(client, nurse, patient):
    from tests.factories import ActivityEventFactory

    ActivityEventFactory(patient=patient)
    client.force_login(nurse)
    html = client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    assert "Login: 1" in html
    assert patient.external_id in html


@pytest.mark.parametrize(
    "url_name, area",
    [
        ("messaging:report_response_times", "Reports"),
        ("messaging:report_bill_pay", "Reports"),
        ("enrollment:report_declines", "Reports"),
        ("messaging:queues", "Queues"),
        ("patients:imports", "Imports"),
        ("patients:list", "Patients"),
        ("home", "Home"),
    ],
)
def test_the_bar_marks_the_area_a_manager_is_in(manager, url_name, area):
    entries = nav_for(manager, reverse(url_name))
    assert [str(e["label"]) for e in entries if e["active"]] == [area]
