"""Nora in the nursing queue, in a browser: take next, reply from a template, close with a note."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from messaging.models import ChartNote, Message, MessageStatus, Reply
from portal_adoption.roles import Role
from tests.browser.conftest import sign_in
from tests.browser.practice import CLINICAL_BODY, CLINICAL_SUBJECT, TEMPLATE_NAME

# Transactional, like every live-server test: pytest-django then runs these after the
# tests that roll back (an emptied database must not be what those find).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_nora_takes_the_next_message_replies_from_a_template_and_closes_it_with_a_chart_note(
    live_practice, tab
):
    practice, base_url = live_practice
    page, watched = tab
    sign_in(page, base_url, practice.people[Role.NURSE])
    page.goto(base_url + reverse("messaging:queue", kwargs={"queue": "nursing"}))
    page.get_by_role("button", name="Take next").click()

    # The oldest clinical message, now hers.
    expect(page.get_by_role("heading", name=CLINICAL_SUBJECT)).to_be_visible()
    expect(page.locator(".message-body")).to_have_text(CLINICAL_BODY)

    page.get_by_role("link", name=TEMPLATE_NAME).click()
    reply = page.get_by_label("Reply to the patient")
    expect(reply).to_have_value(re.compile(r"^Hello Rosa, some swelling is normal"))
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".reply-card")).to_contain_text("Hello Rosa, some swelling is normal")

    # A clinical answer needs a chart note: the draft, how it ended, then close.
    note = page.get_by_label("Chart note")
    expect(note).to_have_value(re.compile(r"\S"))
    page.get_by_label("patient said they understood").check()
    page.get_by_role("button", name="Save the note and close").click()
    page.wait_for_load_state("load")

    assert watched.console_errors == []
    assert watched.csp_violations(page) == []
    message = Message.objects.get(pk=practice.clinical_message.pk)
    assert message.status == MessageStatus.CLOSED
    assert Reply.objects.get(message=message, automatic=False).template.name == TEMPLATE_NAME
    assert "understood" in ChartNote.objects.get(message=message).text
