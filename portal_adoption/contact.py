"""Checks of phone numbers and email addresses, shared by every app."""

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


def email_normalised(text: str) -> str:
    """The address with its domain in lower case, or ContactInvalid."""
    try:
        validate_email(text)
    except ValidationError:
        raise ContactInvalid(text) from None
    local, _at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"
