"""Whether the browser tests can run here: Debian's Chromium and the playwright package."""

import importlib.util
import os

CHROMIUM = "/usr/bin/chromium"


PACKAGES = ("playwright", "axe_playwright_python")


def playwright_missing() -> str | None:
    return next((name for name in PACKAGES if importlib.util.find_spec(name) is None), None)


def browser_skip_reason() -> str | None:
    """None when the suite can run; otherwise what to install, said once in the run's header."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)"
    missing = playwright_missing()
    if missing:
        return (
            f"browser tests skipped: the {missing} package is missing "
            "(pip install -r requirements-dev.txt)"
        )
    return None


def report_header() -> str:
    reason = browser_skip_reason()
    return reason or f"browser tests: Chromium at {CHROMIUM} (tests/browser)"
