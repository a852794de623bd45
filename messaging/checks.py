"""Deployment checks for the channels that reach patients (`manage.py check --deploy`).

The console and file backends write every email and text (names, phone
numbers, addresses, live survey links) to the console or a file, which in
production means the logs. They are for development: outside DEBUG they are
an error, so `check --deploy` (run on every release, and in CI) refuses them.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.utils.module_loading import import_string

from messaging.channels import ConsoleSmsBackend, FileSmsBackend

E_EMAIL = "messaging.E001"
E_SMS = "messaging.E002"


@register(Tags.security, deploy=True)
def development_backends_outside_debug(app_configs=None, **kwargs) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    # The file backend is a console backend that writes to a file: one class covers both.
    if _is_backend(settings.EMAIL_BACKEND, ConsoleEmailBackend):
        errors.append(
            Error(
                "EMAIL_BACKEND writes every email (patients' names, addresses and survey "
                "links) to the console or a file, and DEBUG is off.",
                hint="Unset EMAIL_BACKEND (outside DEBUG it defaults to SMTP) and set "
                "EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD and "
                "EMAIL_USE_TLS for the practice's mail server.",
                id=E_EMAIL,
            )
        )
    if _is_backend(settings.SMS_BACKEND, (ConsoleSmsBackend, FileSmsBackend)):
        errors.append(
            Error(
                "SMS_BACKEND writes every text (patients' phone numbers and survey links) "
                "to the console or a file, and DEBUG is off.",
                hint="Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER (and "
                "unset SMS_BACKEND); without a provider, unset SMS_BACKEND and no text is "
                "sent (messaging.channels.NoSmsBackend).",
                id=E_SMS,
            )
        )
    return errors


def _is_backend(dotted_path: str, kinds) -> bool:
    try:
        backend = import_string(dotted_path)
    except ImportError:
        return False  # Django and the first send say so; this check is about logs
    return isinstance(backend, type) and issubclass(backend, kinds)
