"""Reads for the monthly dashboard (metrics.md): figures, change, targets, opportunities.

Everything here reads MonthlyRollup and Target rows only, never the event log:
the rollup has done the counting, so the page, the API, the CSV, the PDF and
the email all show the same numbers and the page answers fast.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.figures import (
    ACTIONS,
    ADOPTION,
    BY_KEY,
    COUNT,
    DEFAULT_TARGETS,
    ENGAGEMENT,
    FIGURE_KEYS,
    FIGURES,
    HOURS,
    IMPACT,
    MONEY,
    PERCENT_CHANGE,
    RATE,
    SCORE,
)
from metrics.models import MonthlyRollup, ScopeKind, Target
from patients.models import Location, Provider
from portal_adoption.dates import parse_month

MONTH_FORMAT = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
# A database id: ASCII digits (str.isdigit() takes "²", which int() refuses), within bigint.
ID_FORMAT = re.compile(r"[0-9]{1,18}")
CODE_MAX_LENGTH = Location._meta.get_field("code").max_length
TREND_MONTHS = 12
MAX_OPPORTUNITIES = 3
# "near" a target: within 10% of it (workflows: green / amber / red).
NEAR_FRACTION = Decimal("0.10")


class Status:
    GOOD = "good"
    NEAR = "near"
    BELOW = "below"


class ScopeError(ValueError):
    """A scope the dashboard cannot show; `field` names the parameter at fault."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(message)


@dataclass(frozen=True)
class Scope:
    kind: str
    id: int
    name: str

    @property
    def param(self) -> str:
        """The page's ?scope= value: practice, location:ID or provider:ID."""
        if self.kind == ScopeKind.PRACTICE:
            return ScopeKind.PRACTICE.value
        return f"{self.kind}:{self.id}"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id or None, "name": self.name}


# --- Months -----------------------------------------------------------------------


def month_parse(text: str, *, field: str = "month") -> date:
    """'2026-01' -> date(2026, 1, 1); ValueError naming `field` for anything else.

    Exactly YYYY-MM in ASCII digits, then the filter window of
    portal_adoption/dates.py (year 0001 or 9999 would overflow a month
    before or after it, on the page, in the API and in the exports).
    """
    if not isinstance(text, str) or not MONTH_FORMAT.fullmatch(text):
        text = ""  # parse_month says what is wrong, without repeating the value
    return parse_month(text, field=field)


def month_key(month: date) -> str:
    return f"{month:%Y-%m}"


def month_shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_previous(month: date) -> date:
    return month_shift(month, -1)


def month_in_progress(month: date) -> bool:
    """The month is not over yet (the practice's today is in it): its figures are to date."""
    return month.replace(day=1) == timezone.localdate().replace(day=1)


def month_label(month: date) -> str:
    """'January 2026', in the user's language."""
    return formats.date_format(month, "F Y")


def months_available() -> list[date]:
    """Months that have a practice rollup, newest first: the month picker's choices."""
    return list(
        MonthlyRollup.objects.filter(scope_kind=ScopeKind.PRACTICE)
        .order_by("-month")
        .values_list("month", flat=True)
        .distinct()
    )


# --- Scope ------------------------------------------------------------------------


def scope_resolve(*, location_id=None, provider_id=None) -> Scope:
    """The whole practice, one location or one provider; ScopeError names the bad parameter."""
    if location_id not in (None, "") and provider_id not in (None, ""):
        raise ScopeError("provider", _("Filter by a location or by a provider, not both."))
    if location_id not in (None, ""):
        return _scope_of(Location, ScopeKind.LOCATION, "location", location_id)
    if provider_id not in (None, ""):
        return _scope_of(Provider, ScopeKind.PROVIDER, "provider", provider_id)
    return Scope(ScopeKind.PRACTICE.value, 0, str(ScopeKind.PRACTICE.label))


def _scope_of(model, kind: ScopeKind, param: str, value) -> Scope:
    """By id (ASCII digits), or by the code the feed uses when the value is not a number.

    A value no code can be (a NUL byte, a lone surrogate, a control character,
    longer than a code) is not looked up: the database would refuse it with
    an error, not an empty answer. Nor is it repeated in the message.
    """
    text = str(value).strip()
    found = None
    if ID_FORMAT.fullmatch(text):
        found = model.objects.filter(pk=int(text)).first()
    elif _could_be_code(text):
        found = model.objects.filter(code=text).first()
    if found is None:
        if _could_be_code(text):
            message = _("No %(param)s with the id or code “%(value)s”.") % {
                "param": param,
                "value": text,
            }
        else:
            message = _("No %(param)s has that id or code.") % {"param": param}
        raise ScopeError(param, message)
    return Scope(kind.value, found.pk, found.name)


def _could_be_code(text: str) -> bool:
    return 0 < len(text) <= CODE_MAX_LENGTH and text.isprintable()


def scope_choices() -> list:
    """The scope filter's options: the practice, then each location and each provider."""
    return [
        (ScopeKind.PRACTICE.value, ScopeKind.PRACTICE.label),
        (
            _("Locations"),
            [(f"location:{pk}", name) for pk, name in Location.objects.values_list("pk", "name")],
        ),
        (
            _("Providers"),
            [(f"provider:{pk}", name) for pk, name in Provider.objects.values_list("pk", "name")],
        ),
    ]


def scope_from_param(text: str | None) -> Scope:
    """The page's ?scope=practice|location:ID|provider:ID."""
    text = (text or "").strip()
    if text in ("", ScopeKind.PRACTICE.value):
        return scope_resolve()
    kind, _sep, pk = text.partition(":")
    if kind == ScopeKind.LOCATION and ID_FORMAT.fullmatch(pk):
        return scope_resolve(location_id=pk)
    if kind == ScopeKind.PROVIDER and ID_FORMAT.fullmatch(pk):
        return scope_resolve(provider_id=pk)
    raise ScopeError("scope", _("Choose the whole practice, a location or a provider."))


# --- Figures and targets ----------------------------------------------------------


def figures_normalized(stored: dict | None) -> dict:
    """Every figure key, in order, null where the rollup has none; money as a decimal string."""
    stored = stored or {}
    figures = {}
    for key in FIGURE_KEYS:
        value = stored.get(key)
        if value is not None and BY_KEY[key].kind == MONEY and not isinstance(value, str):
            value = str(Decimal(str(value)).quantize(Decimal("0.01")))
        figures[key] = value
    return figures


def rollups_for(months: list[date], scope: Scope) -> dict[date, MonthlyRollup]:
    rows = MonthlyRollup.objects.filter(month__in=months, scope_kind=scope.kind, scope_id=scope.id)
    return {row.month: row for row in rows}


def targets() -> dict[str, Decimal]:
    """The targets in force: the defaults of metrics.md, overridden by the managers' settings."""
    merged = dict(DEFAULT_TARGETS)
    merged.update(dict(Target.objects.values_list("figure", "value")))
    return {key: merged[key] for key in FIGURE_KEYS if key in merged}


def _number(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def change(figure: str, current, previous) -> float | None:
    """Month-over-month change (metrics.md): rates in percentage points, counts and money
    in percent, hours and scores as a plain difference. None when either side is missing,
    or when a percent change would divide by zero."""
    kind = BY_KEY[figure].kind
    now, before = _number(current), _number(previous)
    if now is None or before is None or kind == PERCENT_CHANGE:
        return None
    if kind == RATE:
        return float((now - before) * 100)
    if kind in (COUNT, MONEY):
        if before == 0:
            return None
        return float((now - before) / before * 100)
    return float(now - before)


def change_unit(figure: str) -> str | None:
    """What a change of this figure is measured in: pts, percent, hours or points of a score."""
    kind = BY_KEY[figure].kind
    return {RATE: "pts", COUNT: "percent", MONEY: "percent", HOURS: "hours", SCORE: "score"}.get(
        kind
    )


def status(figure: str, value, target) -> str | None:
    """good (at or beyond the target), near (within 10% of it), below; None without data."""
    value, target = _number(value), _number(target)
    if value is None or target is None:
        return None
    if BY_KEY[figure].higher_is_better:
        if value >= target:
            return Status.GOOD
        return Status.NEAR if value >= target * (1 - NEAR_FRACTION) else Status.BELOW
    if value <= target:
        return Status.GOOD
    return Status.NEAR if value <= target * (1 + NEAR_FRACTION) else Status.BELOW


def shortfall(figure: str, value, target) -> float | None:
    """How far a figure is below its target, relative to the target; None when it is not."""
    value, target = _number(value), _number(target)
    if value is None or target is None or target <= 0:
        return None
    gap = (target - value) if BY_KEY[figure].higher_is_better else (value - target)
    return float(gap / target) if gap > 0 else None


def opportunities(figures: dict, target_values: dict) -> list[dict]:
    """Up to three figures furthest below their target (largest shortfall relative to
    the target), each with its value and one action from the playbook."""
    gaps = []
    for position, (key, target) in enumerate(target_values.items()):
        gap = shortfall(key, figures.get(key), target)
        if gap is not None:
            gaps.append((-gap, position, key, gap))
    gaps.sort()
    return [
        {
            "figure": key,
            "label": str(BY_KEY[key].label),
            "value": figures[key],
            "target": float(target_values[key]),
            "shortfall": round(gap, 4),
            "action": str(ACTIONS.get(key, "")),
        }
        for _neg, _pos, key, gap in gaps[:MAX_OPPORTUNITIES]
    ]


def dashboard(month: date, *, location_id=None, provider_id=None) -> dict:
    """The dashboard of one month for the practice, a location or a provider, as the
    API answers it (architecture.md). ScopeError for an unknown or double scope."""
    scope = scope_resolve(location_id=location_id, provider_id=provider_id)
    return dashboard_for(month, scope)


def dashboard_for(month: date, scope: Scope) -> dict:
    month = month.replace(day=1)
    before = month_previous(month)
    rows = rollups_for([month, before], scope)
    figures = figures_normalized(rows[month].figures if month in rows else None)
    target_values = targets()
    return {
        "month": month_key(month),
        "scope": scope.as_dict(),
        "figures": figures,
        "previous": figures_normalized(rows[before].figures if before in rows else None),
        "targets": {key: float(value) for key, value in target_values.items()},
        "opportunities": opportunities(figures, target_values),
    }


def rollup_computed_at(month: date, scope: Scope):
    """When the month's rollup for this scope was computed, or None if it was not."""
    return (
        MonthlyRollup.objects.filter(month=month, scope_kind=scope.kind, scope_id=scope.id)
        .values_list("computed_at", flat=True)
        .first()
    )


def trends(
    figures: list[str], months: int = TREND_MONTHS, *, month: date, scope: Scope | None = None
) -> dict[str, list[tuple[date, object]]]:
    """Each figure over the `months` months ending with `month` (one query for all);
    None where a month has no data."""
    unknown = [figure for figure in figures if figure not in BY_KEY]
    if unknown:
        raise KeyError(unknown[0])
    scope = scope or scope_resolve()
    first = month_shift(month.replace(day=1), -(months - 1))
    wanted = [month_shift(first, i) for i in range(months)]
    rows = {
        row_month: figures_normalized(stored)
        for row_month, stored in MonthlyRollup.objects.filter(
            month__in=wanted, scope_kind=scope.kind, scope_id=scope.id
        ).values_list("month", "figures")
    }
    empty = figures_normalized(None)
    return {figure: [(m, rows.get(m, empty)[figure]) for m in wanted] for figure in figures}


def trend(
    figure: str, months: int = TREND_MONTHS, *, month: date, scope: Scope | None = None
) -> list[tuple[date, object]]:
    """One figure over the `months` months ending with `month`; None where there is no data."""
    return trends([figure], months, month=month, scope=scope)[figure]


def targets_custom() -> set[str]:
    """The figures whose target a manager has set (the others use the defaults)."""
    return set(Target.objects.values_list("figure", flat=True))


# --- Presentation: the same words on the page, in the PDF and in the email ---------

SECTIONS = [
    (ADOPTION, gettext_lazy("Adoption")),
    (ENGAGEMENT, gettext_lazy("Engagement")),
    (IMPACT, gettext_lazy("Impact")),
]


@dataclass(frozen=True)
class Headline:
    """One line of the worked example: a figure, the figures shown beside it, and the
    figure whose target the line is judged by (the share, for a count with a share)."""

    key: str
    details: tuple[str, ...] = ()
    judged_by: str | None = None

    @property
    def chart(self) -> str:
        return self.judged_by or self.key


# The worked example of metrics.md, line by line.
HEADLINES = {
    ADOPTION: [
        Headline("enrollment_rate", ("enrolled",)),
        Headline("active_user_rate", ("active_users",)),
        Headline("new_enrollments"),
        Headline("app_install_rate"),
        Headline("multi_feature_share", ("multi_feature_users",)),
    ],
    ENGAGEMENT: [
        Headline("messages_sent", ("messages_received",)),
        Headline("appointments_self_scheduled", ("self_scheduled_share",), "self_scheduled_share"),
        # The playbook's second opportunity: "promote self-scheduling of annual exams".
        Headline("annual_exam_self_scheduled_share"),
        Headline("results_viewed", ("same_day_view_share",), "same_day_view_share"),
        Headline("portal_payments", ("portal_payment_share",)),
    ],
    IMPACT: [
        Headline("phone_calls"),
        # One response time (metrics.md): "answered by phone" is counted beside it.
        Headline("avg_response_hours", ("median_response_hours", "responses_by_phone")),
        # The playbook's third opportunity: "improve evening/weekend message response".
        Headline("after_hours_avg_response_hours", ("after_hours_median_response_hours",)),
        Headline("satisfaction"),
    ],
}
CHART_FIGURES = [h.chart for section in HEADLINES.values() for h in section]


def _rounded(number: float, places: int = 0) -> str:
    return formats.number_format(round(number, places), places, use_l10n=True, force_grouping=True)


def value_display(figure: str, value) -> str:
    """A figure as a person reads it: 68%, 1,234, $23,450, 4.2 hours, 4.7 / 5.0."""
    number = _number(value)
    if number is None:
        return _("no data")
    kind = BY_KEY[figure].kind
    if kind == RATE:
        return _("%(value)s%%") % {"value": _rounded(float(number) * 100)}
    if kind == COUNT:
        return _rounded(float(number))
    if kind == MONEY:
        symbol = getattr(settings, "PRACTICE_CURRENCY_SYMBOL", "$")
        return f"{symbol}{_rounded(float(number))}"
    if kind == HOURS:
        return _("%(value)s hours") % {"value": _rounded(float(number), 1)}
    if kind == PERCENT_CHANGE:
        return _signed(float(number), "percent")
    if figure == "satisfaction":
        return _("%(value)s / 5.0") % {"value": _rounded(float(number), 1)}
    return _rounded(float(number), 1)


def _signed(number: float, unit: str) -> str:
    """+3 pts, -12%, +0.4 pts: whole numbers, unless that would hide a small change."""
    places = 1 if (unit in ("hours", "score") or abs(round(number)) < 1) else 0
    if round(number, places) == 0:
        places, number = 0, 0.0
    text = _rounded(abs(number), places)
    sign = "+" if number > 0 else ("-" if number < 0 else "±")
    if unit == "pts":
        return _("%(sign)s%(value)s pts") % {"sign": sign, "value": text}
    if unit == "percent":
        return _("%(sign)s%(value)s%%") % {"sign": sign, "value": text}
    if unit == "hours":
        return _("%(sign)s%(value)s h") % {"sign": sign, "value": text}
    return f"{sign}{text}"


def change_display(figure: str, amount: float | None) -> str | None:
    if amount is None:
        return None
    return _signed(amount, change_unit(figure))


def change_direction(figure: str, amount: float | None) -> str | None:
    """better / worse / same, whichever way the figure should go."""
    if amount is None:
        return None
    if round(amount, 1) == 0:
        return "same"
    up_is_good = BY_KEY[figure].higher_is_better
    return "better" if (amount > 0) == up_is_good else "worse"


STATUS_LABELS = {
    Status.GOOD: gettext_lazy("on target"),
    Status.NEAR: gettext_lazy("near target"),
    Status.BELOW: gettext_lazy("below target"),
}


def _line(figure: str, data: dict, target_values: dict) -> dict:
    current, previous = data["figures"][figure], data["previous"][figure]
    amount = change(figure, current, previous)
    stored_change = data["figures"]["phone_calls_change"]
    if figure == "phone_calls" and amount is None and stored_change is not None:
        # Last month's rollup is missing here, but this month's knows the change.
        amount = float(stored_change)
    target = target_values.get(figure)
    state = status(figure, current, target)
    return {
        "key": figure,
        "label": str(BY_KEY[figure].label),
        "value": current,
        "display": value_display(figure, current),
        "previous_display": value_display(figure, previous),
        "change": amount,
        "change_display": change_display(figure, amount),
        "direction": change_direction(figure, amount),
        "arrow": None
        if amount is None or round(amount, 1) == 0
        else ("up" if amount > 0 else "down"),
        "target": target,
        "target_display": value_display(figure, target) if target is not None else None,
        "status": state,
        "status_label": str(STATUS_LABELS[state]) if state else None,
    }


def _detail_text(headline: Headline, data: dict) -> str | None:
    """The words beside a headline figure, as in the worked example; figures without
    data are left out."""
    texts = {
        "enrolled": _("%(value)s patients enrolled"),
        "active_users": _("%(value)s active users"),
        "multi_feature_users": _("%(value)s patients using two or more features"),
        "messages_received": _("%(value)s received"),
        "self_scheduled_share": _("%(value)s of all appointments"),
        "same_day_view_share": _("%(value)s viewed the same day"),
        "portal_payment_share": _("%(value)s of collections"),
        "median_response_hours": _("median %(value)s"),
        "responses_by_phone": _("%(value)s answered by phone"),
        "after_hours_median_response_hours": _("median %(value)s"),
    }
    parts = [
        texts[detail] % {"value": value_display(detail, data["figures"][detail])}
        for detail in headline.details
        if data["figures"][detail] is not None
    ]
    return " · ".join(parts) or None


def dashboard_sections(data: dict) -> list[dict]:
    """The dashboard laid out like the worked example: per section, the headline lines,
    each with its change against last month and its target; and every figure of the
    section with the same, for the full table."""
    target_values = {key: Decimal(str(value)) for key, value in data["targets"].items()}
    sections = []
    for section, title in SECTIONS:
        headlines = []
        for headline in HEADLINES[section]:
            line = _line(headline.key, data, target_values)
            judged = _line(headline.judged_by, data, target_values) if headline.judged_by else line
            headlines.append(
                {
                    **line,
                    "detail": _detail_text(headline, data),
                    "judged": judged,
                    "chart": headline.chart,
                }
            )
        rows = [_line(f.key, data, target_values) for f in FIGURES if f.section == section]
        sections.append({"key": section, "title": str(title), "headlines": headlines, "rows": rows})
    return sections


def opportunity_lines(data: dict) -> list[dict]:
    return [
        {
            **item,
            "display": value_display(item["figure"], item["value"]),
            "target_display": value_display(item["figure"], item["target"]),
        }
        for item in data["opportunities"]
    ]
