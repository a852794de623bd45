"""The enrollment playbook (workflows.md): what to say, and what to offer on a no.

Texts shown to the patient or read out to them come in the patient's
language; English and Spanish are shipped, other languages fall back to
English.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.models import DeclineReason, Remedy, ScriptKey

SHIPPED_LANGUAGES = ("en", "es")

# The script is a statement, never a yes/no question (workflows.md).
SCRIPT = {
    "en": (
        "Let's set up your patient portal access today. You'll be able to message us, "
        "see test results, and schedule appointments. What's the best email to use?"
    ),
    "es": (
        "Vamos a activar hoy su acceso al portal del paciente. Podrá enviarnos mensajes, "
        "ver sus resultados y programar citas. ¿Cuál es el mejor correo electrónico para usted?"
    ),
}


# The playbook's wording of every script, in each shipped language: the
# default a data migration loads into enrollment.Script, which managers edit,
# and what "restore the playbook wording" puts back. Like the check-in script,
# each is a statement followed by one easy question.
PLAYBOOK_SCRIPTS = {
    ScriptKey.CHECKIN: SCRIPT,
    ScriptKey.VISIT: {
        "en": (
            "I'm ordering a test. You'll see the results in the portal, usually the same day "
            "they come back. Have you logged in yet?"
        ),
        "es": (
            "Le voy a pedir un análisis. Verá los resultados en el portal, normalmente el mismo "
            "día que lleguen. ¿Ya ha entrado al portal?"
        ),
    },
    ScriptKey.PHONE_BOOKING: {
        "en": (
            "I can book that for you now, and you can also do it yourself any time in the "
            "portal. Shall I help you set it up?"
        ),
        "es": (
            "Le puedo dar la cita ahora mismo, y también puede pedirla usted cuando quiera en "
            "el portal. ¿Quiere que le ayude a activarlo?"
        ),
    },
    ScriptKey.PHONE_RESULTS: {
        "en": (
            "Let me look that up. For next time, results are usually posted to the portal the "
            "same day. Do you have access?"
        ),
        "es": (
            "Déjeme buscarlo. Para la próxima vez, los resultados suelen publicarse en el portal "
            "el mismo día. ¿Tiene acceso?"
        ),
    },
}


def script_language(preferred: str) -> str:
    base = (preferred or "en").split("-")[0].lower()
    return base if base in SHIPPED_LANGUAGES else "en"


def enrollment_script(preferred_language: str) -> tuple[str, str]:
    """(language code, the playbook's sentence to say) for a patient's preferred language.

    The wording shown at the desk is the practice's (enrollment.selectors.script_for).
    """
    language = script_language(preferred_language)
    return language, SCRIPT[language]


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
