"""What the patient reads on their own phone during QR self-enrollment.

The page follows the patient's preferred language, not the phone's, and the
project ships no compiled Spanish catalog, so each text carries its
Spanish version here. The English versions still go through gettext so a
future catalog can translate them into further languages. Placeholders:
%(practice)s, %(first_name)s, %(phone)s.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

TEXTS: dict[str, dict[str, str]] = {
    "page_title": {
        "en": _("Set up your patient portal"),
        "es": "Active su portal del paciente",
    },
    "greeting": {
        "en": _("Hello %(first_name)s,"),
        "es": "Hola, %(first_name)s:",
    },
    "intro": {
        "en": _(
            "%(practice)s invites you to its patient portal: message us, see your test "
            "results and schedule appointments, whenever it suits you."
        ),
        "es": (
            "%(practice)s le invita a su portal del paciente: envíenos mensajes, vea sus "
            "resultados y programe citas cuando le convenga."
        ),
    },
    "contact_heading": {
        "en": _("Check your contact details"),
        "es": "Revise sus datos de contacto",
    },
    "on_file": {
        "en": _("We have:"),
        "es": "Tenemos:",
    },
    "nothing_on_file": {
        "en": _("nothing on file"),
        "es": "ningún dato",
    },
    "keep_hint": {
        "en": _("Leave this blank to keep what we have, or type the right one."),
        "es": "Déjelo en blanco para conservar el que tenemos, o escriba el correcto.",
    },
    "email_label": {
        "en": _("Email address"),
        "es": "Correo electrónico",
    },
    "mobile_label": {
        "en": _("Mobile number"),
        "es": "Número de celular",
    },
    "channel_legend": {
        "en": _("How should we let you know about new messages and results?"),
        "es": "¿Cómo prefiere que le avisemos de mensajes y resultados nuevos?",
    },
    "channel_email": {
        "en": _("By email"),
        "es": "Por correo electrónico",
    },
    "channel_sms": {
        "en": _("By text message"),
        "es": "Por mensaje de texto",
    },
    "consent": {
        "en": _(
            "I agree to use the patient portal of %(practice)s and to receive its notifications."
        ),
        "es": "Acepto usar el portal del paciente de %(practice)s y recibir sus notificaciones.",
    },
    "submit": {
        "en": _("Continue"),
        "es": "Continuar",
    },
    "error_summary": {
        "en": _("Please check the field marked below."),
        "es": "Revise el campo señalado abajo.",
    },
    "error_email": {
        "en": _("Email address: type a valid address, or choose text messages."),
        "es": "Correo electrónico: escriba una dirección válida, o elija mensajes de texto.",
    },
    "error_mobile_phone": {
        "en": _("Mobile number: type it with the area code, or choose email."),
        "es": "Número de celular: escríbalo con el código de área, o elija correo electrónico.",
    },
    "error_notification_channel": {
        "en": _("Notifications: choose email or text message."),
        "es": "Avisos: elija correo electrónico o mensaje de texto.",
    },
    "error_consent": {
        "en": _("Agreement: tick the box to continue."),
        "es": "Aceptación: marque la casilla para continuar.",
    },
    "done_title": {
        "en": _("You're all set"),
        "es": "¡Listo!",
    },
    "done_intro": {
        "en": _("Your details are saved. Now create your portal login and get the app."),
        "es": "Sus datos están guardados. Ahora cree su acceso al portal y descargue la app.",
    },
    "activate": {
        "en": _("Activate your portal account"),
        "es": "Activar mi cuenta del portal",
    },
    "app_store": {
        "en": _("Get the app on the App Store (iPhone)"),
        "es": "Descargar la app en App Store (iPhone)",
    },
    "play_store": {
        "en": _("Get the app on Google Play (Android)"),
        "es": "Descargar la app en Google Play (Android)",
    },
    "hand_back": {
        "en": _("All done: let the front desk know you have finished."),
        "es": "¡Listo! Avise en recepción que ha terminado.",
    },
    "unusable_title": {
        "en": _("This code can't be used any more"),
        "es": "Este código ya no se puede usar",
    },
    "unusable_body": {
        "en": _(
            "It has been used already or has expired: codes work once, for 15 minutes. "
            "Please ask the front desk for a new code."
        ),
        "es": (
            "Ya se usó o venció: cada código sirve una sola vez, durante 15 minutos. "
            "Pida un código nuevo en recepción."
        ),
    },
    "questions": {
        "en": _("Questions? Call us at %(phone)s."),
        "es": "¿Preguntas? Llámenos al %(phone)s.",
    },
}


def patient_texts(language: str, *, first_name: str = "") -> dict[str, str]:
    """Every text in one language ("en" or "es"), with the placeholders filled in.

    The caller picks the language with enrollment.playbook.script_language.
    """
    values = {
        "practice": settings.PRACTICE_NAME,
        "phone": settings.PRACTICE_PHONE,
        "first_name": first_name,
    }
    return {key: str(versions[language]) % values for key, versions in TEXTS.items()}
