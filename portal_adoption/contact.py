"""Checks of phone numbers and email addresses, shared by every app."""

import difflib

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email


class ContactInvalid(ValueError):
    pass


def phone_to_e164(text: str, *, region: str | None = None) -> str:
    """A phone number in E.164 (+12025550143); the practice's country is the default."""
    try:
        number = phonenumbers.parse(text, region or settings.PRACTICE_COUNTRY)
    except phonenumbers.NumberParseException:
        raise ContactInvalid(text) from None
    if not phonenumbers.is_valid_number(number):
        raise ContactInvalid(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_normalized(text: str) -> str:
    """The address with its domain in lower case, or ContactInvalid."""
    try:
        validate_email(text)
    except ValidationError:
        raise ContactInvalid(text) from None
    local, _at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


# Domains most patients use; a near miss ("gmial.com") is probably a typo.
COMMON_EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "aol.com",
    "icloud.com",
    "live.com",
    "msn.com",
    "comcast.net",
    "att.net",
    "verizon.net",
    "me.com",
    "protonmail.com",
)


def email_domain_suggestion(email: str) -> str | None:
    """The common domain a typed address probably meant, or None if it looks right."""
    domain = email.rpartition("@")[2].lower()
    if not domain or domain in COMMON_EMAIL_DOMAINS:
        return None
    close = difflib.get_close_matches(domain, COMMON_EMAIL_DOMAINS, n=1, cutoff=0.8)
    return close[0] if close else None
