"""Browser tests: Playwright's sync API driving Debian's Chromium against a live server.

Playwright's own browser download does not work here, so the suite drives the
distribution's `/usr/bin/chromium` (`.ci/run` installs it with apt). Without
it, or without the playwright package, every test here is skipped with the
reason, and the run's header says so (tests/conftest.py, pytest_report_header).

People sign in through the real sign-in page; managers and administrators
type the code their authenticator shows, as they do at the desk.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser.chromium import CHROMIUM, browser_skip_reason, playwright_missing

DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 1024, "height": 768}
PASSWORD = "correct horse battery staple"

# Every CSP violation becomes a record the test reads after each page.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(
    event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
    " at " + (event.sourceFile || "") + ":" + event.lineNumber
  );
});
"""


# The test modules import Playwright: without it they are not collected at all (the
# run's header says why), rather than each failing to import.
collect_ignore_glob = ["test_*.py"] if playwright_missing() else []


def pytest_collection_modifyitems(config, items):
    reason = browser_skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module; each test opens its own context (cookies).

    Not one per session: the async-unsafe switch below must end with the browser
    tests, or the deploy check of a later test finds it set (async.E001).
    """
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's guard
    # would then refuse the ORM calls the tests make to set up and to check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Watched:
    """What the browser complained about on the pages a tab opened."""

    console_errors: list = field(default_factory=list)

    def csp_violations(self, page) -> list:
        return page.evaluate("window.__cspViolations || []")


def open_tab(browser, viewport=DESKTOP, *, with_axe=False, **options):
    """A fresh context (no cookies) and its tab, watched for console errors and CSP violations.

    with_axe: axe-core is in every page the tab opens (`axe.run(...)`), as an init
    script, which the page's CSP does not apply to.
    """
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(10_000)
    context.add_init_script(WATCH_CSP)
    if with_axe:
        import axe_playwright_python

        context.add_init_script(path=Path(axe_playwright_python.__file__).parent / "axe.min.js")
    page = context.new_page()
    watched = Watched()

    def on_console(message):
        if message.type == "error":
            source = message.location.get("url") or page.url
            watched.console_errors.append(f"{message.text} ({source})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.console_errors.append(f"{error} ({page.url})"))
    return context, page, watched


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = {"serious", "critical"}


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations, one line each.

    The page must come from a tab opened with_axe=True.
    """
    violations = page.evaluate(
        "options => axe.run(document, options).then(results => results.violations)",
        {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        + " ("
        + " ".join(violation["nodes"][0].get("failureSummary", "").split())[:300]
        + ")"
        for violation in violations
        if violation["impact"] in SERIOUS
    ]


def authenticator_code(user) -> str:
    """What the person's authenticator app shows now (a confirmed TOTP device)."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def give_authenticator(user):
    """A manager or an administrator has set up two-step sign-in already."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from portal_adoption.two_factor import second_factor_required

    if second_factor_required(user):
        TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "Phone"})


def sign_in(page, base_url: str, user) -> None:
    """The sign-in page, then the authenticator code when the role needs one."""
    from django.urls import reverse

    page.goto(base_url + reverse("login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    if reverse("two_factor_verify") in page.url:
        page.get_by_label("Code").fill(authenticator_code(user))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state("load")
    assert reverse("login") not in page.url, f"{user.username} could not sign in"


@pytest.fixture(scope="session", autouse=True)
def _one_request_at_a_time_on_in_memory_sqlite():
    """On SQLite the live server's threads share the test's one in-memory connection,
    and two requests at once (a page and its chart images) garble each other's
    queries: there the server answers one request at a time. PostgreSQL's
    threads have connections of their own.
    """
    from django.core.servers.basehttp import WSGIServer
    from django.db import connection
    from django.test.testcases import LiveServerThread

    if connection.vendor != "sqlite":
        yield
        return

    class OneAtATime(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)

    threaded = LiveServerThread.server_class
    LiveServerThread.server_class = OneAtATime
    yield
    LiveServerThread.server_class = threaded


@pytest.fixture
def live_practice(live_server, django_db_serialized_rollback):
    """The small practice of tests/browser/practice.py on a live server: (practice, base URL).

    A live server reads committed rows, so the test is transactional and the
    database is emptied after it. Serialized rollback puts back what the
    migrations wrote (playbook scripts, routing rules, business hours, training
    modules) first, so every test starts from a freshly installed practice,
    whichever transactional test ran before it.
    """
    from tests.browser.practice import seed_practice

    return seed_practice(), live_server.url


@pytest.fixture
def tab(browser):
    """A desktop tab for a story; CSP violations and console errors fail the story."""
    context, page, watched = open_tab(browser)
    yield page, watched
    context.close()


__all__ = ["DESKTOP", "TABLET", "open_tab", "serious_accessibility_violations", "sign_in"]
