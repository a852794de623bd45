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


def _decimals(step: float) -> int:
    """Decimals that tell ticks `step` apart: 0.05 -> 2, 0.1 -> 1, 5 -> 0."""
    if step <= 0 or not math.isfinite(step):
        return 1
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _decimals_of(value: float) -> int:
    """The decimals a value is written with (4.5 -> 1, 4.25 -> 2, 60 -> 0)."""
    for decimals in range(0, 4):
        if abs(value - round(value, decimals)) < 1e-9:
            return decimals
    return 3


def _tick_formatter(figure: str, step: float, extra: float | None = None) -> FuncFormatter:
    """Tick labels with as many decimals as the tick step needs, so no two read the same
    (4.55 / 4.60 / 4.65, not 4.6 / 4.6 / 4.7); `extra` (the target) gets its own if needed."""
    kind = BY_KEY[figure].kind
    symbol = getattr(settings, "PRACTICE_CURRENCY_SYMBOL", "$")
    scale = 100 if kind == RATE else 1
    decimals = _decimals(step * scale)
    if extra is not None:
        decimals = max(decimals, min(2, _decimals_of(extra * scale)))

    def fmt(value, _position):
        if kind == RATE:
            return f"{value * 100:.{decimals}f}%"
        if kind == PERCENT_CHANGE:
            return f"{value:+.{decimals}f}%"
        if kind == MONEY:
            if abs(value) >= 10_000:
                return f"{symbol}{value / 1000:.0f}k"
            return f"{symbol}{value:,.{decimals}f}"
        if kind == COUNT:
            return f"{value:,.{decimals}f}"
        if kind == HOURS:
            return _("%(hours)s h") % {"hours": f"{value:.{decimals}f}"}
        return f"{value:.{decimals}f}"

    return FuncFormatter(fmt)


def _y_ticks(figure: str, bottom: float, top: float, target: float | None) -> list[float]:
    """Round ticks inside the limits (steps of 1, 2 or 5 times a power of ten; whole
    numbers for counts and money), the target one of them: its line sits on a gridline
    and its value is read on the axis. A tick too close to the target gives way to it."""
    kind = BY_KEY[figure].kind
    locator = MaxNLocator(
        nbins=4, min_n_ticks=3, steps=[1, 2, 5, 10], integer=kind in (COUNT, MONEY)
    )
    ticks = [float(t) for t in locator.tick_values(bottom, top) if bottom <= t <= top]
    if target is None or not ticks:
        return ticks
    step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(top - bottom) / 3
    kept = [t for t in ticks if abs(t - target) >= step * 0.6]
    return sorted([*kept, target])


# A year under a month needs room: no two year labels closer than this many months,
# else narrow charts (the PDF's) run them together ("20252026").
YEAR_LABEL_GAP = 3


def _month_ticks(months: list[date]) -> list[str]:
    """ "Mar", with the year under January and under the first month, unless a January
    follows so closely that the two years would touch (it then says the year)."""
    labels = []
    for i, month in enumerate(months):
        label = formats.date_format(month, "M")
        next_january = next(
            (j for j, later in enumerate(months) if j > i and later.month == 1), None
        )
        first_with_room = i == 0 and (next_january is None or next_january >= YEAR_LABEL_GAP)
        if month.month == 1 or first_with_room:
            label = f"{label}\n{month:%Y}"
        labels.append(label)
    return labels


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
    ax.set_xticklabels(_month_ticks([month for month, _value in points]))
    ax.set_xlim(-0.5, len(points) - 0.5)
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
        low, high = min(low, target_value), max(high, target_value)
    span = (high - low) or abs(high) or 1.0
    bottom = low - span * 0.25
    if BY_KEY[figure].kind in (RATE, COUNT, MONEY, HOURS) and low >= 0:
        bottom = max(bottom, 0)
    top = high + span * 0.3
    ax.set_ylim(bottom, top)
    ticks = _y_ticks(figure, bottom, top, target_value)
    plain = [t for t in ticks if t != target_value]
    step = plain[1] - plain[0] if len(plain) > 1 else (top - bottom) / 3
    ax.set_yticks(ticks)
    ax.yaxis.set_major_formatter(_tick_formatter(figure, step, target_value))
    if target_value is not None:
        _draw_target(ax, target_value, values[last], ticks)


def _draw_target(ax, target: float, last_value: float, ticks: list[float]) -> None:
    """The target: a dashed line on its own gridline, its value on the axis in the line's
    colour, and the word "target" at the right end, on the side of the line away from the
    last month's point (which sits at the right end too), so the two never overlap."""
    ax.axhline(target, color=TARGET, linestyle=(0, (4, 3)), linewidth=1, zorder=2)
    for tick, label in zip(ticks, ax.get_yticklabels(), strict=False):
        if tick == target:
            label.set_color(TARGET)
    above = last_value < target
    ax.annotate(
        _("target"),
        xy=(1, target),
        xycoords=("axes fraction", "data"),
        xytext=(0, 4 if above else -4),
        textcoords="offset points",
        ha="right",
        va="bottom" if above else "top",
        fontsize=6.5,
        color=TARGET,
    )


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
