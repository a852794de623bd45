"""How codes and numbers are shown to people: ONE set of helpers for every page.

Stored values are codes and raw numbers (a rule key, a language code, an
amount, a phone number in E.164); people read words and the practice's
country's formats. Templates use them as filters (`{% load display %}`:
`|phone`, `|language_label`, `|dollars`, `|rule_label`, `|access_target`),
Python code calls the functions. Each returns something readable for any
input: an unknown code becomes words ("tech_help_session" -> "Tech help
session"), never the code itself. tests/portal_adoption/test_display.py
walks the pages and fails when a raw code or number shows.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.conf import settings
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _

# What each access-log resource names, in words (the codes are written by the views).
ACCESS_LOG_RESOURCES = {
    "access_log": gettext_lazy("Access log"),
    "chart_notes": gettext_lazy("Chart notes"),
    "chart_notes_export": gettext_lazy("Chart notes export"),
    "communications": gettext_lazy("What was sent to the patient"),
    "decline": gettext_lazy("Decline and remedy"),
    "electronic_access": gettext_lazy("CMS electronic access: patients not counted"),
    "electronic_access_export": gettext_lazy("CMS electronic access: patients not counted, CSV"),
    "enrollment": gettext_lazy("Enrollment checklist"),
    "follow_up": gettext_lazy("Follow-up list"),
    "follow_up_call": gettext_lazy("Follow-up call"),
    "import_rejections": gettext_lazy("Rejected import records"),
    "import_rejections_export": gettext_lazy("Rejected import records export"),
    "message": gettext_lazy("Patient message"),
    "message_queue": gettext_lazy("Message queue"),
    "outbox": gettext_lazy("Outbox"),
    "outreach_preview": gettext_lazy("Nightly workers: tonight's patients"),
    "patient": gettext_lazy("Patient record"),
    "patient_contact": gettext_lazy("Patient contact details"),
    "portal_conversation": gettext_lazy("Portal conversation script"),
    "portal_status": gettext_lazy("Portal status"),
    "provider_tasks": gettext_lazy("Provider tasks"),
    "reference_card": gettext_lazy("Reference card"),
    "survey_comment_tags": gettext_lazy("Survey comment tags"),
    "survey_comments": gettext_lazy("Survey comments"),
    "tech_help_session": gettext_lazy("Tech-help session"),
    "staff_created": gettext_lazy("Staff account created"),
    "staff_role_added": gettext_lazy("Role added"),
    "staff_role_removed": gettext_lazy("Role removed"),
    "staff_activated": gettext_lazy("Staff account activated"),
    "staff_deactivated": gettext_lazy("Staff account deactivated"),
    "staff_details": gettext_lazy("Staff details changed"),
    "staff_password_set": gettext_lazy("Staff password set"),
    "throttled": gettext_lazy("Too many refused requests"),
}

_CODE = re.compile(r"^[a-z0-9]+(?:[_:.-][a-z0-9]+)*$")


def code_words(code) -> str:
    """An unknown code in words: "tech_help_session" -> "Tech help session"."""
    text = str(code or "").strip()
    if not _CODE.match(text):
        return text
    words = re.sub(r"[_.-]+", " ", text).replace(":", ": ")
    return words[:1].upper() + words[1:]


def phone(value) -> str:
    """A stored phone number as people write it in the practice's country.

    "+15550100100" -> "(555) 010-0100" for a US practice; a number of another
    country in its international form ("+44 20 7946 0958"); text that is no
    phone number is shown as it is; no number, "".
    """
    text = str(value or "").strip()
    if not text:
        return ""
    country = settings.PRACTICE_COUNTRY
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_possible_number(number):
        return text
    same_country = phonenumbers.region_code_for_number(number) == country or (
        number.country_code == phonenumbers.country_code_for_region(country)
    )
    form = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if same_country
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, form)


def language_name(code) -> str:
    """A language code in words, in the language of the page: "es" -> "Spanish"."""
    text = str(code or "").strip()
    if not text:
        return ""
    for candidate in (text, text.split("-")[0].split("_")[0]):
        try:
            return str(get_language_info(candidate.lower())["name_translated"])
        except KeyError:
            continue
    return text


def dollars(value) -> str:
    """An amount in the practice's currency: 33.41 -> "$33.41", -5 -> "-$5.00"."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    symbol = getattr(settings, "PRACTICE_CURRENCY_SYMBOL", "$")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"


def rule_label(key) -> str:
    """A nightly rule's name: "app_nudge" -> "App link: enrolled two weeks, no app"."""
    from messaging.models import OutreachRule  # the rules are messaging's; no import cycle

    text = str(key or "")
    if text in OutreachRule.values:
        return str(OutreachRule(text).label)
    return code_words(text)


def access_target(entry, listed_count: int | None = None) -> str:
    """What an access-log entry was about, in words.

    "outreach_preview" -> "Nightly workers: tonight's patients · 23 patients";
    "staff_role_added:nurse" -> "Role added: Nurse"; "message" #12 -> "Patient
    message 12". A refused request names the page by its URL name.
    """
    resource = str(entry.resource or "")
    name, _colon, detail = resource.partition(":")
    label = ACCESS_LOG_RESOURCES.get(name)
    if label is None:
        text = code_words(resource)
    else:
        text = str(label)
        if detail:
            text += ": " + code_words(detail.replace(",", ", "))
    if listed_count and listed_count > 1:
        text += " · " + _("%(count)d patients") % {"count": listed_count}
    elif entry.object_id and not entry.patient_id:
        text += " · " + _("record %(id)s") % {"id": entry.object_id}
    return text
