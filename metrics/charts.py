"""Twelve-month trend charts, drawn once by matplotlib for the page (SVG) and the PDF.

The charts hold monthly aggregates only, never patient data. matplotlib's
object API is used (no pyplot), so drawing keeps no global figure state and
is safe in threaded web workers.
"""

import io
import logging
import math
from datetime import date

import matplotlib

matplotlib.use("Agg")

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from metrics.figures import BY_KEY, COUNT, HOURS, MONEY, PERCENT_CHANGE, RATE
from metrics.selectors import value_display
from portal_adoption.feedback_hooks import published_changes

# Text stays text in the SVG (smaller, crisp at any size); fonts are embedded in the PDF
# (TrueType, so its text can be selected and searched). A fixed salt keeps the SVG's
# ids the same from one drawing to the next, so an unchanged chart is byte-identical.
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "portal-adoption-manager"
matplotlib.rcParams["pdf.fonttype"] = 42

# Embedding a font subset logs every glyph at INFO: noise in the application's log.
logging.getLogger("fontTools").setLevel(logging.WARNING)

LINE = "#0d6efd"
TARGET = "#6c757d"
GRID = "#e9ecef"
TEXT = "#495057"
MARKER = "#198754"
# The figures whose chart marks the months a "what we changed" note was published.
MARKED_FIGURES = {"satisfaction"}
SIZE = (4.2, 1.9)  # inches; the page scales the SVG to its card


def _number(value) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _tick_formatter(figure: str) -> FuncFormatter:
    kind = BY_KEY[figure].kind
    symbol = getattr(settings, "PRACTICE_CURRENCY_SYMBOL", "$")

    def fmt(value, _position):
        if kind == RATE:
            percent = value * 100
            whole = abs(percent - round(percent)) < 0.05
            return f"{percent:.0f}%" if whole else f"{percent:.1f}%"
        if kind == PERCENT_CHANGE:
            return f"{value:+.0f}%"
        if kind == MONEY:
            if abs(value) >= 10_000:
                return f"{symbol}{value / 1000:.0f}k"
            return f"{symbol}{value:,.0f}"
        if kind == COUNT:
            return f"{value:,.0f}"
        if kind == HOURS:
            hours = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
            return _("%(hours)s h") % {"hours": hours}
        return f"{value:.1f}"

    return FuncFormatter(fmt)


def _month_tick(month: date, first: bool) -> str:
    label = formats.date_format(month, "M")
    return f"{label}\n{month:%Y}" if first or month.month == 1 else label


def trend_markers(figure: str, points) -> list[tuple[date, str]]:
    """(month, label) of each published feedback change inside the chart's months.

    Only the satisfaction trend has them; messaging answers through
    portal_adoption.feedback_hooks (metrics never imports messaging).
    """
    if figure not in MARKED_FIGURES or not points:
        return []
    return [
        (marker.month, marker.label) for marker in published_changes(points[0][0], points[-1][0])
    ]


def _draw_markers(ax, points, markers) -> None:
    """A dotted vertical line at each marked month, its tags written at the top."""
    index = {month: i for i, (month, _value) in enumerate(points)}
    labels: dict[int, list[str]] = {}
    for month, label in markers:
        if month in index:
            labels.setdefault(index[month], []).append(label)
    for x, names in labels.items():
        ax.axvline(x, color=MARKER, linestyle=(0, (1, 2)), linewidth=1.2, zorder=1)
        # Written towards the middle, so a label near either edge stays inside the chart.
        left = x < len(points) / 2
        ax.annotate(
            ", ".join(names),
            xy=(x, 1),
            xycoords=("data", "axes fraction"),
            xytext=(2 if left else -2, -2),
            textcoords="offset points",
            ha="left" if left else "right",
            va="top",
            fontsize=6.5,
            color=MARKER,
        )


def draw_trend(
    ax,
    figure: str,
    points: list[tuple[date, object]],
    target=None,
    *,
    title=None,
    markers: list[tuple[date, str]] | None = None,
):
    """Draw one figure's months on `ax`: a line with a dot per month, gaps where a month
    has no data, the target as a dashed line, the latest value labeled, and the months
    with a published feedback change marked (the same on the page and in the PDF)."""
    if markers is None:
        markers = trend_markers(figure, points)
    values = [_number(value) for _month, value in points]
    xs = list(range(len(points)))
    ys = [value if value is not None else float("nan") for value in values]
    ax.set_facecolor("white")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(GRID)
    ax.tick_params(colors=TEXT, labelsize=7.5, length=0)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_xticks(xs)
    ax.set_xticklabels([_month_tick(m, i == 0) for i, (m, _v) in enumerate(points)])
    ax.set_xlim(-0.5, len(points) - 0.5)
    ax.yaxis.set_major_formatter(_tick_formatter(figure))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=3))
    if title:
        ax.set_title(title, loc="left", fontsize=9, color="#212529", fontweight="bold")

    _draw_markers(ax, points, markers)
    known = [v for v in values if v is not None]
    target_value = _number(target)
    if not known:
        ax.set_yticks([])
        ax.text(
            0.5,
            0.5,
            _("No data yet"),
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=TEXT,
            fontsize=8,
        )
        return
    ax.plot(xs, ys, color=LINE, linewidth=1.8, marker="o", markersize=3.2, zorder=3)
    last = max(i for i, v in enumerate(values) if v is not None)
    ax.plot([last], [values[last]], marker="o", markersize=5.5, color=LINE, zorder=4)
    low, high = min(known), max(known)
    if target_value is not None:
        ax.axhline(target_value, color=TARGET, linestyle=(0, (4, 3)), linewidth=1, zorder=2)
        ax.annotate(
            _("target"),
            xy=(1, target_value),
            xycoords=("axes fraction", "data"),
            xytext=(0, 2),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=6.5,
            color=TARGET,
        )
        low, high = min(low, target_value), max(high, target_value)
    span = (high - low) or abs(high) or 1.0
    bottom = low - span * 0.25
    if BY_KEY[figure].kind in (RATE, COUNT, MONEY, HOURS) and low >= 0:
        bottom = max(bottom, 0)
    ax.set_ylim(bottom, high + span * 0.3)


def trend_svg(figure: str, points, target=None, markers=None) -> bytes:
    """The page's chart: SVG bytes, served from its own URL (never inlined in a page)."""
    fig = Figure(figsize=SIZE, facecolor="white")
    ax = fig.add_subplot()
    draw_trend(ax, figure, points, target, markers=markers)
    fig.subplots_adjust(left=0.13, right=0.98, top=0.95, bottom=0.2)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def trend_description(figure: str, points) -> str:
    """The chart in words, for its alt text."""
    known = [(m, v) for m, v in points if _number(v) is not None]
    label = str(BY_KEY[figure].label)
    if not known:
        return _("%(figure)s, last 12 months: no data yet.") % {"figure": label}
    (first_month, first), (last_month, last) = known[0], known[-1]
    words = _("%(figure)s, last 12 months: %(first)s in %(start)s, %(last)s in %(end)s.") % {
        "figure": label,
        "first": value_display(figure, first),
        "start": formats.date_format(first_month, "F Y"),
        "last": value_display(figure, last),
        "end": formats.date_format(last_month, "F Y"),
    }
    changes = [
        _("%(tag)s in %(month)s") % {"tag": tag, "month": formats.date_format(month, "F Y")}
        for month, tag in trend_markers(figure, points)
    ]
    if changes:
        words += " " + _("Changes published after feedback: %(changes)s.") % {
            "changes": "; ".join(changes)
        }
    return words
