"""Delivery channels: email through Django's backend, SMS through a small backend interface.

SMS_BACKEND names the class: the console and file backends are for
development only (they write names, numbers and live survey links where
logs go; messaging/checks.py makes them a deployment error outside DEBUG);
TwilioSmsBackend talks to Twilio's REST API (its base address is a
setting, so tests point it at a fake server on this machine);
NoSmsBackend, the default outside DEBUG until Twilio is configured, sends
nothing: texts are marked "not sent" with the reason "no SMS provider
configured", which managers see in the communications log.
"""

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.module_loading import import_string


class DeliveryError(Exception):
    """The channel did not take the message; it may be tried again.

    Its text never holds a number, an address or the message: it is shown on
    the managers' nightly page and written to logs.
    """

    patient_free = True


NO_SMS_PROVIDER = "no SMS provider configured"


class NoSmsBackend:
    """No SMS provider: nothing is sent, and nothing is written anywhere.

    `available = False` makes outreach send email instead where the patient
    has an address, and mark the other texts suppressed (NO_SMS_PROVIDER).
    """

    available = False

    def send(self, *, to: str, text: str) -> str:
        raise DeliveryError(NO_SMS_PROVIDER)


class ConsoleSmsBackend:
    """Development: prints the text to the console (never configure this in production)."""

    def send(self, *, to: str, text: str) -> str:
        print(f"[SMS to {to}] {text}")
        return "console"


class FileSmsBackend:
    """Development: writes each text to a file under var/sms/."""

    def send(self, *, to: str, text: str) -> str:
        folder = Path(settings.VAR_DIR) / "sms"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%d-%H%M%S-%f}.txt"
        (folder / name).write_text(f"To: {to}\n\n{text}\n")
        return name


class TwilioSmsBackend:
    """Twilio's Messages API: POST /2010-04-01/Accounts/{sid}/Messages.json."""

    def send(self, *, to: str, text: str) -> str:
        sid = settings.TWILIO_ACCOUNT_SID
        url = f"{settings.TWILIO_API_BASE.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        data = urllib.parse.urlencode(
            {"To": to, "From": settings.TWILIO_FROM_NUMBER, "Body": text}
        ).encode()
        request = urllib.request.Request(url, data=data, method="POST")
        credentials = f"{sid}:{settings.TWILIO_AUTH_TOKEN}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"{}").get("sid", "")
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            # No message text or number in the error: it ends up in logs.
            raise DeliveryError(
                f"SMS provider refused or unreachable: {type(error).__name__}"
            ) from None


def sms_backend():
    return import_string(settings.SMS_BACKEND)()


def sms_available() -> bool:
    """False when SMS_BACKEND sends nothing (NoSmsBackend)."""
    return getattr(import_string(settings.SMS_BACKEND), "available", True)


def send_sms(*, to: str, text: str) -> str:
    return sms_backend().send(to=to, text=text)


def send_email(*, to: str, subject: str, text: str, unsubscribe_url: str = "") -> None:
    message = EmailMessage(subject=subject, body=text, to=[to])
    if unsubscribe_url:
        message.headers = {"List-Unsubscribe": f"<{unsubscribe_url}>"}
    try:
        message.send(fail_silently=False)
    except Exception as error:  # SMTP and backend errors alike: try again later
        raise DeliveryError(f"email not sent: {type(error).__name__}") from None
