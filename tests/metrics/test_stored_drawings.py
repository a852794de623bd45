"""Maria downloads the monthly PDF and opens the dashboard's charts: drawn once, then served.

matplotlib draws each PDF and chart once per rollup version (metrics.drawings);
later downloads are served from the StoredDrawing table, a re-rollup of the
month draws them again, and managers asking at once wait for one drawing.
"""

import datetime as dt
import re
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from metrics import drawings, exports
from metrics.models import DrawingKind, StoredDrawing
from metrics.selectors import scope_resolve
from metrics.services import rollup_month
from metrics.target_services import target_set
from tests.conftest import requires_postgres
from tests.factories import LocationFactory
from tests.metrics.test_dashboard import (
    DECEMBER,
    DECEMBER_FIGURES,
    JANUARY,
    JANUARY_FIGURES,
    pdf_text,
    rollup,
)


@pytest.fixture
def january(db):
    rollup(DECEMBER, DECEMBER_FIGURES)
    return rollup(JANUARY, JANUARY_FIGURES)


@pytest.fixture
def pdf_drawings(monkeypatch):
    """Every PDF matplotlib draws, by month."""
    drawn = []
    real = exports.dashboard_pdf

    def spy(month, scope=None):
        drawn.append(month)
        return real(month, scope)

    monkeypatch.setattr(exports, "dashboard_pdf", spy)
    return drawn


@pytest.fixture
def chart_drawings(monkeypatch):
    """Every chart matplotlib draws, by figure."""
    drawn = []
    real = drawings.chart_draw

    def spy(*, figure, month, scope):
        drawn.append(figure)
        return real(figure=figure, month=month, scope=scope)

    monkeypatch.setattr(drawings, "chart_draw", spy)
    return drawn


def download(client, month="2026-01", **params):
    response = client.get(reverse("metrics:export_pdf"), {"month": month, **params})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return response.content


def test_the_second_pdf_download_is_served_without_drawing_again(
    client, manager, january, pdf_drawings
):
    client.force_login(manager)

    first = download(client)
    second = download(client)

    assert pdf_drawings == [JANUARY]
    assert second == first
    assert "Enrollment rate: 68%" in pdf_text(second)
    stored = StoredDrawing.objects.get(kind=DrawingKind.PDF)
    assert (stored.month, stored.scope_kind, stored.language) == (JANUARY, "practice", "en")


def test_each_scope_has_its_own_stored_pdf(client, manager, january, pdf_drawings):
    location = LocationFactory(code="NORTH", name="North Clinic")
    rollup(JANUARY, {"enrollment_rate": 0.5}, kind="location", scope_id=location.pk)
    client.force_login(manager)

    practice = download(client)
    clinic = download(client, scope=f"location:{location.pk}")
    download(client, scope=f"location:{location.pk}")

    assert pdf_drawings == [JANUARY, JANUARY]
    assert "Enrollment rate: 50%" in pdf_text(clinic)
    assert "Enrollment rate: 68%" in pdf_text(practice)


def test_a_re_rollup_of_the_month_replaces_the_stored_pdf(client, manager, january, pdf_drawings):
    client.force_login(manager)
    before = download(client)
    assert "Enrollment rate: 68%" in pdf_text(before)

    rollup_month(JANUARY)  # no events: the month's figures are recomputed, now without data
    after = download(client)
    again = download(client)

    assert pdf_drawings == [JANUARY, JANUARY]
    assert after == again != before
    assert "Enrollment rate: 68%" not in pdf_text(after)
    assert StoredDrawing.objects.filter(kind=DrawingKind.PDF).count() == 1


def test_a_new_target_redraws_the_pdf_that_shows_it(client, manager, january, pdf_drawings):
    client.force_login(manager)
    assert "target 70%" in pdf_text(download(client))

    target_set(figure="enrollment_rate", value=0.75)

    assert "target 75%" in pdf_text(download(client))
    assert len(pdf_drawings) == 2


def test_the_dashboards_charts_are_served_from_the_store(client, manager, january, chart_drawings):
    client.force_login(manager)
    page = client.get(reverse("metrics:dashboard"), {"month": "2026-01"}).content.decode()
    found = re.findall(r'<img[^>]+src="([^"]+\.svg\?[^"]+)"', page)
    urls = [url.replace("&amp;", "&") for url in found]
    assert urls, "the dashboard shows its charts"

    first = [client.get(url) for url in urls]
    drawn_once = list(chart_drawings)
    second = [client.get(url) for url in urls]

    assert all(r.status_code == 200 and r["Content-Type"] == "image/svg+xml" for r in second)
    assert [r.content for r in second] == [r.content for r in first]
    assert chart_drawings == drawn_once  # nothing drawn the second time
    assert len(drawn_once) == len(set(drawn_once)) == len(urls)
    assert StoredDrawing.objects.filter(kind=DrawingKind.CHART).count() == len(urls)


def test_the_rollup_redraws_the_stored_pdf_and_charts_of_its_months(
    client, manager, january, pdf_drawings, chart_drawings
):
    client.force_login(manager)
    before = download(client)
    chart = reverse("metrics:chart", kwargs={"figure": "panel"})
    client.get(chart, {"month": "2026-01"})
    assert (len(pdf_drawings), len(chart_drawings)) == (1, 1)

    rollup_month(JANUARY)
    drawn = drawings.drawings_prerender(months=[DECEMBER, JANUARY], today=dt.date(2026, 1, 20))

    assert drawn == 2  # the stored PDF and chart; December was never opened
    assert (pdf_drawings, chart_drawings) == ([JANUARY, JANUARY], ["panel", "panel"])
    after = download(client)
    client.get(chart, {"month": "2026-01"})
    assert after != before
    assert (len(pdf_drawings), len(chart_drawings)) == (2, 2)  # served as redrawn


def test_the_rollup_leaves_older_months_to_their_next_request(
    client, manager, january, pdf_drawings
):
    client.force_login(manager)
    download(client)

    rollup_month(JANUARY)
    assert drawings.drawings_prerender(months=[JANUARY], today=dt.date(2026, 5, 2)) == 0

    download(client)
    assert pdf_drawings == [JANUARY, JANUARY]


def test_a_manager_waiting_too_long_gets_the_previous_copy(january, monkeypatch, pdf_drawings):
    """Another worker is drawing the new version (its claim is fresh): after WAIT_SECONDS
    the previous copy is served rather than a second matplotlib run."""
    scope = scope_resolve()
    StoredDrawing.objects.create(
        kind=DrawingKind.PDF,
        month=JANUARY,
        scope_kind="practice",
        language="en",
        version="an older rollup",
        content=b"%PDF previous copy",
        claim_version=drawings.drawing_version(JANUARY, scope),
        claimed_at=timezone.now(),
    )
    monkeypatch.setattr(drawings, "WAIT_SECONDS", 0.3)

    assert drawings.pdf_stored(month=JANUARY, scope=scope) == b"%PDF previous copy"
    assert pdf_drawings == []


def test_a_drawing_that_fails_lets_the_next_request_draw(january, monkeypatch):
    scope = scope_resolve()

    def broken(month, scope=None):
        raise RuntimeError("matplotlib ran out of memory")

    monkeypatch.setattr(exports, "dashboard_pdf", broken)
    with pytest.raises(RuntimeError):
        drawings.pdf_stored(month=JANUARY, scope=scope)
    monkeypatch.undo()

    assert drawings.pdf_stored(month=JANUARY, scope=scope).startswith(b"%PDF")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_managers_asking_at_once_draw_the_pdf_once(monkeypatch):
    rollup(DECEMBER, DECEMBER_FIGURES)
    rollup(JANUARY, JANUARY_FIGURES)
    drawn = []
    real = exports.dashboard_pdf

    def slow(month, scope=None):
        drawn.append(month)
        time.sleep(0.5)  # long enough for the other thread to find the claim
        return real(month, scope)

    monkeypatch.setattr(exports, "dashboard_pdf", slow)
    barrier = threading.Barrier(2)
    results, failures = [], []

    def ask():
        try:
            barrier.wait()
            results.append(drawings.pdf_stored(month=JANUARY, scope=scope_resolve()))
        except Exception as error:  # collected, asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert drawn == [JANUARY]
    assert len(results) == 2 and results[0] == results[1]
    assert results[0].startswith(b"%PDF")
