"""Managers' targets for the dashboard figures (metrics.md, "Month-over-month and targets").

A figure without a stored target uses the default of metrics.md. Every write
validates first and refuses with a TargetError naming the field at fault
(the figure's key, or "figure" when the figure itself is unknown).
"""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.figures import BY_KEY, DEFAULT_TARGETS, FIGURES, HOURS, RATE
from metrics.models import Target

# The figures a manager can set a target for, in the dashboard's order.
TARGET_FIGURES = [figure.key for figure in FIGURES if figure.key in DEFAULT_TARGETS]
PLACES = Decimal("0.0001")
LARGEST = Decimal("999999")
SCORE_MAX = Decimal("5")


class TargetError(ValueError):
    """A target the dashboard cannot take; `field` names the form field at fault."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(message)


class TargetErrors(ValueError):
    """Every refusal of one save, so the page can show each beside its field."""

    def __init__(self, errors: list[TargetError]):
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


def _checked(figure: str, value) -> Decimal:
    if figure not in DEFAULT_TARGETS:
        raise TargetError(
            "figure",
            _("“%(figure)s” is not a figure with a target. These have one: %(figures)s.")
            % {"figure": figure, "figures": ", ".join(TARGET_FIGURES)},
        )
    label = BY_KEY[figure].label
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        raise TargetError(figure, _("%(figure)s: type a number.") % {"figure": label})
    if number < 0:
        raise TargetError(figure, _("%(figure)s: a target cannot be negative.") % {"figure": label})
    kind = BY_KEY[figure].kind
    if kind == RATE and number > 1:
        raise TargetError(
            figure,
            _("%(figure)s: a rate is a share between 0%% and 100%%.") % {"figure": label},
        )
    if figure == "satisfaction" and number > SCORE_MAX:
        raise TargetError(figure, _("%(figure)s: the score is out of 5.") % {"figure": label})
    if kind == HOURS and number == 0:
        raise TargetError(
            figure,
            _("%(figure)s: a response time target must be more than 0 hours.") % {"figure": label},
        )
    if number > LARGEST:
        raise TargetError(figure, _("%(figure)s: that is too large.") % {"figure": label})
    return number.quantize(PLACES)


def target_set(*, figure: str, value) -> Target:
    """Store a manager's target for one figure (a rate as a fraction: 0.7 is 70%)."""
    number = _checked(figure, value)
    target, _created = Target.objects.update_or_create(
        figure=figure, defaults={"value": number, "updated_at": timezone.now()}
    )
    return target


def target_reset(*, figure: str) -> bool:
    """Back to the default of metrics.md; True if a stored target was removed."""
    if figure not in DEFAULT_TARGETS:
        _checked(figure, 0)  # raises, naming the figure
    deleted, _rows = Target.objects.filter(figure=figure).delete()
    return bool(deleted)


def targets_update(*, values: dict[str, Decimal | None]) -> list[str]:
    """Several targets at once, all or none; None means "use the default".

    Returns the figures whose target changed. Checks every value before
    writing any, so a refusal (TargetErrors, one per field at fault) leaves
    all targets as they were.
    """
    checked, errors = {}, []
    for figure, value in values.items():
        try:
            checked[figure] = None if value is None else _checked(figure, value)
        except TargetError as error:
            errors.append(error)
    if errors:
        raise TargetErrors(errors)
    stored = dict(Target.objects.values_list("figure", "value"))
    changed = []
    with transaction.atomic():
        for figure, number in checked.items():
            before = stored.get(figure)
            if number is None:
                if before is not None and target_reset(figure=figure):
                    changed.append(figure)
            elif before is None and number == DEFAULT_TARGETS[figure]:
                continue  # the default, kept as the default: nothing to store
            elif before != number:
                target_set(figure=figure, value=number)
                changed.append(figure)
    return changed
