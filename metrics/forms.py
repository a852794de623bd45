"""Forms for the dashboard: the month and scope filter, and the targets.

They check the shape of what was sent; what a target may be (a rate up to
100%, nothing negative) is decided by target_services, which names the field.
"""

import contextlib
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from metrics.figures import BY_KEY, DEFAULT_TARGETS, HOURS, RATE
from metrics.selectors import (
    ScopeError,
    month_key,
    month_label,
    month_parse,
    scope_choices,
    scope_from_param,
)
from metrics.target_services import TARGET_FIGURES

HUNDRED = Decimal(100)


class DashboardFilterForm(forms.Form):
    """?month=YYYY-MM&scope=practice|location:ID|provider:ID; both optional."""

    month = forms.CharField(label=_("Month"), required=False)
    scope = forms.CharField(label=_("Show"), required=False)

    def __init__(self, *args, months=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(month_key(m), month_label(m)) for m in months]
        asked = (self.data.get("month") or "").strip()
        if asked and asked not in {value for value, _label in choices}:
            with contextlib.suppress(ValueError):  # the field's clean says what is wrong
                choices.insert(0, (asked, month_label(month_parse(asked))))
        self.fields["month"].widget = forms.Select(choices=choices, attrs={"class": "form-select"})
        self.fields["scope"].widget = forms.Select(
            choices=scope_choices(), attrs={"class": "form-select"}
        )

    def clean_month(self):
        text = (self.cleaned_data.get("month") or "").strip()
        if not text:
            return None
        try:
            return month_parse(text)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error

    def clean_scope(self):
        try:
            return scope_from_param(self.cleaned_data.get("scope"))
        except ScopeError as error:
            raise forms.ValidationError(str(error)) from error


def shown(figure: str, value: Decimal) -> Decimal:
    """A stored target as a manager types it: a rate in percent."""
    number = value * HUNDRED if BY_KEY[figure].kind == RATE else value
    if number == number.to_integral():
        return number.quantize(Decimal(1))
    return number.quantize(Decimal("0.01")).normalize()


def unit(figure: str) -> str:
    kind = BY_KEY[figure].kind
    if kind == RATE:
        return "%"
    if kind == HOURS:
        return str(_("hours"))
    if figure == "satisfaction":
        return "/ 5"
    return ""


def with_unit(figure: str, number: Decimal) -> str:
    suffix = unit(figure)
    return f"{number}{suffix}" if suffix == "%" else f"{number} {suffix}".strip()


class TargetsForm(forms.Form):
    """One box per figure with a target; an empty box means the default of metrics.md."""

    def __init__(self, *args, current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for key in TARGET_FIGURES:
            figure = BY_KEY[key]
            field = forms.DecimalField(
                label=figure.label,
                required=False,
                max_digits=12,
                decimal_places=4,
                initial=shown(key, current[key]),
                widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
                help_text=_("Default: %(value)s")
                % {"value": with_unit(key, shown(key, DEFAULT_TARGETS[key]))},
                error_messages={"invalid": _("Type a number, e.g. 70.")},
            )
            field.unit = unit(key)
            field.figure = key
            field.lower_is_better = not figure.higher_is_better
            self.fields[key] = field

    def targets(self) -> dict[str, Decimal | None]:
        """The values in the dashboard's units (a rate as a fraction); None = the default."""
        values = {}
        for key in TARGET_FIGURES:
            value = self.cleaned_data.get(key)
            if value is not None and BY_KEY[key].kind == RATE:
                value = value / HUNDRED
            values[key] = value
        return values
