"""Fatima at the front desk, in a real browser: check-in search, the nine steps, the QR code."""

import re

import pytest
from django.core import signing
from django.urls import reverse
from playwright.sync_api import expect

from enrollment.models import Enrollment, QrInvitation
from enrollment.services import QR_SALT
from portal_adoption.roles import Role
from tests.browser.conftest import open_tab, serious_accessibility_violations, sign_in

# Transactional, like every live-server test: pytest-django then runs these after the
# tests that roll back (an emptied database must not be what those find).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = {"width": 390, "height": 844}


def find_rosa_and_start(page, base_url):
    page.goto(base_url + reverse("enrollment:checkin"))
    page.get_by_label("Find the patient").fill("Delgado")
    page.get_by_role("link", name=re.compile(r"Delgado, Rosa")).click()
    expect(page.get_by_role("heading", name="Rosa Delgado")).to_be_visible()
    page.get_by_role("button", name="Start enrollment").click()
    expect(page.get_by_role("heading", name="Enrolling Rosa Delgado")).to_be_visible()


def step(page, name):
    return page.locator(f"#step-{name}")


def answer(page, name, button):
    """Press a step's button; htmx swaps the checklist, and the step shows it is done."""
    step(page, name).get_by_role("button", name=button).click()
    expect(step(page, name)).to_have_class(re.compile(r"\bis-done\b"))


def no_complaints(page, watched):
    assert watched.console_errors == []
    assert watched.csp_violations(page) == []


def test_fatima_finds_rosa_at_check_in_and_enrolls_her_through_all_nine_steps(live_practice, tab):
    practice, base_url = live_practice
    page, watched = tab
    sign_in(page, base_url, practice.people[Role.FRONT_DESK])
    find_rosa_and_start(page, base_url)

    # 1. Contact details, with the channel the patient wants.
    contact = step(page, "collect_contact")
    contact.get_by_role("textbox", name="Email").fill("rosa.delgado@example.org")
    contact.get_by_role("textbox", name="Mobile number").fill("(202) 555-0143")
    contact.get_by_role("radio", name="Email").check()
    contact.get_by_role("button", name="Save and tick").click()
    expect(contact).to_have_class(re.compile(r"\bis-done\b"))
    # 2, 3: the invitation sent and the first login, while Rosa stands there.
    answer(page, "send_invitation", "Done")
    answer(page, "first_login", "Done")
    # 4: one key feature.
    answer(page, "show_feature", "Showed messaging")
    # 5, 6, 7.
    for name in ("install_app", "confirm_access", "reference_card"):
        answer(page, name, "Done")
    # 8: the note for the EHR appears once 1 to 7 are answered.
    expect(page.locator("#ehr-note")).to_have_value(re.compile(r"\S"))
    answer(page, "record_in_ehr", "Pasted in the EHR")
    no_complaints(page, watched)

    page.get_by_role("button", name="Complete enrollment").click()
    expect(page.get_by_role("heading", name="Rosa Delgado is enrolled")).to_be_visible()
    # 9: the follow-up is set on completion, and the clerk sees it.
    expect(page.get_by_role("heading", name="Follow-up set")).to_be_visible()
    no_complaints(page, watched)

    enrollment = Enrollment.objects.get(patient=practice.rosa)
    assert enrollment.completed_at is not None
    assert enrollment.follow_up_due_on is not None


def test_rosa_finishes_on_her_own_phone_from_the_qr_code_fatima_shows(browser, live_practice, tab):
    practice, base_url = live_practice
    page, watched = tab
    sign_in(page, base_url, practice.people[Role.FRONT_DESK])
    find_rosa_and_start(page, base_url)

    step(page, "send_invitation").get_by_role("button", name="Show a QR code").click()
    panel = page.get_by_role("region", name="Self-enrollment by QR code")
    expect(panel.locator("svg")).to_be_visible()
    expect(panel.get_by_role("status")).to_contain_text("Waiting for the patient")

    # Rosa's phone: what the code holds is the signed invitation, nothing else.
    invitation = QrInvitation.objects.get(enrollment__patient=practice.rosa)
    token = signing.dumps(str(invitation.pk), salt=QR_SALT)
    phone_context, phone, phone_watched = open_tab(
        browser, viewport=PHONE, is_mobile=True, with_axe=True
    )
    try:
        phone.goto(base_url + reverse("qr_patient:start", args=[token]))
        assert serious_accessibility_violations(phone) == []
        phone.locator("#email").fill("rosa.delgado@example.org")
        phone.locator("input[name=notification_channel][value=email]").check()
        phone.locator("#consent").check()
        phone.locator("form button[type=submit]").click()
        phone.wait_for_load_state("load")
        assert phone_watched.console_errors == []
        assert phone_watched.csp_violations(phone) == []
        width = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], "the patient's page is wider than the phone"
        assert serious_accessibility_violations(phone) == []
    finally:
        phone_context.close()

    # The desk's screen notices within one poll and reloads with steps 1 and 2 ticked.
    expect(step(page, "collect_contact")).to_have_class(re.compile(r"\bis-done\b"), timeout=10_000)
    expect(step(page, "send_invitation")).to_have_class(re.compile(r"\bis-done\b"))
    no_complaints(page, watched)
