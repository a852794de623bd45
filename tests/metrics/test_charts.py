"""The trend charts read right: distinct y ticks, the target on its own gridline with its
label clear of the last point, year labels that never run together, and the PDF says when
its month is still in progress, as the dashboard does."""

import datetime as dt
from itertools import pairwise

import pytest
from django.utils import timezone
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from metrics.charts import SIZE, YEAR_LABEL_GAP, _month_ticks, draw_trend
from metrics.exports import PAGE, dashboard_pdf
from tests.metrics.test_dashboard import JANUARY, pdf_text


def twelve_months(first: dt.date) -> list[dt.date]:
    return [
        dt.date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        for i in range(12)
    ]


SATISFACTION = [4.55, 4.6, 4.62, 4.58, 4.61, 4.66, 4.7, 4.63, 4.59, 4.64, 4.6, 4.52]


def drawn(figure, values, target, size=SIZE):
    points = list(zip(twelve_months(dt.date(2025, 12, 1)), values, strict=True))
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw_trend(ax, figure, points, target, markers=[])
    fig.subplots_adjust(left=0.13, right=0.98, top=0.95, bottom=0.2)
    fig.canvas.draw()
    return fig, ax


def y_labels(ax) -> list[str]:
    return [label.get_text() for label in ax.get_yticklabels()]


@pytest.mark.parametrize(
    ("figure", "values", "target"),
    [
        ("satisfaction", SATISFACTION, 4.5),
        (
            "satisfaction",
            [4.61, 4.62, 4.63, 4.62, 4.64, 4.63, 4.62, 4.61, 4.63, 4.64, 4.62, 4.63],
            None,
        ),
        ("enrollment_rate", [0.601 + i * 0.002 for i in range(12)], 0.65),
        ("avg_response_hours", [6.1, 6.3, 6.2, 6.4, 6.3, 6.2, 6.5, 6.4, 6.3, 6.2, 6.1, 6.2], 8),
        ("messages_received", [3, 4, 3, 5, 4, 3, 4, 5, 4, 3, 4, 4], None),
    ],
)
def test_a_manager_reads_distinct_y_axis_ticks(figure, values, target):
    _fig, ax = drawn(figure, values, target)
    labels = y_labels(ax)
    assert len(labels) >= 2
    assert len(set(labels)) == len(labels), labels


def test_the_satisfaction_chart_reads_4_5_4_6_4_7_with_the_target_on_its_gridline():
    _fig, ax = drawn("satisfaction", SATISFACTION, 4.5)
    assert y_labels(ax) == ["4.5", "4.6", "4.7"]
    (target_line,) = [line for line in ax.get_lines() if line.get_linestyle() != "-"]
    assert set(target_line.get_ydata()) == {4.5}
    assert 4.5 in list(ax.get_yticks())


@pytest.mark.parametrize("last", [4.5, 4.52, 4.48, 4.6])
def test_the_target_label_never_covers_the_last_point(last):
    fig, ax = drawn("satisfaction", [*SATISFACTION[:-1], last], 4.5)
    renderer = fig.canvas.get_renderer()
    (label,) = [text for text in ax.texts if text.get_text() == "target"]
    box = label.get_window_extent(renderer)
    x, y = ax.transData.transform((11, last))
    radius = 5.5 / 2 * fig.dpi / 72
    overlaps_x = box.x0 - radius < x < box.x1 + radius
    overlaps_y = box.y0 - radius < y < box.y1 + radius
    assert not (overlaps_x and overlaps_y)


@pytest.mark.parametrize("first_month", range(1, 13))
def test_year_labels_never_sit_side_by_side(first_month):
    labels = _month_ticks(twelve_months(dt.date(2025, first_month, 1)))
    with_year = [i for i, label in enumerate(labels) if "\n" in label]
    assert with_year, labels
    assert all(b - a >= YEAR_LABEL_GAP for a, b in pairwise(with_year))


def test_in_the_pdf_no_two_month_labels_touch():
    fig = Figure(figsize=PAGE)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(4, 2, left=0.1, right=0.96, top=0.88, bottom=0.06, wspace=0.28)
    ax = fig.add_subplot(grid[0, 0])
    points = list(zip(twelve_months(dt.date(2025, 12, 1)), SATISFACTION, strict=True))
    draw_trend(ax, "satisfaction", points, 4.5, markers=[])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in ax.get_xticklabels()]
    assert all(a.x1 < b.x0 for a, b in pairwise(boxes))
    assert "20252026" not in "".join(label.get_text() for label in ax.get_xticklabels())


def test_the_pdf_of_the_month_in_progress_says_so(db):
    this_month = timezone.localdate().replace(day=1)
    assert "Month in progress: figures to date" in pdf_text(dashboard_pdf(this_month))


def test_the_pdf_of_a_past_month_does_not(db):
    text = pdf_text(dashboard_pdf(JANUARY))
    assert "Portal performance - January 2026" in text
    assert "month in progress" not in text.lower()
