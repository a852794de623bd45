"""What the nightly workers say, in English and Spanish (other languages: English).

English texts pass through gettext so they are marked for translation; the
Spanish ones are written out because the project ships no compiled catalog.
"""

import string

from django.conf import settings
from django.utils.translation import gettext_lazy as _

SHIPPED = ("en", "es")

TEXTS = {
    "no_login_reminder": {
        "subject": {
            "en": _("Your patient portal is ready"),
            "es": "Su portal del paciente está listo",
        },
        "body": {
            "en": _(
                "Hello {first_name}, your {practice} patient portal is set up but you have not "
                "signed in yet. Sign in at {portal_url} to message us, see results and book "
                "appointments. Questions? Call {phone}."
            ),
            "es": (
                "Hola {first_name}, su portal del paciente de {practice} está listo pero aún no "
                "ha iniciado sesión. Entre en {portal_url} para escribirnos, ver resultados y "
                "programar citas. ¿Preguntas? Llame al {phone}."
            ),
        },
    },
    "app_nudge": {
        "subject": {"en": _("Get the portal app"), "es": "Descargue la aplicación del portal"},
        "body": {
            "en": _(
                "Hello {first_name}, the portal is easier on your phone. 1. Open {app_url} "
                "(iPhone) or {play_url} (Android). 2. Install the app. 3. Sign in with your "
                "portal email and password."
            ),
            "es": (
                "Hola {first_name}, el portal es más fácil en su teléfono. 1. Abra {app_url} "
                "(iPhone) o {play_url} (Android). 2. Instale la aplicación. 3. Inicie sesión con "
                "el correo y la contraseña del portal."
            ),
        },
    },
    "satisfaction_survey": {
        "subject": {
            "en": _("How is the portal working for you?"),
            "es": "¿Qué le parece el portal?",
        },
        "body": {
            "en": _(
                "Hello {first_name}, one question: how happy are you with the patient portal, "
                "from 1 to 5? Answer here: {survey_url}"
            ),
            "es": (
                "Hola {first_name}, una pregunta: ¿qué tan satisfecho está con el portal del "
                "paciente, del 1 al 5? Responda aquí: {survey_url}"
            ),
        },
    },
    # Never the amount or what the statement is for: a text shows on a locked phone.
    "bill_reminder": {
        "subject": {
            "en": _("A statement from your practice"),
            "es": "Un estado de cuenta de su consultorio",
        },
        "body": {
            "en": _(
                "Hello {first_name}, you have a statement from {practice}. You can pay it in "
                "the patient portal in a minute: {payment_url}. Questions about your bill? "
                "Call {phone}."
            ),
            "es": (
                "Hola {first_name}, tiene un estado de cuenta de {practice}. Puede pagarlo en "
                "el portal del paciente en un minuto: {payment_url}. ¿Preguntas sobre su "
                "factura? Llame al {phone}."
            ),
        },
    },
    "annual_exam_recall": {
        "subject": {
            "en": _("Book your annual physical in the portal"),
            "es": "Programe su examen físico anual en el portal",
        },
        "body": {
            "en": _(
                "Hello {first_name}. Did you know you can schedule your annual physical "
                "directly from the portal? No phone call needed. Log in and find a time that "
                "works for you: {portal_url}"
            ),
            "es": (
                "Hola {first_name}. ¿Sabía que puede programar su examen físico anual "
                "directamente desde el portal? No hace falta llamar por teléfono. Inicie sesión "
                "y elija un horario que le convenga: {portal_url}"
            ),
        },
    },
    # Issue 13: never the result, its name or anything clinical; never a message's content.
    "results_education": {
        "subject": {
            "en": _("A new result is in your patient portal"),
            "es": "Tiene un resultado nuevo en su portal del paciente",
        },
        "body": {
            "en": _(
                "Hello {first_name}, a new result is waiting for you in the {practice} patient "
                "portal: {portal_url}. Next to each value you will see its normal range; a flag "
                "means the value is outside that range, which is often not a cause for concern. "
                "Your provider reviews every result and adds a comment, usually within two "
                "business days. Questions? Call {phone}."
            ),
            "es": (
                "Hola {first_name}, tiene un resultado nuevo en el portal del paciente de "
                "{practice}: {portal_url}. Junto a cada valor verá su rango normal; una marca "
                "indica que el valor está fuera de ese rango, lo que a menudo no es motivo de "
                "preocupación. Su proveedor revisa cada resultado y añade un comentario, "
                "normalmente en dos días hábiles. ¿Preguntas? Llame al {phone}."
            ),
        },
    },
    "activity_alert": {
        "subject": {
            "en": _("New activity in your patient portal"),
            "es": "Novedades en su portal del paciente",
        },
        "body": {
            "en": _("You have a new message from {practice} in the patient portal: {portal_url}"),
            "es": "Tiene un mensaje nuevo de {practice} en el portal del paciente: {portal_url}",
        },
    },
    # Closing the feedback loop: {change} is the manager's note ("we simplified
    # appointment scheduling: ..."), in the patient's language where one was written.
    "feedback_change": {
        "subject": {
            "en": _("We made a change after your feedback"),
            "es": "Hicimos un cambio gracias a sus comentarios",
        },
        "body": {
            "en": _(
                "Hello {first_name}, thank you for telling us how the {practice} patient portal "
                "works for you. Based on your feedback: {change} Sign in at {portal_url} to see it."
            ),
            "es": (
                "Hola {first_name}, gracias por contarnos cómo le funciona el portal del "
                "paciente de {practice}. Según sus comentarios: {change} Entre en {portal_url} "
                "para verlo."
            ),
        },
    },
}

FEATURE_TEXTS = {
    "messaging": {
        "en": _(
            "Hello {first_name}, did you know you can message your care team from the portal, "
            "day or night? Sign in at {portal_url}."
        ),
        "es": (
            "Hola {first_name}, ¿sabía que puede escribir a su equipo de salud desde el portal, "
            "de día o de noche? Entre en {portal_url}."
        ),
    },
    "scheduling": {
        "en": _(
            "Hello {first_name}, you can book your next appointment in the portal, any time, "
            "without waiting on the phone: {portal_url}"
        ),
        "es": (
            "Hola {first_name}, puede programar su próxima cita en el portal, a cualquier hora, "
            "sin esperar al teléfono: {portal_url}"
        ),
    },
    "results": {
        "en": _(
            "Hello {first_name}, your test results appear in the portal as soon as they are "
            "ready: {portal_url}"
        ),
        "es": (
            "Hola {first_name}, sus resultados aparecen en el portal en cuanto están listos: "
            "{portal_url}"
        ),
    },
    "payments": {
        "en": _(
            "Hello {first_name}, you can pay your bill in the portal in a minute: {portal_url}"
        ),
        "es": "Hola {first_name}, puede pagar su factura en el portal en un minuto: {portal_url}",
    },
}
FEATURE_SUBJECT = {"en": _("A portal tip from your practice"), "es": "Un consejo del portal"}
FEATURE_ROTATION = ("messaging", "scheduling", "results", "payments")


def rule_wording(rule: str, language: str, setting) -> tuple[str, str]:
    """(subject, body) of a rule in `language`: the practice's wording where a manager
    wrote one (messaging.models.OutreachSetting), else the shipped text."""
    shipped = TEXTS[rule]
    subject = getattr(setting, f"subject_{language}", "") or shipped["subject"][language]
    body = getattr(setting, f"body_{language}", "") or shipped["body"][language]
    return str(subject), str(body)


def language_of(preferred: str) -> str:
    base = (preferred or "en").split("-")[0].lower()
    return base if base in SHIPPED else "en"


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
