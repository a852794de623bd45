"""What the patient reads on their own phone during QR self-enrollment.

The page follows the patient's preferred language, not the phone's: the
texts are in the gettext catalogues under the "patient" context, in the five
patient languages (patients.languages). Placeholders: %(practice)s,
%(first_name)s, %(phone)s.
"""

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from patients.languages import patient_language_override

TEXTS: dict[str, Promise] = {
    "page_title": pgettext_lazy("patient", "Set up your patient portal"),
    "greeting": pgettext_lazy("patient", "Hello %(first_name)s,"),
    "intro": pgettext_lazy(
        "patient",
        "%(practice)s invites you to its patient portal: message us, see your test "
        "results and schedule appointments, whenever it suits you.",
    ),
    "contact_heading": pgettext_lazy("patient", "Check your contact details"),
    "on_file": pgettext_lazy("patient", "We have:"),
    "nothing_on_file": pgettext_lazy("patient", "nothing on file"),
    "keep_hint": pgettext_lazy(
        "patient", "Leave this blank to keep what we have, or type the right one."
    ),
    "email_label": pgettext_lazy("patient", "Email address"),
    "mobile_label": pgettext_lazy("patient", "Mobile number"),
    "channel_legend": pgettext_lazy(
        "patient", "How should we let you know about new messages and results?"
    ),
    "channel_email": pgettext_lazy("patient", "By email"),
    "channel_sms": pgettext_lazy("patient", "By text message"),
    "consent": pgettext_lazy(
        "patient",
        "I agree to use the patient portal of %(practice)s and to receive its notifications.",
    ),
    "submit": pgettext_lazy("patient", "Continue"),
    "error_summary": pgettext_lazy("patient", "Please check the field marked below."),
    "error_email": pgettext_lazy(
        "patient", "Email address: type a valid address, or choose text messages."
    ),
    "error_mobile_phone": pgettext_lazy(
        "patient", "Mobile number: type it with the area code, or choose email."
    ),
    "error_notification_channel": pgettext_lazy(
        "patient", "Notifications: choose email or text message."
    ),
    "error_consent": pgettext_lazy("patient", "Agreement: tick the box to continue."),
    "done_title": pgettext_lazy("patient", "You're all set"),
    "done_intro": pgettext_lazy(
        "patient", "Your details are saved. Now create your portal login and get the app."
    ),
    "activate": pgettext_lazy("patient", "Activate your portal account"),
    "app_store": pgettext_lazy("patient", "Get the app on the App Store (iPhone)"),
    "play_store": pgettext_lazy("patient", "Get the app on Google Play (Android)"),
    "hand_back": pgettext_lazy("patient", "All done: let the front desk know you have finished."),
    "unusable_title": pgettext_lazy("patient", "This code can't be used any more"),
    "unusable_body": pgettext_lazy(
        "patient",
        "It has been used already or has expired: codes work once, for 15 minutes. "
        "Please ask the front desk for a new code.",
    ),
    "questions": pgettext_lazy("patient", "Questions? Call us at %(phone)s."),
}


def patient_texts(language: str, *, first_name: str = "") -> dict[str, str]:
    """Every text in `language` (a preferred-language tag), with the placeholders filled in.

    A language without texts falls back to English (patients.languages.patient_language).
    """
    values = {
        "practice": settings.PRACTICE_NAME,
        "phone": settings.PRACTICE_PHONE,
        "first_name": first_name,
    }
    with patient_language_override(language):
        return {key: str(text) % values for key, text in TEXTS.items()}
