"""The electronic-access page of the monthly PDF: the year to date of the report's month.

Aggregates only, never a name: the PDF is emailed. The period is January 1
to the end of the report's month (or today, while it lasts), the same
counting as the page (metrics.electronic_access.selectors); the page itself takes a
full calendar year or 90 days, as CMS does.
"""

import datetime as dt
import textwrap

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from matplotlib.figure import Figure

from metrics.electronic_access.selectors import electronic_access
from portal_adoption.dates import month_end


def year_to_date(month: dt.date) -> tuple[dt.date, dt.date]:
    """January 1 of the month's year to the end of the month, or to today within it."""
    return month.replace(month=1, day=1), min(month_end(month), timezone.localdate())


def electronic_access_page(month: dt.date, page) -> Figure:
    """Draw the measure on `page` (metrics.exports._Page) and return its figure."""
    # Here, not at the top: metrics.exports imports this module.
    from metrics.exports import MARGIN, MUTED

    start, end = year_to_date(month)
    measure = electronic_access(start, max(start, end))
    page.text(MARGIN, _("Provide Patients Electronic Access (CMS)"), size=16, weight="bold")
    page.y -= 0.12
    page.text(
        MARGIN,
        _("Year to date: visits from %(start)s to %(end)s, whole practice")
        % {
            "start": formats.date_format(start, "DATE_FORMAT"),
            "end": formats.date_format(max(start, end), "DATE_FORMAT"),
        },
        size=10,
        colour=MUTED,
        step=0.4,
    )
    if measure.rate is None:
        page.text(MARGIN, _("No patient had a visit in this period: no rate."), size=12)
    else:
        page.text(
            MARGIN,
            _("%(rate)s given portal access in time") % {"rate": f"{measure.rate * 100:.1f}%"},
            size=20,
            weight="bold",
            step=0.45,
        )
        for line in (
            _("Patients seen (denominator): %(n)d") % {"n": measure.denominator},
            _("Given access in time (numerator): %(n)d") % {"n": measure.numerator},
            _("Not counted: %(n)d, of whom %(late)d can still be counted")
            % {"n": len(measure.not_counted), "late": measure.still_in_time},
        ):
            page.text(MARGIN + 0.3, line, size=11, step=0.28)
    page.y -= 0.2
    page.rule()
    definition = _(
        "The unique patients with a visit_completed event in the period; of them, those "
        "given portal access (portal_invited or portal_activated) no later than the end of "
        "the 4th business day after a visit in the period, on the practice's business "
        "calendar. Access already in place before the visit counts. The list of patients "
        "not counted is on the Electronic access (CMS) page, with a CSV to act on. This is "
        "the practice's own reading of the measure: the official CMS specification governs "
        "submission, over a full calendar year or 90 days."
    )
    for part in textwrap.wrap(definition, 105):
        page.text(MARGIN, part, size=9, colour=MUTED, step=0.19)
    return page.figure
