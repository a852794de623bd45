"""The monthly PDF and the trend charts, drawn once and served from the database.

matplotlib takes about 1.6 s for the PDF and a tenth of that per chart, on a
web worker's CPU; sixteen managers opening the PDF at once used to queue
sixteen drawings (issue 15). Now each drawing is a StoredDrawing row, keyed by
month, scope, language and drawing, and served as stored.

How a request gets its drawing
1. Compute the version: a digest of everything the drawing shows (the
   `computed_at` of the scope's rollups over the twelve months of the trends,
   the targets, the published changes, the scope's and the practice's names,
   whether the month is still in progress, DRAWING_FORMAT). A re-rollup of any
   of those months, a new target or a renamed location changes it. This is a
   few small queries and no drawing.
2. The stored row has that version: serve its content.
3. Otherwise claim the drawing with a compare-and-set (a unique row created,
   or an update that only succeeds when no one else claimed this version in
   the last CLAIM_SECONDS). The winner draws outside any transaction
   (slow work after the claim, not under a lock) and stores the content with
   its version; a drawing that fails releases the claim.
4. The others poll the row every POLL_SECONDS for up to WAIT_SECONDS: the
   drawing appears, or the claim goes away (they claim in turn). A waiter
   that runs out of time gets the previous copy if there is one, else draws
   without storing.

After a rollup of the current month or the month before, the nightly job
and `rollup_metrics` redraw the drawings of those months that are stored
(someone opened them), so the next reader does not wait; other months and
drawings nobody opened yet are drawn on their first request. Rows are
replaced in place, never added per version, so the table stays at most
months x scopes x languages x drawings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation

from metrics import exports
from metrics.charts import trend_markers, trend_svg
from metrics.models import (
    DrawingKind,
    FunnelBy,
    FunnelRollup,
    MonthlyRollup,
    ScopeKind,
    StoredDrawing,
)
from metrics.selectors import (
    TREND_MONTHS,
    Scope,
    month_in_progress,
    month_previous,
    month_shift,
    scope_resolve,
    targets,
    trend,
)
from portal_adoption.feedback_hooks import published_changes

logger = logging.getLogger(__name__)

# Raise when the drawing code changes what it draws: every stored copy is then redrawn.
DRAWING_FORMAT = 3  # 2: the forecast page (issue 16); 3: the funnel page
CLAIM_SECONDS = 120  # a claim older than this is a drawer that died
WAIT_SECONDS = 20
POLL_SECONDS = 0.1


def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


def drawing_version(month: dt.date, scope: Scope) -> str:
    """The digest of what the month's PDF and charts for `scope` show (step 1 above)."""
    month = month.replace(day=1)
    first = month_shift(month, -(TREND_MONTHS - 1))
    computed = list(
        MonthlyRollup.objects.filter(
            month__gte=first, month__lte=month, scope_kind=scope.kind, scope_id=scope.id
        )
        .order_by("month")
        .values_list("month", "computed_at")
    )
    markers = [(marker.month, marker.label) for marker in published_changes(first, month)]
    # The funnel page's cohort is recomputed nightly for 13 months, apart from the rollup.
    funnel_computed = list(
        FunnelRollup.objects.filter(cohort=month, by=FunnelBy.PRACTICE).values_list(
            "computed_at", flat=True
        )
    )
    parts = (
        DRAWING_FORMAT,
        _language(),
        month,
        scope.kind,
        scope.id,
        scope.name,
        settings.PRACTICE_NAME,
        getattr(settings, "PRACTICE_CURRENCY_SYMBOL", "$"),
        month_in_progress(month),
        computed,
        funnel_computed,
        sorted(targets().items()),
        markers,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def pdf_stored(*, month: dt.date, scope: Scope) -> bytes:
    """The dashboard PDF of `month` for `scope`, drawn at most once per version."""
    month = month.replace(day=1)
    return _stored(
        kind=DrawingKind.PDF,
        figure="",
        month=month,
        scope=scope,
        version=drawing_version(month, scope),
        draw=lambda: exports.dashboard_pdf(month, scope),
    )


def chart_stored(*, figure: str, month: dt.date, scope: Scope) -> bytes:
    """One figure's twelve-month trend (SVG) ending with `month`, drawn once per version."""
    month = month.replace(day=1)
    return _stored(
        kind=DrawingKind.CHART,
        figure=figure,
        month=month,
        scope=scope,
        version=drawing_version(month, scope),
        draw=lambda: chart_draw(figure=figure, month=month, scope=scope),
    )


def chart_draw(*, figure: str, month: dt.date, scope: Scope) -> bytes:
    points = trend(figure, month=month, scope=scope)
    return trend_svg(figure, points, targets().get(figure), trend_markers(figure, points))


def drawings_prerender(*, months: list[dt.date], today: dt.date | None = None) -> int:
    """After a rollup: redraw the stored drawings (the PDFs and charts someone has
    opened, in their scope and language) of the recomputed months among the current
    one and the one before, so their next reader does not wait. Months nobody opened
    are drawn on their first request. Returns the number of drawings made. A failure
    is logged, never raised: the rollup is done, and the next request draws."""
    current = (today or timezone.localdate()).replace(day=1)
    wanted = {m.replace(day=1) for m in months} & {current, month_previous(current)}
    stored = (
        StoredDrawing.objects.filter(month__in=wanted)
        .order_by("month", "kind", "scope_kind", "scope_id", "figure")
        .values_list("kind", "figure", "month", "scope_kind", "scope_id", "language")
    )
    drawn = 0
    for kind, figure, month, scope_kind, scope_id, language in stored:
        try:
            with translation.override(language):
                scope = _scope(scope_kind, scope_id)
                if kind == DrawingKind.PDF:
                    pdf_stored(month=month, scope=scope)
                else:
                    chart_stored(figure=figure, month=month, scope=scope)
        except Exception as error:  # aggregates only: the class and month say enough
            logger.warning(
                "redrawing a %s of %s failed (%s); the next request draws it",
                kind,
                f"{month:%Y-%m}",
                error.__class__.__name__,
            )
        else:
            drawn += 1
    return drawn


def _scope(kind: str, scope_id: int) -> Scope:
    if kind == ScopeKind.LOCATION:
        return scope_resolve(location_id=scope_id)
    if kind == ScopeKind.PROVIDER:
        return scope_resolve(provider_id=scope_id)
    return scope_resolve()


def _stored(
    *, kind: str, figure: str, month: dt.date, scope: Scope, version: str, draw: Callable[[], bytes]
) -> bytes:
    key = {
        "kind": kind,
        "figure": figure,
        "month": month,
        "scope_kind": scope.kind,
        "scope_id": scope.id,
        "language": _language(),
    }
    rows = StoredDrawing.objects.filter(**key)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        row = rows.values("pk", "version").first()
        if row is not None and row["version"] == version:
            content = rows.filter(version=version).values_list("content", flat=True).first()
            if content is not None:
                return bytes(content)
            continue  # replaced between the two reads: look again
        if _claim(key, row, version):
            return _draw_and_store(key, version, draw)
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    previous = rows.values_list("content", flat=True).first()
    if previous:
        logger.warning("serving the previous %s drawing: the new one is still being drawn", kind)
        return bytes(previous)
    return draw()


def _claim(key: dict, row: dict | None, version: str) -> bool:
    """True if this worker is now the one drawing `version` (step 3 above)."""
    now = timezone.now()
    if row is None:
        try:
            with transaction.atomic():
                StoredDrawing.objects.create(**key, claim_version=version, claimed_at=now)
        except IntegrityError:  # another worker created it first: wait for its drawing
            return False
        return True
    busy = Q(claim_version=version, claimed_at__gt=now - dt.timedelta(seconds=CLAIM_SECONDS))
    claimed = (
        StoredDrawing.objects.filter(pk=row["pk"])
        .exclude(version=version)
        .exclude(busy)
        .update(claim_version=version, claimed_at=now)
    )
    return claimed == 1


def _draw_and_store(key: dict, version: str, draw: Callable[[], bytes]) -> bytes:
    mine = StoredDrawing.objects.filter(**key, claim_version=version)
    try:
        content = draw()
    except BaseException:
        mine.update(claim_version="", claimed_at=None)
        raise
    # Stored only if the claim is still ours: a newer version's drawer may have taken it.
    mine.update(
        content=content, version=version, drawn_at=timezone.now(), claim_version="", claimed_at=None
    )
    return content


__all__ = [
    "chart_draw",
    "chart_stored",
    "drawing_version",
    "drawings_prerender",
    "pdf_stored",
]
