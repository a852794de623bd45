"""Managers' settings for the triage queue: routing rules, red flags, reply templates,
business hours and practice closures.

Every write validates first and refuses with a SettingsError naming the form
field at fault, so the page can show the message beside it. Changes apply to
messages that arrive afterwards: a stored message keeps its category, flags
and due times.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

import holidays
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from messaging.models import (
    QUEUE_FOR_CATEGORY,
    Category,
    Queue,
    RedFlag,
    ReplyTemplate,
    RoutingRule,
    RoutingSettings,
)
from messaging.triage import classify, normalized, red_flags_in
from portal_adoption.models import BusinessHours, PracticeClosure, Weekday

PLACEHOLDERS = ("first_name", "practice_phone", "staff_name")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
PHRASE_MAX = 100
TEMPLATE_NAME_MAX = 100
CLOSURE_NAME_MAX = 100


class SettingsError(ValueError):
    """A setting the practice cannot take; `field` names the form field at fault."""

    def __init__(self, field_name: str | None, message: str):
        self.field = field_name
        super().__init__(message)


def _tidy(text: str) -> str:
    """Surrounding spaces dropped and inner runs of spaces made one."""
    return " ".join((text or "").split())


def _phrase(text: str, field_name: str = "phrase") -> str:
    phrase = _tidy(text)
    if not phrase:
        raise SettingsError(field_name, _("Type a word or phrase."))
    if not normalized(phrase).strip():
        raise SettingsError(field_name, _("A phrase needs at least one letter or digit."))
    if len(phrase) > PHRASE_MAX:
        raise SettingsError(
            field_name, _("Keep it to %(max)d characters or fewer.") % {"max": PHRASE_MAX}
        )
    return phrase


def _same_phrase(a: str, b: str) -> bool:
    # Matching ignores case, accents and punctuation, so duplicates are judged the same way.
    return normalized(a) == normalized(b)


# --- Routing rules ----------------------------------------------------------------


def routing_settings() -> RoutingSettings:
    return RoutingSettings.objects.get_or_create(pk=1)[0]


def routing_rule_add(*, category: str, phrase: str) -> RoutingRule:
    """A phrase that counts a message towards a category.

    A phrase may belong to one category only: the same phrase in two
    categories would only ever make a tie.
    """
    if category not in Category.values:
        raise SettingsError("category", _("Choose clinical, administrative or billing."))
    phrase = _phrase(phrase)
    for rule in RoutingRule.objects.all():
        if _same_phrase(rule.phrase, phrase):
            raise SettingsError(
                "phrase",
                _("“%(phrase)s” is a phrase for %(category)s already.")
                % {"phrase": rule.phrase, "category": rule.get_category_display()},
            )
    try:
        with transaction.atomic():
            return RoutingRule.objects.create(category=category, phrase=phrase)
    except IntegrityError as error:
        raise SettingsError(
            "phrase", _("“%(phrase)s” was added meanwhile.") % {"phrase": phrase}
        ) from error


def routing_rule_remove(*, rule: RoutingRule) -> None:
    rule.delete()


def routing_default_set(*, category: str) -> RoutingSettings:
    """Where a message goes when no phrase matches or categories tie."""
    if category not in Category.values:
        raise SettingsError("default_category", _("Choose clinical, administrative or billing."))
    routing = routing_settings()
    routing.default_category = category
    routing.save(update_fields=["default_category"])
    return routing


# --- Red flags --------------------------------------------------------------------


def red_flag_add(*, phrase: str, language: str) -> RedFlag:
    if language not in dict(settings.LANGUAGES):
        raise SettingsError("language", _("Choose English or Spanish."))
    phrase = _phrase(phrase)
    for flag in RedFlag.objects.all():
        if _same_phrase(flag.phrase, phrase):
            raise SettingsError(
                "phrase", _("“%(phrase)s” is a red flag already.") % {"phrase": flag.phrase}
            )
    try:
        with transaction.atomic():
            return RedFlag.objects.create(phrase=phrase, language=language)
    except IntegrityError as error:
        raise SettingsError(
            "phrase", _("“%(phrase)s” was added meanwhile.") % {"phrase": phrase}
        ) from error


def red_flag_remove(*, flag: RedFlag) -> None:
    flag.delete()


# --- Reply templates --------------------------------------------------------------


def unknown_placeholders(body: str) -> list[str]:
    """The {names} in a template body that the queue cannot fill in, in order."""
    found = []
    for name in PLACEHOLDER.findall(body):
        if name not in PLACEHOLDERS and name not in found:
            found.append(name)
    return found


def reply_template_save(
    *, category: str, name: str, body: str, template: ReplyTemplate | None = None
) -> ReplyTemplate:
    """Create a template, or change the one given. Unknown {placeholders} are refused."""
    if category not in Category.values:
        raise SettingsError("category", _("Choose clinical, administrative or billing."))
    name = _tidy(name)
    if not name:
        raise SettingsError("name", _("Give the template a name staff will recognize."))
    if len(name) > TEMPLATE_NAME_MAX:
        raise SettingsError(
            "name", _("Keep the name to %(max)d characters or fewer.") % {"max": TEMPLATE_NAME_MAX}
        )
    body = (body or "").strip()
    if not body:
        raise SettingsError("body", _("Write the text of the reply."))
    unknown = unknown_placeholders(body)
    if unknown:
        raise SettingsError(
            "body",
            _("Unknown placeholder: %(unknown)s. Use only %(known)s.")
            % {
                "unknown": ", ".join("{" + n + "}" for n in unknown),
                "known": ", ".join("{" + n + "}" for n in PLACEHOLDERS),
            },
        )
    twins = ReplyTemplate.objects.filter(category=category, name__iexact=name)
    if template is not None:
        twins = twins.exclude(pk=template.pk)
    if twins.exists():
        raise SettingsError(
            "name",
            _("A %(category)s template is called “%(name)s” already: choose another name.")
            % {"category": Category(category).label, "name": name},
        )
    template = template or ReplyTemplate()
    template.category, template.name, template.body = category, name, body
    template.save()
    return template


def reply_template_set_active(*, template: ReplyTemplate, active: bool) -> ReplyTemplate:
    """A template out of use disappears from the queue; replies sent with it keep it."""
    template.active = active
    template.save(update_fields=["active"])
    return template


def template_preview(body: str, *, staff_name: str) -> str:
    """The text as a patient would read it, with sample values."""
    values = {
        "first_name": _("Rosa"),
        "practice_phone": settings.PRACTICE_PHONE,
        "staff_name": staff_name,
    }
    for name, value in values.items():
        body = body.replace("{" + name + "}", value)
    return body


# --- Business hours and closures --------------------------------------------------


def business_week_set(*, days: dict[int, tuple[dt.time, dt.time] | None]) -> None:
    """The practice's hours for the whole week at once. None: closed that day (no row).

    Errors name the hours form's fields: `opens_<weekday>` or `closes_<weekday>`
    (Monday is 0).
    """
    for weekday in Weekday.values:
        hours = days.get(weekday)
        if hours is None:
            continue
        opens, closes = hours
        label = Weekday(weekday).label
        if opens is None:
            raise SettingsError(
                f"opens_{weekday}", _("%(day)s: give the opening time.") % {"day": label}
            )
        if closes is None:
            raise SettingsError(
                f"closes_{weekday}", _("%(day)s: give the closing time.") % {"day": label}
            )
        if closes <= opens:
            raise SettingsError(
                f"closes_{weekday}",
                _("%(day)s: the closing time %(closes)s must be after the opening time %(opens)s.")
                % {"day": label, "closes": f"{closes:%H:%M}", "opens": f"{opens:%H:%M}"},
            )
    if not any(days.get(weekday) for weekday in Weekday.values):
        # Due times are counted on open days: a week with none has no due time at all.
        raise SettingsError(
            None, _("The practice must be open at least one day a week: due times count open days.")
        )
    with transaction.atomic():
        for weekday in Weekday.values:
            hours = days.get(weekday)
            if hours is None:
                BusinessHours.objects.filter(weekday=weekday).delete()
            else:
                BusinessHours.objects.update_or_create(
                    weekday=weekday, defaults={"opens": hours[0], "closes": hours[1]}
                )


def public_holidays(*, start: dt.date, days: int = 365) -> list[tuple[dt.date, str]]:
    """The public holidays of PRACTICE_COUNTRY from start, for `days` days."""
    end = start + dt.timedelta(days=days)
    found = holidays.country_holidays(
        settings.PRACTICE_COUNTRY, years=range(start.year, end.year + 1)
    )
    return sorted((day, name) for day, name in found.items() if start <= day < end)


def _day(date: dt.date) -> str:
    return formats.date_format(date, "DATE_FORMAT")


def practice_closure_add(*, date: dt.date, name: str) -> PracticeClosure:
    """A day the practice is closed besides the public holidays (training, a move)."""
    if date is None:
        raise SettingsError("date", _("Give the date the practice is closed."))
    if date < timezone.localdate():
        raise SettingsError(
            "date",
            _("%(date)s is in the past: choose today or a later day.") % {"date": _day(date)},
        )
    name = _tidy(name)
    if not name:
        raise SettingsError("name", _("Say why the practice is closed, e.g. “Staff training”."))
    if len(name) > CLOSURE_NAME_MAX:
        raise SettingsError(
            "name", _("Keep the reason to %(max)d characters or fewer.") % {"max": CLOSURE_NAME_MAX}
        )
    holiday = holidays.country_holidays(settings.PRACTICE_COUNTRY, years=date.year).get(date)
    if holiday:
        raise SettingsError(
            "date",
            _("%(date)s is a public holiday already (%(holiday)s): the clock skips it.")
            % {"date": _day(date), "holiday": holiday},
        )
    existing = PracticeClosure.objects.filter(date=date).first()
    if existing:
        raise SettingsError(
            "date",
            _("The practice is closed on %(date)s already (%(name)s).")
            % {"date": _day(date), "name": existing.name},
        )
    try:
        with transaction.atomic():
            return PracticeClosure.objects.create(date=date, name=name)
    except IntegrityError as error:
        raise SettingsError(
            "date", _("A closure on %(date)s was added meanwhile.") % {"date": _day(date)}
        ) from error


def practice_closure_remove(*, closure: PracticeClosure) -> None:
    closure.delete()


# --- The rules' test box (a read: nothing is stored or logged) --------------------


@dataclass(frozen=True)
class RuleTest:
    """How a message with this text would be read, and why."""

    category: str  # what the phrases decide (or the default)
    outcome: str  # "rule", "tie" or "no_match"
    default_category: str
    matches: list[tuple[str, str, list[str]]]  # (category, label, phrases), all three
    red_flags: list[str] = field(default_factory=list)

    @property
    def final_category(self) -> str:
        # A red flag sends the message to nursing as urgent whatever the phrases say.
        return Category.CLINICAL if self.red_flags else self.category

    @property
    def final_category_label(self) -> str:
        return Category(self.final_category).label

    @property
    def category_label(self) -> str:
        return Category(self.category).label

    @property
    def queue_label(self) -> str:
        return Queue(QUEUE_FOR_CATEGORY[Category(self.final_category)]).label


def rule_test(text: str) -> RuleTest:
    """Classify sample text exactly as an arriving message would be (services.message_receive)."""
    default = routing_settings().default_category
    found = classify(text, RoutingRule.objects.values_list("category", "phrase"), default)
    if found.by_rule:
        outcome = "rule"
    elif found.matches:
        outcome = "tie"
    else:
        outcome = "no_match"
    return RuleTest(
        category=found.category,
        outcome=outcome,
        default_category=default,
        matches=[(c.value, c.label, found.matches.get(c.value, [])) for c in Category],
        red_flags=red_flags_in(text, RedFlag.objects.values_list("phrase", flat=True)),
    )
