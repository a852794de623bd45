"""The dashboard leaving the application: CSV of the figures, the PDF, the monthly email.

All three read the rollups through the selectors, so they show exactly the
numbers of the page; the PDF draws the page's charts with the same code.
"""

import io
import logging
import textwrap
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from django.utils import formats, timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from metrics.charts import draw_trend
from metrics.electronic_access.pdf import electronic_access_page
from metrics.equity.pdf import equity_pages
from metrics.figures import BY_KEY, FIGURE_KEYS
from metrics.forecast.pdf import forecast_page
from metrics.funnel.pdf import funnel_page
from metrics.models import MonthlyReportDelivery, MonthlyRollup, ScopeKind
from metrics.selectors import (
    CHART_FIGURES,
    Scope,
    dashboard_for,
    dashboard_sections,
    figures_normalized,
    month_in_progress,
    month_key,
    month_label,
    month_previous,
    month_shift,
    opportunity_lines,
    rollup_computed_at,
    scope_resolve,
    trends,
)
from patients.models import Location, Provider
from portal_adoption.csv_export import csv_text
from portal_adoption.roles import GROUP_NAMES, Role

logger = logging.getLogger(__name__)

# --- CSV --------------------------------------------------------------------------

CSV_COLUMNS = ["month", "scope", "scope_id", "scope_name", "computed_at", *FIGURE_KEYS]


def dashboard_csv_rows(scope: Scope | None = None):
    """The header, then one row per month and scope (every scope, or just `scope`),
    oldest month first. Rates are fractions, unrounded; money is a decimal string;
    a figure without data is an empty cell."""
    kind_order = Case(
        When(scope_kind=ScopeKind.PRACTICE, then=Value(0)),
        When(scope_kind=ScopeKind.LOCATION, then=Value(1)),
        default=Value(2),
    )
    rollups = MonthlyRollup.objects.order_by("month", kind_order, "scope_id")
    if scope is not None:
        rollups = rollups.filter(scope_kind=scope.kind, scope_id=scope.id)
    names = {
        ScopeKind.LOCATION.value: dict(Location.objects.values_list("pk", "name")),
        ScopeKind.PROVIDER.value: dict(Provider.objects.values_list("pk", "name")),
    }
    yield CSV_COLUMNS
    for rollup in rollups.iterator():
        data = figures_normalized(rollup.figures)
        if rollup.scope_kind == ScopeKind.PRACTICE:
            name = str(ScopeKind.PRACTICE.label)
        else:
            name = names.get(rollup.scope_kind, {}).get(rollup.scope_id, "")
        yield [
            month_key(rollup.month),
            rollup.scope_kind,
            rollup.scope_id or "",
            name,  # escaped by the one CSV writer (portal_adoption/csv_export.py)
            timezone.localtime(rollup.computed_at).isoformat(timespec="seconds"),
            *["" if data[key] is None else data[key] for key in FIGURE_KEYS],
        ]


def dashboard_csv(scope: Scope | None = None) -> str:
    return csv_text(dashboard_csv_rows(scope))


# --- PDF --------------------------------------------------------------------------

PAGE = (8.5, 11)  # US letter, inches
MARGIN = 0.7
STATUS_COLOURS = {"good": "#198754", "near": "#e0a800", "below": "#dc3545"}
DARK, MUTED, RULE = "#212529", "#6c757d", "#dee2e6"
IN_PROGRESS = "#087990"
CHARTS_PER_PAGE = 8


def report_title(month: date) -> str:
    return _("Portal performance - %(month)s") % {"month": month_label(month)}


class _Page:
    """A letter page written top to bottom, a line at a time, in inches."""

    def __init__(self):
        self.figure = Figure(figsize=PAGE, facecolor="white")
        self.y = PAGE[1] - MARGIN

    def text(self, x, text, *, size=10, colour=DARK, weight="normal", step=0.24, **kwargs):
        self.figure.text(
            x / PAGE[0],
            self.y / PAGE[1],
            text,
            fontsize=size,
            color=colour,
            fontweight=weight,
            va="top",
            **kwargs,
        )
        self.y -= step

    def rule(self):
        self.figure.add_artist(
            _line([MARGIN / PAGE[0], 1 - MARGIN / PAGE[0]], [self.y / PAGE[1]] * 2)
        )
        self.y -= 0.12

    def dot(self, x, colour):
        self.figure.text(x / PAGE[0], self.y / PAGE[1], "●", fontsize=9, color=colour, va="top")


def _line(xs, ys):
    return Line2D(xs, ys, color=RULE, linewidth=0.8)


def _headline_text(line: dict, previous: str) -> str:
    """As the worked example writes it: "Enrollment rate: 68% (+3 pts vs December)"."""
    text = f"{line['label']}: {line['display']}"
    if line["change_display"]:
        text += (
            " ("
            + _("%(change)s vs %(month)s")
            % {
                "change": line["change_display"],
                "month": previous,
            }
            + ")"
        )
    if line["detail"]:
        text += f" · {line['detail']}"
    return text


def _target_text(line: dict) -> str:
    judged = line["judged"]
    if judged["target_display"] is None:
        return ""
    text = _("target %(target)s") % {"target": judged["target_display"]}
    if judged["key"] != line["key"]:
        text = f"{judged['label']}: {text}"
    if judged["status_label"]:
        text += f", {judged['status_label']}"
    return text


def _summary_page(data: dict, sections: list, scope: Scope, month: date) -> Figure:
    page = _Page()
    previous = formats.date_format(month_previous(month), "F")
    page.text(MARGIN, report_title(month), size=20, weight="bold", step=0.42)
    computed = rollup_computed_at(month, scope)
    subtitle = scope.name
    if computed:
        subtitle += " · " + _("computed %(when)s") % {
            "when": formats.date_format(timezone.localtime(computed), "N j, Y, P")
        }
    else:
        subtitle += " · " + _("no figures computed for this month yet")
    page.text(MARGIN, subtitle, size=10, colour=MUTED, step=0.3)
    if month_in_progress(month):
        # As on the dashboard: a month not yet over is read as figures to date.
        page.text(
            MARGIN,
            capfirst(_("month in progress: figures to date")),
            size=10,
            colour=IN_PROGRESS,
            weight="bold",
            step=0.3,
        )
    page.rule()
    for section in sections:
        page.y -= 0.08
        page.text(MARGIN, section["title"], size=14, weight="bold", step=0.32)
        for line in section["headlines"]:
            judged = line["judged"]
            if judged["status"]:
                page.dot(MARGIN + 0.05, STATUS_COLOURS[judged["status"]])
            page.text(MARGIN + 0.3, _headline_text(line, previous), size=10.5, step=0.2)
            target = _target_text(line)
            if target:
                page.text(MARGIN + 0.3, target, size=8.5, colour=MUTED, step=0.22)
            else:
                page.y -= 0.06
    page.y -= 0.1
    page.rule()
    page.text(MARGIN, _("Key opportunities"), size=14, weight="bold", step=0.32)
    lines = opportunity_lines(data)
    if not lines:
        page.text(MARGIN + 0.3, _("Every figure with a target is at or above it."), step=0.26)
    for number, item in enumerate(lines, start=1):
        page.text(
            MARGIN + 0.05,
            f"{number}. "
            + _("%(figure)s: %(value)s today, target %(target)s")
            % {"figure": item["label"], "value": item["display"], "target": item["target_display"]},
            size=10.5,
            weight="bold",
            step=0.2,
        )
        for part in textwrap.wrap(item["action"], 100):
            page.text(MARGIN + 0.3, part, size=9.5, colour=DARK, step=0.18)
        page.y -= 0.08
    page.figure.text(
        MARGIN / PAGE[0],
        0.4 / PAGE[1],
        _("Definitions of every figure: the dashboard's “How is this computed” page."),
        fontsize=7.5,
        color=MUTED,
    )
    return page.figure


def _table_page(sections: list, month: date) -> Figure:
    page = _Page()
    page.text(MARGIN, _("All figures"), size=16, weight="bold", step=0.36)
    columns = [
        (MARGIN, _("Figure")),
        (3.1, month_label(month)),
        (4.3, month_label(month_previous(month))),
        (5.5, _("Change")),
        (6.35, _("Target")),
        (7.15, _("Status")),
    ]
    for section in sections:
        page.y -= 0.06
        page.text(MARGIN, section["title"], size=11.5, weight="bold", step=0.26)
        for x, heading in columns:
            page.figure.text(
                x / PAGE[0], page.y / PAGE[1], heading, fontsize=7.5, color=MUTED, va="top"
            )
        page.y -= 0.2
        for row in section["rows"]:
            cells = [
                row["label"],
                row["display"],
                row["previous_display"],
                row["change_display"] or "",
                row["target_display"] or "",
                row["status_label"] or "",
            ]
            for (x, _heading), cell in zip(columns, cells, strict=True):
                colour = DARK
                if cell and cell == row["status_label"]:
                    colour = STATUS_COLOURS[row["status"]]
                page.figure.text(
                    x / PAGE[0], page.y / PAGE[1], cell, fontsize=8.5, color=colour, va="top"
                )
            page.y -= 0.205
    return page.figure


def _chart_pages(month: date, scope: Scope, target_values: dict) -> list[Figure]:
    pages = []
    for start in range(0, len(CHART_FIGURES), CHARTS_PER_PAGE):
        figure = Figure(figsize=PAGE, facecolor="white")
        figure.text(
            MARGIN / PAGE[0],
            1 - MARGIN / PAGE[1],
            _("Twelve-month trends - %(month)s") % {"month": month_label(month)},
            fontsize=16,
            fontweight="bold",
            color=DARK,
            va="top",
        )
        keys = CHART_FIGURES[start : start + CHARTS_PER_PAGE]
        points = trends(keys, month=month, scope=scope)
        grid = figure.add_gridspec(
            4, 2, left=0.1, right=0.96, top=0.88, bottom=0.06, hspace=0.75, wspace=0.28
        )
        for index, key in enumerate(keys):
            ax = figure.add_subplot(grid[index // 2, index % 2])
            draw_trend(
                ax,
                key,
                points[key],
                target_values.get(key),
                title=str(BY_KEY[key].label),
            )
        pages.append(figure)
    return pages


def dashboard_pdf(month: date, scope: Scope | None = None) -> bytes:
    """The dashboard as a PDF: the summary in the worked example's layout with changes,
    targets and the key opportunities; every figure in a table; for the whole practice,
    the equity gaps; the trend charts; the CMS electronic-access measure for the year
    to date (metrics.electronic_access.pdf); for the whole practice, the forecast and
    the enrollment funnel of the month's cohort (metrics.funnel.pdf)."""
    scope = scope or scope_resolve()
    month = month.replace(day=1)
    data = dashboard_for(month, scope)
    sections = dashboard_sections(data)
    title = report_title(month)
    if scope.kind != ScopeKind.PRACTICE:
        title = f"{title} - {scope.name}"
    summary = "; ".join(
        _headline_text(line, formats.date_format(month_previous(month), "F"))
        for section in sections
        for line in section["headlines"]
    )
    buffer = io.BytesIO()
    metadata = {
        "Title": title,
        "Subject": summary,
        "Author": settings.PRACTICE_NAME,
        "Creator": "Portal Adoption Manager",
    }
    with PdfPages(buffer, metadata=metadata) as pdf:
        pdf.savefig(_summary_page(data, sections, scope, month))
        pdf.savefig(_table_page(sections, month))
        if scope.kind == ScopeKind.PRACTICE:
            for page in equity_pages(month):
                pdf.savefig(page)
        for page in _chart_pages(month, scope, data["targets"]):
            pdf.savefig(page)
        pdf.savefig(electronic_access_page(month, _Page()))
        if scope.kind == ScopeKind.PRACTICE and (page := forecast_page(month)) is not None:
            pdf.savefig(page)
        if scope.kind == ScopeKind.PRACTICE and (page := funnel_page(month)) is not None:
            pdf.savefig(page)
    return buffer.getvalue()


def report_filename(month: date, scope: Scope | None = None) -> str:
    suffix = ""
    if scope is not None and scope.kind != ScopeKind.PRACTICE:
        suffix = f"-{scope.kind}-{scope.id}"
    return f"portal-performance-{month_key(month)}{suffix}.pdf"


# --- The monthly email --------------------------------------------------------------


class ReportNotReady(Exception):
    """The month's practice rollup is missing or was computed before the month ended."""


def report_recipients() -> list[str]:
    """Every active member of staff with the Manager role and an email address."""
    users = get_user_model().objects.filter(is_active=True, groups__name=GROUP_NAMES[Role.MANAGER])
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def monthly_report_email(month: date) -> int:
    """Send the practice's PDF for `month` to every manager, one message each (no one
    sees the others' addresses). Returns the number of messages sent."""
    month = month.replace(day=1)
    recipients = report_recipients()
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        scope = scope_resolve()
        pdf = dashboard_pdf(month, scope)
        data = dashboard_for(month, scope)
        subject = report_title(month)
        body = _report_body(month, data)
    messages = []
    for address in recipients:
        message = EmailMessage(
            subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address]
        )
        message.attach(report_filename(month), pdf, "application/pdf")
        messages.append(message)
    with get_connection() as connection:
        return connection.send_messages(messages) or 0


def _report_body(month: date, data: dict) -> str:
    lines = [
        _("The portal dashboard of %(practice)s for %(month)s is attached as a PDF.")
        % {"practice": settings.PRACTICE_NAME, "month": month_label(month)},
        "",
    ]
    opportunities = opportunity_lines(data)
    if opportunities:
        lines.append(_("Key opportunities:"))
        for number, item in enumerate(opportunities, start=1):
            lines.append(
                f"{number}. "
                + _("%(figure)s: %(value)s today, target %(target)s.")
                % {
                    "figure": item["label"],
                    "value": item["display"],
                    "target": item["target_display"],
                }
            )
            lines.append("   " + item["action"])
        lines.append("")
    lines.append(
        _(
            "Sign in and open the Dashboard for other months, each location and each "
            "provider, and to change the targets."
        )
    )
    return "\n".join(lines)


def monthly_report_send_once(
    *, month: date, today: date | None = None, require_complete: bool = True
) -> int:
    """The monthly email, at most once per month.

    1. Only for a month that has ended, whose practice rollup was computed after
       its end (otherwise ReportNotReady: try again after the nightly rollup).
       With require_complete=False (the task's last try) a rollup computed
       before the month ended will do: late figures beat no email.
    2. Claim the month with a MonthlyReportDelivery row (unique month): a
       second delivery of the task (acks_late, a retry, a second beat) finds
       the claim and sends nothing. A table, not the cache: Redis being down
       must neither stop the email nor let it go twice.
    3. If sending fails, release the claim so a retry can send; once sent,
       the row says when and to how many managers.
    """
    month = month.replace(day=1)
    today = today or timezone.localdate()
    month_end = month_shift(month, 1)
    if today < month_end:
        raise ReportNotReady(f"{month_key(month)} has not ended")
    computed = rollup_computed_at(month, scope_resolve())
    if computed is None:
        raise ReportNotReady(f"{month_key(month)} has no practice rollup yet")
    if require_complete and timezone.localtime(computed).date() < month_end:
        raise ReportNotReady(f"{month_key(month)} was rolled up before it ended")
    try:
        with transaction.atomic():
            claim = MonthlyReportDelivery.objects.create(month=month)
    except IntegrityError:
        logger.info("monthly report for %s already sent", month_key(month))
        return 0
    try:
        sent = monthly_report_email(month)
    except Exception:
        claim.delete()
        raise
    MonthlyReportDelivery.objects.filter(pk=claim.pk).update(
        sent_at=timezone.now(), recipients=sent
    )
    logger.info("monthly report for %s sent to %d managers", month_key(month), sent)
    return sent
