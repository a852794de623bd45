"""People read words and the practice's formats, never stored codes: one set of display
helpers (portal_adoption/display.py), and a walk of the pages that fails on a raw E.164
phone number, a nightly rule key, an access-log code or a bare language code."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from messaging.models import OutreachRule
from patients.models import EventType
from portal_adoption.display import (
    ACCESS_LOG_RESOURCES,
    access_target,
    code_words,
    dollars,
    language_name,
    phone,
    rule_label,
)
from portal_adoption.models import AccessLogEntry, NightlyFailure
from tests.factories import ActivityEventFactory
from tests.portal_adoption.test_role_access import PAGES, url_for

MOBILE = "+16315550175"
E164 = re.compile(r"\+\d{10,14}\b")
TAG = re.compile(r"<[^>]+>")


def test_a_us_number_reads_as_people_write_it():
    assert phone(MOBILE) == "(631) 555-0175"
    assert phone("+442079460958") == "+44 20 7946 0958"
    assert phone("") == "" and phone(None) == ""
    assert phone("ext. 12") == "ext. 12"


def test_codes_become_words():
    assert language_name("es") == "Spanish"
    assert language_name("en") == "English"
    assert language_name("vi") == "Vietnamese"
    assert dollars(Decimal("33.41")) == "$33.41"
    assert dollars(1234.5) == "$1,234.50"
    assert rule_label("app_nudge") == "App link: enrolled two weeks, no app"
    assert rule_label("feature_of_month") == "Feature of the month"
    assert code_words("tech_help_session") == "Tech help session"


def test_an_access_log_entry_says_what_was_read_in_words():
    listed = AccessLogEntry(resource="outreach_preview", object_id="")
    assert access_target(listed, 23) == "Nightly workers: tonight's patients · 23 patients"
    change = AccessLogEntry(resource="staff_role_added:nurse", object_id="5")
    assert access_target(change) == "Role added: Nurse · record 5"
    assert access_target(AccessLogEntry(resource="messaging:detail")) == "Messaging: detail"


def visible_text(html: str) -> str:
    """The page's text and its form values (a value is read too); not its URLs or classes."""
    values = " ".join(re.findall(r'\svalue="([^"]*)"', html))
    return TAG.sub(" ", html) + " " + values


@pytest.fixture
def practice_with_codes(patient, manager, client):
    """A patient whose data holds every kind of code: an E.164 mobile, a language code, a
    payment; an access log with list and staff-change rows; a nightly failure of a rule."""
    patient.mobile_phone = MOBILE
    patient.preferred_language = "es"
    patient.save()
    ActivityEventFactory(
        patient=patient,
        type=EventType.PORTAL_INVITED,
        channel="front_desk",
        occurred_at=timezone.now() - dt.timedelta(days=9),
    )
    ActivityEventFactory(
        patient=patient,
        type=EventType.PAYMENT,
        amount=Decimal("33.41"),
        occurred_at=timezone.now() - dt.timedelta(days=2),
    )
    NightlyFailure.objects.create(
        night=timezone.localdate(),
        job="outreach",
        step="claiming and writing the message",
        rule=OutreachRule.APP_NUDGE,
        patient_id=patient.pk,
        error_class="ValueError",
        message="An unexpected error.",
    )
    client.force_login(manager)
    return patient


def test_the_patient_record_shows_words_and_the_practices_formats(client, practice_with_codes):
    html = client.get(url_for("patients:detail", practice_with_codes)).content.decode()
    assert "(631) 555-0175" in html
    assert "Spanish" in html
    assert "$33.41" in html


def test_no_page_shows_a_raw_phone_number_rule_key_or_code(client, practice_with_codes):
    rule_keys = re.compile(r"\b(" + "|".join(OutreachRule.values) + r")\b")
    log_codes = re.compile(r"\b(" + "|".join(k for k in ACCESS_LOG_RESOURCES if "_" in k) + r")\b")
    language_code = re.compile(r">\s*(en|es)\s*<")
    walked, wrong = 0, []
    for name, page in sorted(PAGES.items()):
        if name.startswith("api") or page.method != "get" or page.ok != 200:
            continue
        response = client.get(url_for(name, practice_with_codes))
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        walked += 1
        html = response.content.decode()
        text = visible_text(html)
        for kind, pattern, where in (
            ("E.164 number", E164, text),
            ("rule key", rule_keys, TAG.sub(" ", html)),
            ("access-log code", log_codes, TAG.sub(" ", html)),
            ("language code", language_code, html),
        ):
            found = pattern.search(where)
            if found:
                wrong.append(f"{name}: {kind} {found.group(0)!r}")
    assert walked > 40
    assert wrong == []
