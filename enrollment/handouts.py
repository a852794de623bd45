"""The printed handouts the front desk gives to patients, in the patient's language.

Two handouts: the one-page privacy handout (offered when a patient declines
over privacy) and the quick reference card (step 7 of the checklist). They
carry no clinical data. The texts are in the gettext catalogues under the
"patient" context, in the five patient languages (patients.languages).
Placeholders: %(practice)s, %(phone)s, %(first_name)s, %(login_url)s.
"""

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from patients.languages import patient_language_override

PRIVACY_HANDOUT: dict[str, Promise] = {
    "title": pgettext_lazy("patient", "Your privacy and the patient portal"),
    "intro": pgettext_lazy(
        "patient",
        "The patient portal of %(practice)s lets you message us, see your test results "
        "and schedule appointments. Your health information is protected by law and by "
        "the way the portal is built.",
    ),
    "hipaa_heading": pgettext_lazy("patient", "The law protects your health information (HIPAA)"),
    "hipaa_use": pgettext_lazy(
        "patient",
        "We may use and share your information only to treat you, to be paid for your "
        "care and to run the practice, or when the law requires it. We never sell it.",
    ),
    "hipaa_rights": pgettext_lazy(
        "patient",
        "You have the right to see and get a copy of your records, to ask us to correct "
        "them, and to know who we have shared them with.",
    ),
    "hipaa_same": pgettext_lazy(
        "patient",
        "The portal shows the same records we keep at the office, under the same rules. "
        "Using it does not share your information with anyone new.",
    ),
    "secured_heading": pgettext_lazy("patient", "How the portal is secured"),
    "secured_encrypted": pgettext_lazy(
        "patient",
        "Encrypted connection: everything between your phone or computer and the portal "
        "travels encrypted (the address starts with https and shows a padlock), so no one "
        "can read it on the way.",
    ),
    "secured_login": pgettext_lazy(
        "patient",
        "Your personal login: only you know your password; our staff cannot see it. "
        "Do not share it. A family member who helps you can ask for their own access.",
    ),
    "secured_never_ask": pgettext_lazy(
        "patient",
        "We never ask for your password by email, text message or phone. A message that "
        "asks for it is not from us: do not answer it, and call us.",
    ),
    "secured_sign_out": pgettext_lazy(
        "patient", "Sign out when you finish, especially on a shared computer or phone."
    ),
    "call_heading": pgettext_lazy("patient", "Who to call"),
    "call_body": pgettext_lazy(
        "patient",
        "Questions about your privacy, or do you think someone else has used your "
        "account? Call %(practice)s at %(phone)s and ask for the privacy officer.",
    ),
    "notice": pgettext_lazy(
        "patient", "Ask at the front desk for our full Notice of Privacy Practices."
    ),
}

REFERENCE_CARD: dict[str, Promise] = {
    "title": pgettext_lazy("patient", "Your patient portal"),
    "greeting": pgettext_lazy(
        "patient", "Hello %(first_name)s, keep this card: it has everything you need to sign in."
    ),
    "login_heading": pgettext_lazy("patient", "Sign in at"),
    "app_heading": pgettext_lazy("patient", "Get the app"),
    "app_store": pgettext_lazy("patient", "iPhone (App Store)"),
    "play_store": pgettext_lazy("patient", "Android (Google Play)"),
    "how_heading": pgettext_lazy("patient", "How to"),
    "how_sign_in": pgettext_lazy(
        "patient",
        "Sign in: open the app or go to %(login_url)s and use the email address you gave us.",
    ),
    "how_message": pgettext_lazy(
        "patient",
        "Message us: choose Messages, then New message. We answer within one business day.",
    ),
    "how_book": pgettext_lazy(
        "patient", "Book: choose Appointments, then Schedule, and pick a time that suits you."
    ),
    "help": pgettext_lazy("patient", "Need help? Call %(practice)s at %(phone)s."),
    "never_ask": pgettext_lazy("patient", "We never ask for your password."),
    "qr_alt": pgettext_lazy(
        "patient", "QR code: scan it with your phone's camera to open the portal."
    ),
}


def handout_texts(texts: dict, language: str, *, first_name: str = "") -> dict[str, str]:
    """Every text of a handout in `language`, placeholders filled in.

    Rendered in the patient's language whatever the clerk's own: a language
    without texts falls back to English (patients.languages.patient_language).
    """
    values = {
        "practice": settings.PRACTICE_NAME,
        "phone": settings.PRACTICE_PHONE,
        "first_name": first_name,
        "login_url": settings.PORTAL_LOGIN_URL,
    }
    with patient_language_override(language):
        return {key: str(text) % values for key, text in texts.items()}
