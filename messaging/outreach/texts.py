"""What the nightly workers say, in the patient's language (patients.languages).

The texts are in the gettext catalogues under the "patient" context, in the
five patient languages; any other preferred language gets English. A manager
may replace the English and Spanish wording of a rule (OutreachSetting).
"""

import string

from django.conf import settings
from django.utils.translation import pgettext_lazy

from patients.languages import patient_language, patient_language_override

# The languages a manager writes the practice's own wording in (OutreachSetting,
# FeatureOfMonth, FeedbackChange: subject_en, text_es, ...).
PRACTICE_WORDING_LANGUAGES = ("en", "es")

TEXTS = {
    "no_login_reminder": {
        "subject": pgettext_lazy("patient", "Your patient portal is ready"),
        "body": pgettext_lazy(
            "patient",
            "Hello {first_name}, your {practice} patient portal is set up but you have not "
            "signed in yet. Sign in at {portal_url} to message us, see results and book "
            "appointments. Questions? Call {phone}.",
        ),
    },
    "app_nudge": {
        "subject": pgettext_lazy("patient", "Get the portal app"),
        "body": pgettext_lazy(
            "patient",
            "Hello {first_name}, the portal is easier on your phone. 1. Open {app_url} "
            "(iPhone) or {play_url} (Android). 2. Install the app. 3. Sign in with your "
            "portal email and password.",
        ),
    },
    "satisfaction_survey": {
        "subject": pgettext_lazy("patient", "How is the portal working for you?"),
        "body": pgettext_lazy(
            "patient",
            "Hello {first_name}, one question: how happy are you with the patient portal, "
            "from 1 to 5? Answer here: {survey_url}",
        ),
    },
    # Never the amount or what the statement is for: a text shows on a locked phone.
    "bill_reminder": {
        "subject": pgettext_lazy("patient", "A statement from your practice"),
        "body": pgettext_lazy(
            "patient",
            "Hello {first_name}, you have a statement from {practice}. You can pay it in "
            "the patient portal in a minute: {payment_url}. Questions about your bill? "
            "Call {phone}.",
        ),
    },
    "annual_exam_recall": {
        "subject": pgettext_lazy("patient", "Book your annual physical in the portal"),
        "body": pgettext_lazy(
            "patient",
            "Hello {first_name}. Did you know you can schedule your annual physical "
            "directly from the portal? No phone call needed. Log in and find a time that "
            "works for you: {portal_url}",
        ),
    },
    # Issue 13: never the result, its name or anything clinical; never a message's content.
    "results_education": {
        "subject": pgettext_lazy("patient", "A new result is in your patient portal"),
        "body": pgettext_lazy(
            "patient",
            "Hello {first_name}, a new result is waiting for you in the {practice} patient "
            "portal: {portal_url}. Next to each value you will see its normal range; a flag "
            "means the value is outside that range, which is often not a cause for concern. "
            "Your provider reviews every result and adds a comment, usually within two "
            "business days. Questions? Call {phone}.",
        ),
    },
    "activity_alert": {
        "subject": pgettext_lazy("patient", "New activity in your patient portal"),
        "body": pgettext_lazy(
            "patient", "You have a new message from {practice} in the patient portal: {portal_url}"
        ),
    },
    # Closing the feedback loop: {change} is the manager's note ("we simplified
    # appointment scheduling: ..."), in the patient's language where one was written.
    "feedback_change": {
        "subject": pgettext_lazy("patient", "We made a change after your feedback"),
        "body": pgettext_lazy(
            "patient",
            "Hello {first_name}, thank you for telling us how the {practice} patient portal "
            "works for you. Based on your feedback: {change} Sign in at {portal_url} to see it.",
        ),
    },
}

FEATURE_TEXTS = {
    "messaging": pgettext_lazy(
        "patient",
        "Hello {first_name}, did you know you can message your care team from the portal, "
        "day or night? Sign in at {portal_url}.",
    ),
    "scheduling": pgettext_lazy(
        "patient",
        "Hello {first_name}, you can book your next appointment in the portal, any time, "
        "without waiting on the phone: {portal_url}",
    ),
    "results": pgettext_lazy(
        "patient",
        "Hello {first_name}, your test results appear in the portal as soon as they are "
        "ready: {portal_url}",
    ),
    "payments": pgettext_lazy(
        "patient",
        "Hello {first_name}, you can pay your bill in the portal in a minute: {portal_url}",
    ),
}
FEATURE_SUBJECT = pgettext_lazy("patient", "A portal tip from your practice")
FEATURE_ROTATION = ("messaging", "scheduling", "results", "payments")


def shipped_text(text, language: str) -> str:
    """A shipped (lazy) text rendered in `language`, a patient language or any tag."""
    with patient_language_override(language):
        return str(text)


def rule_wording(rule: str, language: str, setting) -> tuple[str, str]:
    """(subject, body) of a rule in `language`: the practice's wording where a manager
    wrote one (messaging.models.OutreachSetting, English and Spanish), else the shipped text."""
    shipped = TEXTS[rule]
    own = language in PRACTICE_WORDING_LANGUAGES
    subject = (own and getattr(setting, f"subject_{language}", "")) or shipped_text(
        shipped["subject"], language
    )
    body = (own and getattr(setting, f"body_{language}", "")) or shipped_text(
        shipped["body"], language
    )
    return str(subject), str(body)


def language_of(preferred: str) -> str:
    """The language a patient's messages are written in: one of the five patient languages."""
    return patient_language(preferred)


class _KeepUnknown(dict):
    """Leaves a placeholder filled later (the survey link) as it is."""

    def __missing__(self, key):
        return "{" + key + "}"


PLACEHOLDERS = {
    "first_name",
    "practice",
    "phone",
    "portal_url",
    "app_url",
    "play_url",
    "payment_url",
}


def unknown_placeholders(text: str) -> set[str]:
    try:
        names = {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    except ValueError:
        return {"{"}
    return names - PLACEHOLDERS


def fill(text: str, patient, **extra) -> str:
    values = {
        "first_name": patient.given_name,
        "practice": settings.PRACTICE_NAME,
        "phone": settings.PRACTICE_PHONE,
        "portal_url": settings.PORTAL_LOGIN_URL,
        "app_url": settings.APP_STORE_URL,
        "play_url": settings.PLAY_STORE_URL,
        "payment_url": settings.PORTAL_PAYMENT_URL,
        **extra,
    }
    return str(text).format_map(_KeepUnknown(values))
