"""The enrollment playbook (workflows.md): what to say, and what to offer on a no.

Texts shown to the patient or read out to them come in the patient's
language: the scripts are in the gettext catalogues under the "patient"
context, in the five patient languages (patients.languages); any other
language falls back to English.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from enrollment.models import DeclineReason, Remedy, ScriptKey
from patients.languages import PATIENT_LANGUAGES, patient_language, patient_language_override

# Every script is stored (enrollment.Script) and edited in each of these.
SHIPPED_LANGUAGES = PATIENT_LANGUAGES

# The playbook's wording of every script: the default of enrollment.Script, which
# managers edit, and what "restore the playbook wording" puts back. The check-in
# script is a statement, never a yes/no question (workflows.md); like it, each is a
# statement followed by one easy question.
PLAYBOOK_SCRIPTS = {
    ScriptKey.CHECKIN: pgettext_lazy(
        "patient",
        "Let's set up your patient portal access today. You'll be able to message us, "
        "see test results, and schedule appointments. What's the best email to use?",
    ),
    ScriptKey.VISIT: pgettext_lazy(
        "patient",
        "I'm ordering a test. You'll see the results in the portal, usually the same day "
        "they come back. Have you logged in yet?",
    ),
    ScriptKey.PHONE_BOOKING: pgettext_lazy(
        "patient",
        "I can book that for you now, and you can also do it yourself any time in the "
        "portal. Shall I help you set it up?",
    ),
    ScriptKey.PHONE_RESULTS: pgettext_lazy(
        "patient",
        "Let me look that up. For next time, results are usually posted to the portal the "
        "same day. Do you have access?",
    ),
}


def playbook_wording(key: str, language: str) -> str:
    """The playbook's wording of a script in `language` (English when it has none)."""
    with patient_language_override(language):
        return str(PLAYBOOK_SCRIPTS[ScriptKey(key)])


def script_language(preferred: str) -> str:
    """The language texts are shown in for a preferred-language tag: one of SHIPPED_LANGUAGES."""
    return patient_language(preferred)


def enrollment_script(preferred_language: str) -> tuple[str, str]:
    """(language code, the playbook's sentence to say) for a patient's preferred language.

    The wording shown at the desk is the practice's (enrollment.selectors.script_for).
    """
    language = script_language(preferred_language)
    return language, playbook_wording(ScriptKey.CHECKIN, language)


@dataclass(frozen=True)
class DeclinePlay:
    remedy_text: str
    remedies: tuple[str, ...]


DECLINE_PLAYS = {
    DeclineReason.NO_EMAIL: DeclinePlay(
        gettext_lazy("Offer to switch notifications to text messages (SMS)."),
        (Remedy.SMS_SWITCH,),
    ),
    DeclineReason.NOT_COMFORTABLE: DeclinePlay(
        gettext_lazy("Offer one-to-one help now, or a seat at the weekly tech-help session."),
        (Remedy.ONE_TO_ONE_HELP, Remedy.TECH_HELP_SEAT),
    ),
    DeclineReason.PRIVACY: DeclinePlay(
        gettext_lazy(
            "Give the one-page privacy handout: HIPAA protections and how the portal is secured."
        ),
        (Remedy.PRIVACY_HANDOUT,),
    ),
    DeclineReason.NO_BENEFIT: DeclinePlay(
        gettext_lazy("Explain the benefit that fits this patient (suggested below)."),
        (Remedy.BENEFIT_EXPLAINED,),
    ),
    DeclineReason.OTHER: DeclinePlay(
        gettext_lazy("Note the reason in the patient's words; offer what fits."),
        tuple(r for r in Remedy.values if r != Remedy.NONE),
    ),
}

BENEFITS = {
    "results": gettext_lazy("See test results the same day they are ready, without a call."),
    "messages": gettext_lazy("Message the care team at 10 pm, when it suits you."),
    "booking": gettext_lazy("Book an appointment at midnight, without waiting on the phone."),
}


def remedy_choices_for(reason: str) -> list[tuple[str, str]]:
    play = DECLINE_PLAYS[DeclineReason(reason)]
    return [(r, Remedy(r).label) for r in play.remedies] + [(Remedy.NONE, Remedy.NONE.label)]


def decline_suggestion(reason: str) -> str:
    return str(DECLINE_PLAYS[DeclineReason(reason)].remedy_text) if reason else _("—")
