"""Equity gaps (issue 16, item 2): who is left behind, and what to do about it.

The enrollment rate and the active user rate of metrics.md, by preferred
language, by age band and by location, for one month, beside the practice's.

- The practice's figures are the dashboard's: the month's practice rollup
  (MonthlyRollup), never counted again here.
- Locations are the rollup's location rows (the patient's current location,
  as on the dashboard).
- Languages and age bands are not in the rollup: one query over the roster
  (Patient joined to PatientFirsts, with the month's logins as a semi-join),
  grouped by (preferred_language, age band), counts them with the very
  filters the rollup counts with (metrics.compute.adoption_filters). It is
  bounded by the roster, never by the event log, and nothing is looped over
  per patient in Python.
- A group's size is the rate's denominator: the panel for the enrollment rate,
  the enrolled for the active user rate. A group of fewer than MIN_GROUP
  patients is shown as "fewer than 30": no rate, no count, nothing from which
  its rate can be worked out. Group sizes and counts are never shown at all
  (a count beside the practice's total would give away the small groups by
  subtraction), and rates are rounded to a tenth of a point.
- A group of at least MIN_GROUP patients is flagged when its rate is more
  than GAP below the practice's: exactly 10 points below is not flagged.
  The comparison is exact (fractions of counts), never in floating point.
- Age is the age on the month's last day, from `birth_date`; patients under
  18 are in no age band (they are in their language and location groups).
- Each flagged group gets the playbook's remedy for it (REMEDIES, below, the
  one place they are kept).

No patient is named here: the page, the API and the definitions show
aggregates only, so nothing is written to the access log.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Case, CharField, Count, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.compute import adoption_filters
from metrics.models import MonthlyRollup, ScopeKind
from patients.languages import FALLBACK_LANGUAGE, patient_language
from patients.models import Location, Patient
from portal_adoption.dates import next_month
from portal_adoption.display import language_name

MIN_GROUP = 30
GAP = Fraction(10, 100)
ROUND_RATE = 3  # a tenth of a point

LANGUAGE = "language"
AGE = "age"
LOCATION = "location"
DIMENSIONS = (
    (LANGUAGE, gettext_lazy("Preferred language")),
    (AGE, gettext_lazy("Age band")),
    (LOCATION, gettext_lazy("Location")),
)

# The two rates: (figure, numerator, denominator), the counts of the rollup.
RATES = (
    ("enrollment_rate", "enrolled", "panel"),
    ("active_user_rate", "active_users", "enrolled"),
)
RATE_LABELS = {
    "enrollment_rate": gettext_lazy("Enrollment rate"),
    "active_user_rate": gettext_lazy("Active user rate"),
}

# (key, youngest, oldest or None): age on the month's last day.
AGE_BANDS = (
    ("18-34", 18, 34),
    ("35-49", 35, 49),
    ("50-64", 50, 64),
    ("65-79", 65, 79),
    ("80+", 80, None),
)
OLDER_BANDS = ("65-79", "80+")
YOUNGEST_BAND = "18-34"


@dataclass
class Counts:
    panel: int = 0
    enrolled: int = 0
    active_users: int = 0

    def add(self, other: Counts) -> None:
        self.panel += other.panel
        self.enrolled += other.enrolled
        self.active_users += other.active_users


@dataclass(frozen=True)
class Group:
    dimension: str
    key: str
    label: str
    counts: Counts


# --- Remedies: the playbook's answer for each kind of group --------------------------


def remedy(dimension: str, key: str, figure: str, label: str) -> str:
    """The playbook's remedy for a flagged group (workflows.md, metrics.md)."""
    if dimension == LANGUAGE:
        has_texts = patient_language(key) != FALLBACK_LANGUAGE or key.split("-")[0].lower() == "en"
        if not has_texts:
            return _(
                "The portal's scripts and texts are not yet translated into %(language)s: "
                "offer an interpreter at check-in, and ask for the check-in script, the "
                "reference card and the reminders in %(language)s."
            ) % {"language": label}
        if figure == "enrollment_rate":
            return _(
                "Offer enrollment at check-in with the script in %(language)s, and hand over "
                "the quick reference card in %(language)s."
            ) % {"language": label}
        return _(
            "Send the login reminders and the monthly feature messages in %(language)s, "
            "and show one key feature (messaging or scheduling) in %(language)s at the desk."
        ) % {"language": label}
    if dimension == AGE:
        if key in OLDER_BANDS:
            return _(
                "Offer one-to-one help at check-in, or a seat at the weekly tech-help session, "
                "and help with the first login while the patient is there."
            )
        if key == YOUNGEST_BAND:
            return _(
                "Help install the mobile app during enrollment, switch notifications to text "
                "messages (SMS), and send the app link to enrolled patients without it."
            )
        return _(
            "Offer enrollment at every check-in with the desk checklist, leading with the "
            "benefit that fits: results the same day, messages at 10 pm, booking at midnight."
        )
    if figure == "enrollment_rate":
        return _(
            "Coach the front desk at %(location)s on the enrollment checklist: offer at every "
            "check-in, send the invitation while the patient is there, and help with the "
            "first login."
        ) % {"location": label}
    return _(
        "Coach the front desk at %(location)s to show one key feature at enrollment, and work "
        "the follow-up list of patients who have not logged in within a week."
    ) % {"location": label}


# --- Counting -----------------------------------------------------------------------


def month_last_day(month: dt.date) -> dt.date:
    return next_month(month.replace(day=1)) - dt.timedelta(days=1)


def born_by(day: dt.date, years: int) -> dt.date:
    """The latest birth date of someone at least `years` old on `day`.

    Age as people count it: one more on each birthday. Someone born on 29
    February is a year older on 1 March in a year without one.
    """
    year = day.year - years
    return dt.date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


def age_band(birth_date: dt.date, day: dt.date) -> str:
    """The age band of someone born on `birth_date`, on `day` ("" under 18)."""
    for key, youngest, _oldest in reversed(AGE_BANDS):
        if birth_date <= born_by(day, youngest):
            return key
    return ""


def _age_band_expression(day: dt.date) -> Case:
    # Oldest first: the first band whose youngest age the patient has reached.
    return Case(
        *[
            When(birth_date__lte=born_by(day, youngest), then=Value(key))
            for key, youngest, _oldest in reversed(AGE_BANDS)
        ],
        default=Value(""),
        output_field=CharField(),
    )


def roster_counts(month: dt.date) -> dict[tuple[str, str], Counts]:
    """Panel, enrolled and active users per (language, age band): one query."""
    month = month.replace(day=1)
    filters = adoption_filters(month)
    rows = (
        Patient.objects.filter(filters.panel)
        .annotate(band=_age_band_expression(month_last_day(month)))
        .values("preferred_language", "band")
        .annotate(
            panel=Count("pk"),
            enrolled=Count("pk", filter=filters.enrolled),
            active_users=Count("pk", filter=filters.active),
        )
        .order_by()
    )
    return {
        (row["preferred_language"], row["band"]): Counts(
            row["panel"], row["enrolled"], row["active_users"]
        )
        for row in rows
    }


def _counts_of(figures: dict | None) -> Counts:
    figures = figures or {}
    return Counts(
        figures.get("panel") or 0, figures.get("enrolled") or 0, figures.get("active_users") or 0
    )


def month_groups(month: dt.date) -> list[Group]:
    """Every group of the month: languages, age bands (18 and over), locations."""
    month = month.replace(day=1)
    by_language: dict[str, Counts] = {}
    by_band: dict[str, Counts] = {key: Counts() for key, _y, _o in AGE_BANDS}
    for (language, band), counts in roster_counts(month).items():
        by_language.setdefault(language, Counts()).add(counts)
        if band:
            by_band[band].add(counts)
    groups = [
        Group(LANGUAGE, key, language_name(key), counts)
        for key, counts in sorted(by_language.items())
    ]
    groups += [Group(AGE, key, band_label(key), counts) for key, counts in by_band.items()]
    stored = dict(
        MonthlyRollup.objects.filter(month=month, scope_kind=ScopeKind.LOCATION).values_list(
            "scope_id", "figures"
        )
    )
    groups += [
        Group(LOCATION, str(pk), name, _counts_of(stored[pk]))
        for pk, name in Location.objects.order_by("name", "pk").values_list("pk", "name")
        if pk in stored
    ]
    return groups


def band_label(key: str) -> str:
    for band, youngest, oldest in AGE_BANDS:
        if band == key:
            if oldest is None:
                return _("%(youngest)s and older") % {"youngest": youngest}
            return _("%(youngest)s to %(oldest)s") % {"youngest": youngest, "oldest": oldest}
    return key


# --- Judging ------------------------------------------------------------------------


def _fraction(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def judged(group: Group, practice: Counts) -> dict:
    """One group's two rates: shown or "fewer than 30", the gap, the flag, the remedy."""
    rates = {}
    for figure, numerator, denominator in RATES:
        size = getattr(group.counts, denominator)
        if size < MIN_GROUP:
            rates[figure] = {
                "fewer_than_30": True,
                "rate": None,
                "gap_points": None,
                "flagged": False,
                "remedy": None,
            }
            continue
        rate = _fraction(getattr(group.counts, numerator), size)
        overall = _fraction(getattr(practice, numerator), getattr(practice, denominator))
        gap = overall - rate if overall is not None else None
        flagged = gap is not None and gap > GAP
        rates[figure] = {
            "fewer_than_30": False,
            "rate": round(float(rate), ROUND_RATE),
            "gap_points": round(float(gap * 100), 1) if gap is not None else None,
            "flagged": flagged,
            "remedy": remedy(group.dimension, group.key, figure, group.label) if flagged else None,
        }
    return {"dimension": group.dimension, "key": group.key, "label": group.label, **rates}


def equity_gaps(month: dt.date) -> dict | None:
    """The month's equity gaps, as the page and the API show them. Without a practice
    rollup for the month (the dashboard has no figures for it either): no groups,
    `computed_at` and the practice's rates null."""
    month = month.replace(day=1)
    practice_row = (
        MonthlyRollup.objects.filter(month=month, scope_kind=ScopeKind.PRACTICE, scope_id=0)
        .values_list("figures", "computed_at")
        .first()
    )
    figures, computed_at = practice_row or ({}, None)
    groups = []
    if practice_row is not None:
        practice = _counts_of(figures)
        groups = [judged(group, practice) for group in month_groups(month)]
    return {
        "month": f"{month:%Y-%m}",
        "computed_at": computed_at,
        "practice": {
            "enrollment_rate": figures.get("enrollment_rate"),
            "active_user_rate": figures.get("active_user_rate"),
        },
        "min_group": MIN_GROUP,
        "gap_points": float(GAP * 100),
        "groups": groups,
    }


def flagged_lines(report: dict) -> list[dict]:
    """Every flagged (group, rate), for the page's list of remedies."""
    lines = []
    for group in report["groups"]:
        for figure, _numerator, _denominator in RATES:
            if group[figure]["flagged"]:
                lines.append(
                    {
                        "group": group,
                        "figure": figure,
                        "figure_label": str(RATE_LABELS[figure]),
                        **group[figure],
                    }
                )
    return lines
