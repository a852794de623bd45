"""The enrollment funnel as one page of the monthly PDF (issue 16, item 1): the cohort of
the report's month, for the practice and per location. Counts and rates only, never a
patient's name: the PDF is emailed."""

import datetime as dt
import textwrap

from django.utils.translation import gettext as _
from matplotlib.figure import Figure

from metrics.funnel.selectors import DEFINITION, MIN_BASE, funnel, percent
from metrics.models import FunnelBy
from metrics.selectors import month_label

FIRST_COLUMN = 2.2  # inches for the row's name; the seven steps share the rest
MAX_GROUPS = 12


def funnel_page(month: dt.date, page=None) -> Figure | None:
    """`month`'s cohort by location, drawn on `page` (metrics.exports._Page), or None when
    the cohort has not been rolled up."""
    # Here, not at the top: metrics.exports imports this module.
    from metrics.exports import MARGIN, MUTED, PAGE, STATUS_COLOURS, _Page

    data = funnel(month, FunnelBy.LOCATION)
    if data["computed_at"] is None:
        return None
    page = page or _Page()
    drop_colour = STATUS_COLOURS["below"]
    title = _("Enrollment funnel - %(month)s") % {"month": month_label(month)}
    page.text(MARGIN, title, size=16, weight="bold", step=0.4)
    page.text(
        MARGIN,
        _("Patients first offered the portal in %(month)s, step by step.")
        % {"month": month_label(month)},
        colour=MUTED,
        step=0.35,
    )
    drop = data["biggest_drop"]
    if drop:
        page.text(
            MARGIN,
            _("Biggest drop: %(before)s → %(step)s, %(rate)s of %(base)s patients")
            % {
                "before": drop["after"],
                "step": drop["label"],
                "rate": percent(drop["conversion"]),
                "base": drop["base"],
            },
            size=11,
            weight="bold",
            colour=drop_colour,
            step=0.26,
        )
        for part in textwrap.wrap(drop["action"], 100):
            page.text(MARGIN + 0.2, part, size=9.5, step=0.19)
    elif data["practice"]["counts"]["offered"]:
        page.text(
            MARGIN,
            _("No step has a base of %(size)s or more patients yet.") % {"size": MIN_BASE},
        )
    else:
        page.text(MARGIN, _("Nobody was first offered the portal in this month."))
    page.y -= 0.25
    width = (PAGE[0] - 2 * MARGIN - FIRST_COLUMN) / len(data["steps"])
    columns = [MARGIN + FIRST_COLUMN + width * (index + 1) for index in range(len(data["steps"]))]
    top = page.y
    for x, step in zip(columns, data["steps"], strict=True):
        page.y = top
        for part in textwrap.wrap(step["label"], 13):
            page.text(x, part, size=7, colour=MUTED, step=0.15, ha="right")
    page.y = top - 0.5
    for row in [data["practice"], *data["groups"][:MAX_GROUPS]]:
        bold = "bold" if row["key"] == "practice" else "normal"
        top = page.y
        page.text(
            MARGIN, textwrap.shorten(row["label"], 32, placeholder="…"), size=8.5, weight=bold
        )
        for x, step in zip(columns, data["steps"], strict=True):
            page.y = top
            page.text(
                x, str(row["counts"][step["key"]]), size=8.5, weight=bold, step=0.15, ha="right"
            )
            if rate := percent(row["conversions"].get(step["key"])):
                colour = drop_colour if row["biggest_drop"] == step["key"] else MUTED
                page.text(x, rate, size=7, colour=colour, ha="right")
        page.y = top - 0.42
    if len(data["groups"]) > MAX_GROUPS:
        page.text(MARGIN, _("More locations on the Funnel page."), size=8, colour=MUTED)
    page.y -= 0.15
    for part in textwrap.wrap(str(DEFINITION), 120):
        page.text(MARGIN, part, size=7, colour=MUTED, step=0.15)
    return page.figure
