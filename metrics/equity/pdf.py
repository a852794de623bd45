"""The equity-gaps pages of the monthly PDF (the whole practice only).

Rates only, never a count or a name: the PDF is emailed, and a small group's
size could identify people (metrics.equity.selectors).
"""

import textwrap
from datetime import date

from django.utils.translation import gettext as _
from matplotlib.figure import Figure

from metrics.equity.selectors import DIMENSIONS as EQUITY_DIMENSIONS
from metrics.equity.selectors import RATE_LABELS, RATES, equity_gaps, flagged_lines
from metrics.selectors import month_label, value_display


def equity_pages(month: date) -> list[Figure]:
    """Equity gaps: the groups left behind with their remedies, then every group's
    rates; a group of fewer than 30 patients is "fewer than 30", never a rate."""
    # Here, not at the top: metrics.exports imports this module.
    from metrics.exports import DARK, MARGIN, MUTED, PAGE, STATUS_COLOURS, _Page

    report = equity_gaps(month)
    if report["computed_at"] is None:
        return []
    pages = [_Page()]

    def room(height: float) -> _Page:
        if pages[-1].y - height < MARGIN:
            pages.append(_Page())
        return pages[-1]

    page = pages[0]
    page.text(
        MARGIN,
        _("Equity gaps - %(month)s") % {"month": month_label(month)},
        size=16,
        weight="bold",
        step=0.36,
    )
    practice = [value_display(figure, report["practice"][figure]) for figure, _n, _d in RATES]
    page.text(
        MARGIN,
        _("Practice: enrollment rate %(enrollment)s, active user rate %(active)s")
        % {"enrollment": practice[0], "active": practice[1]},
        size=10,
        step=0.26,
    )
    note = _(
        "Groups of %(size)s or more patients more than 10 points below the practice are "
        "flagged. A group of fewer than %(size)s patients is shown as “fewer than %(size)s”, "
        "never as a rate."
    ) % {"size": report["min_group"]}
    for part in textwrap.wrap(note, 110):
        page.text(MARGIN, part, size=8.5, colour=MUTED, step=0.17)
    page.y -= 0.1
    page.text(MARGIN, _("Groups left behind"), size=12, weight="bold", step=0.28)
    lines = flagged_lines(report)
    if not lines:
        page.text(MARGIN + 0.3, _("No group is more than 10 points below the practice."))
    for line in lines:
        wrapped = textwrap.wrap(line["remedy"], 100)
        page = room(0.22 + 0.18 * len(wrapped))
        page.text(
            MARGIN + 0.05,
            _("%(group)s: %(figure)s %(points)s pts below the practice")
            % {
                "group": line["group"]["label"],
                "figure": line["figure_label"],
                "points": line["gap_points"],
            },
            size=10,
            weight="bold",
            step=0.2,
        )
        for part in wrapped:
            page.text(MARGIN + 0.3, part, size=9, step=0.18)
        page.y -= 0.06
    columns = (MARGIN, 4.0, 5.8)
    fewer = _("fewer than %(size)s") % {"size": report["min_group"]}
    for dimension, title in EQUITY_DIMENSIONS:
        page = room(0.9)
        page.y -= 0.08
        page.text(MARGIN, str(title), size=11.5, weight="bold", step=0.26)
        headings = (_("Group"), *(str(RATE_LABELS[figure]) for figure, _n, _d in RATES))
        for x, heading in zip(columns, headings, strict=True):
            page.figure.text(
                x / PAGE[0], page.y / PAGE[1], heading, fontsize=7.5, color=MUTED, va="top"
            )
        page.y -= 0.2
        for group in report["groups"]:
            if group["dimension"] != dimension:
                continue
            page = room(0.21)
            cells = [(group["label"], False)]
            for figure, _n, _d in RATES:
                rate = group[figure]
                if rate["fewer_than_30"]:
                    cells.append((fewer, False))
                elif rate["flagged"]:
                    text = _("%(rate)s (%(points)s pts below)") % {
                        "rate": value_display(figure, rate["rate"]),
                        "points": rate["gap_points"],
                    }
                    cells.append((text, True))
                else:
                    cells.append((value_display(figure, rate["rate"]), False))
            for x, (cell, flagged) in zip(columns, cells, strict=True):
                colour = STATUS_COLOURS["below"] if flagged else DARK
                page.figure.text(
                    x / PAGE[0], page.y / PAGE[1], cell, fontsize=8.5, color=colour, va="top"
                )
            page.y -= 0.205
    return [each.figure for each in pages]
