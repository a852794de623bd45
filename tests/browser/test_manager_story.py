"""Maria on the dashboard, in a real browser: another month, one location, the two exports."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from metrics.selectors import month_label
from portal_adoption.roles import Role
from tests.browser.conftest import sign_in

# Transactional, like every live-server test: pytest-django then runs these after the
# tests that roll back (an emptied database must not be what those find).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_maria_changes_the_month_and_the_scope_and_downloads_the_csv_and_the_pdf(
    live_practice, tab
):
    practice, base_url = live_practice
    page, watched = tab
    sign_in(page, base_url, practice.people[Role.MANAGER])
    page.goto(base_url + reverse("metrics:dashboard"))
    newest = month_label(practice.this_month)
    expect(page.get_by_role("heading", level=1)).to_contain_text(newest)

    page.get_by_label("Month", exact=True).select_option(label=month_label(practice.last_month))
    page.get_by_label("Show", exact=True).select_option(label=practice.location.name)
    page.get_by_role("button", name="Show", exact=True).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(month_label(practice.last_month))
    expect(page.locator(".page-header")).to_contain_text(practice.location.name)
    expect(page.locator(".figure-card").first).to_be_visible()

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Figures as CSV").click()
    csv_text = csv_download.value.path().read_text(encoding="utf-8")
    assert csv_download.value.suggested_filename.endswith(".csv")
    assert len(csv_text.splitlines()) >= 2, "the CSV has a header and at least one month"

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = pdf_download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 1000

    assert watched.console_errors == []
    assert watched.csp_violations(page) == []
