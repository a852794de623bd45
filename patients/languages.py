"""The languages patients read, and which one a patient's preferred language means.

A patient's `preferred_language` is any BCP 47 tag the feed accepts
(activity-feed.md: en, es, pt-BR, ...). The texts a patient reads (reminders,
surveys, the reference card and handouts, the QR pages, the scripts staff
read out) are translated into the five PATIENT_LANGUAGES; every send path
picks one with `patient_language`, which falls back to English. The texts
are marked with the "patient" context (`pgettext_lazy("patient", ...)`), so
the catalogues keep them apart from the staff interface's words.
"""

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

PATIENT_CONTEXT = "patient"


class PatientLanguage(models.TextChoices):
    ENGLISH = "en", _("English")
    SPANISH = "es", _("Spanish")
    JAPANESE = "ja", _("Japanese")
    CHINESE_SIMPLIFIED = "zh-hans", _("Chinese (Simplified)")
    VIETNAMESE = "vi", _("Vietnamese")


PATIENT_LANGUAGES: tuple[str, ...] = tuple(PatientLanguage.values)
FALLBACK_LANGUAGE = PatientLanguage.ENGLISH.value

# Chinese written in traditional characters has no texts of its own: English, as
# for any other language without them. Plain "zh" means Mandarin in simplified script.
_TRADITIONAL_CHINESE = {"hant", "tw", "hk", "mo"}


def patient_language(preferred: str) -> str:
    """The language of the texts for a preferred-language tag: one of PATIENT_LANGUAGES.

    en-US -> en, es-MX -> es, zh / zh-CN / zh-Hans -> zh-hans, zh-TW -> en, pt-BR -> en.
    """
    parts = (preferred or "").strip().lower().replace("_", "-").split("-")
    base = parts[0]
    if base == "zh":
        return FALLBACK_LANGUAGE if _TRADITIONAL_CHINESE & set(parts[1:]) else "zh-hans"
    return base if base in PATIENT_LANGUAGES else FALLBACK_LANGUAGE


def patient_language_override(preferred: str) -> translation.override:
    """`with patient_language_override(patient.preferred_language):` renders the texts for them."""
    return translation.override(patient_language(preferred))
