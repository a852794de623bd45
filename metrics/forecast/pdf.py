"""The forecast as one page of the monthly PDF (issue 16, item 3): aggregates only."""

import datetime as dt
import textwrap

from django.utils.translation import gettext as _
from matplotlib.figure import Figure

from metrics.forecast.selectors import MODEL_STATEMENT, forecast
from metrics.selectors import month_label

PAGE = (8.5, 11)  # US letter, inches, as the rest of the PDF
MARGIN = 0.7
DARK, MUTED = "#212529", "#6c757d"


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def forecast_answer(data: dict) -> str:
    """The one sentence the page and the PDF lead with."""
    if data["already_at_target"]:
        return _("The enrollment rate is already at or beyond the target.")
    reached = data["pace"]["reaches_target"]
    if reached:
        return _("At this pace, the enrollment rate reaches the target in %(month)s.") % {
            "month": month_label(reached)
        }
    return _("At this pace, the enrollment rate will not reach the target in the next 12 months.")


def forecast_page(month: dt.date) -> Figure | None:
    """The forecast from `month`'s practice rollup, or None when there is none."""
    data = forecast(month=month)
    if data is None:
        return None
    figure = Figure(figsize=PAGE, facecolor="white")
    y = PAGE[1] - MARGIN

    def line(text, *, size=10, colour=DARK, weight="normal", step=0.24, x=MARGIN):
        nonlocal y
        figure.text(
            x / PAGE[0],
            y / PAGE[1],
            text,
            fontsize=size,
            color=colour,
            fontweight=weight,
            va="top",
        )
        y -= step

    history = data["history"]
    line(
        _("Enrollment forecast - %(month)s") % {"month": month_label(month)},
        size=16,
        weight="bold",
        step=0.4,
    )
    line(
        _("Enrollment rate in %(month)s: %(rate)s. Target: %(target)s.")
        % {
            "month": month_label(data["start_month"]),
            "rate": _percent(data["start_rate"]),
            "target": _percent(data["target"]),
        }
    )
    line(forecast_answer(data), weight="bold", step=0.32)
    line(
        _(
            "The pace, %(first)s to %(last)s: offer rate %(offer)s, acceptance %(acceptance)s, "
            "activation %(activation)s, %(visits)s visits."
        )
        % {
            "first": month_label(history.first_month),
            "last": month_label(history.last_month),
            "offer": _percent(data["pace"]["offer_rate"]),
            "acceptance": _percent(data["pace"]["acceptance"]),
            "activation": _percent(data["pace"]["activation"]),
            "visits": history.visits,
        },
        size=8.5,
        colour=MUTED,
        step=0.36,
    )
    line(_("Month"), size=8, colour=MUTED, step=0)
    line(_("Projected enrollment rate"), size=8, colour=MUTED, x=3.1)
    for when, rate in zip(data["pace"]["months"], data["pace"]["rates"], strict=True):
        line(month_label(when), size=9, step=0)
        line(_percent(rate), size=9, x=3.1, step=0.21)
    y -= 0.2
    for text in textwrap.wrap(str(MODEL_STATEMENT), 110):
        line(text, size=8, colour=MUTED, step=0.17)
    return figure
