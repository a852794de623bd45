"""The printed handouts the front desk gives to patients: texts in English and Spanish.

Two handouts: the one-page privacy handout (offered when a patient declines
over privacy) and the quick reference card (step 7 of the checklist). They
carry no clinical data. Each text is a dict {"en": ..., "es": ...}; the
English versions go through gettext so a future catalog can translate
them into further languages. Placeholders: %(practice)s, %(phone)s,
%(first_name)s, %(login_url)s.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

PRIVACY_HANDOUT: dict[str, dict[str, str]] = {
    "title": {
        "en": _("Your privacy and the patient portal"),
        "es": "Su privacidad y el portal del paciente",
    },
    "intro": {
        "en": _(
            "The patient portal of %(practice)s lets you message us, see your test results "
            "and schedule appointments. Your health information is protected by law and by "
            "the way the portal is built."
        ),
        "es": (
            "El portal del paciente de %(practice)s le permite enviarnos mensajes, ver sus "
            "resultados y programar citas. Su información de salud está protegida por la ley "
            "y por la forma en que está hecho el portal."
        ),
    },
    "hipaa_heading": {
        "en": _("The law protects your health information (HIPAA)"),
        "es": "La ley protege su información de salud (HIPAA)",
    },
    "hipaa_use": {
        "en": _(
            "We may use and share your information only to treat you, to be paid for your "
            "care and to run the practice, or when the law requires it. We never sell it."
        ),
        "es": (
            "Solo podemos usar y compartir su información para atenderle, para cobrar su "
            "atención y para el funcionamiento del consultorio, o cuando la ley lo exige. "
            "Nunca la vendemos."
        ),
    },
    "hipaa_rights": {
        "en": _(
            "You have the right to see and get a copy of your records, to ask us to correct "
            "them, and to know who we have shared them with."
        ),
        "es": (
            "Usted tiene derecho a ver y obtener una copia de su expediente, a pedirnos que "
            "lo corrijamos y a saber con quién lo hemos compartido."
        ),
    },
    "hipaa_same": {
        "en": _(
            "The portal shows the same records we keep at the office, under the same rules. "
            "Using it does not share your information with anyone new."
        ),
        "es": (
            "El portal muestra el mismo expediente que guardamos en el consultorio, con las "
            "mismas reglas. Usarlo no comparte su información con nadie más."
        ),
    },
    "secured_heading": {
        "en": _("How the portal is secured"),
        "es": "Cómo se protege el portal",
    },
    "secured_encrypted": {
        "en": _(
            "Encrypted connection: everything between your phone or computer and the portal "
            "travels encrypted (the address starts with https and shows a padlock), so no one "
            "can read it on the way."
        ),
        "es": (
            "Conexión cifrada: todo lo que viaja entre su teléfono o computadora y el portal "
            "va cifrado (la dirección empieza con https y muestra un candado), así que nadie "
            "puede leerlo en el camino."
        ),
    },
    "secured_login": {
        "en": _(
            "Your personal login: only you know your password; our staff cannot see it. "
            "Do not share it. A family member who helps you can ask for their own access."
        ),
        "es": (
            "Su acceso personal: solo usted conoce su contraseña; nuestro personal no puede "
            "verla. No la comparta. Un familiar que le ayude puede pedir su propio acceso."
        ),
    },
    "secured_never_ask": {
        "en": _(
            "We never ask for your password by email, text message or phone. A message that "
            "asks for it is not from us: do not answer it, and call us."
        ),
        "es": (
            "Nunca le pediremos su contraseña por correo electrónico, mensaje de texto ni "
            "teléfono. Un mensaje que se la pida no es nuestro: no lo conteste y llámenos."
        ),
    },
    "secured_sign_out": {
        "en": _("Sign out when you finish, especially on a shared computer or phone."),
        "es": "Cierre la sesión al terminar, sobre todo en una computadora o teléfono compartido.",
    },
    "call_heading": {
        "en": _("Who to call"),
        "es": "A quién llamar",
    },
    "call_body": {
        "en": _(
            "Questions about your privacy, or do you think someone else has used your "
            "account? Call %(practice)s at %(phone)s and ask for the privacy officer."
        ),
        "es": (
            "¿Tiene preguntas sobre su privacidad, o cree que otra persona usó su cuenta? "
            "Llame a %(practice)s al %(phone)s y pida hablar con el responsable de privacidad."
        ),
    },
    "notice": {
        "en": _("Ask at the front desk for our full Notice of Privacy Practices."),
        "es": "Pida en recepción nuestro Aviso de Prácticas de Privacidad completo.",
    },
}

REFERENCE_CARD: dict[str, dict[str, str]] = {
    "title": {
        "en": _("Your patient portal"),
        "es": "Su portal del paciente",
    },
    "greeting": {
        "en": _("Hello %(first_name)s, keep this card: it has everything you need to sign in."),
        "es": "Hola, %(first_name)s: guarde esta tarjeta, tiene todo lo necesario para entrar.",
    },
    "login_heading": {
        "en": _("Sign in at"),
        "es": "Entre en",
    },
    "app_heading": {
        "en": _("Get the app"),
        "es": "Descargue la app",
    },
    "app_store": {
        "en": _("iPhone (App Store)"),
        "es": "iPhone (App Store)",
    },
    "play_store": {
        "en": _("Android (Google Play)"),
        "es": "Android (Google Play)",
    },
    "how_heading": {
        "en": _("How to"),
        "es": "Cómo",
    },
    "how_sign_in": {
        "en": _(
            "Sign in: open the app or go to %(login_url)s and use the email address you gave us."
        ),
        "es": (
            "Entrar: abra la app o vaya a %(login_url)s y use el correo electrónico que nos dio."
        ),
    },
    "how_message": {
        "en": _(
            "Message us: choose Messages, then New message. We answer within one business day."
        ),
        "es": ("Escribirnos: elija Mensajes y luego Mensaje nuevo. Respondemos en un día hábil."),
    },
    "how_book": {
        "en": _("Book: choose Appointments, then Schedule, and pick a time that suits you."),
        "es": "Pedir cita: elija Citas y luego Programar, y escoja la hora que le convenga.",
    },
    "help": {
        "en": _("Need help? Call %(practice)s at %(phone)s."),
        "es": "¿Necesita ayuda? Llame a %(practice)s al %(phone)s.",
    },
    "never_ask": {
        "en": _("We never ask for your password."),
        "es": "Nunca le pediremos su contraseña.",
    },
    "qr_alt": {
        "en": _("QR code: scan it with your phone's camera to open the portal."),
        "es": "Código QR: escanéelo con la cámara de su teléfono para abrir el portal.",
    },
}


def handout_texts(texts: dict, language: str, *, first_name: str = "") -> dict[str, str]:
    """Every text of a handout in one language ("en" or "es"), placeholders filled in.

    The English versions are rendered in English whatever the clerk's own
    language: the handout is in the patient's language. The caller picks it
    with enrollment.playbook.script_language.
    """
    values = {
        "practice": settings.PRACTICE_NAME,
        "phone": settings.PRACTICE_PHONE,
        "first_name": first_name,
        "login_url": settings.PORTAL_LOGIN_URL,
    }
    with translation.override(language):
        return {key: str(versions[language]) % values for key, versions in texts.items()}
