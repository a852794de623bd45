"""Strict readers for settings that come from the environment.

django-environ parses URLs well but is lenient with booleans ("maybe" reads
as False). A clinic's deployment must fail loudly on a typo instead, so each
reader here raises ImproperlyConfigured naming the variable and the fix.
"""

import os
import zoneinfo

import environ
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    return os.environ.get(name)


def env_bool(name: str, *, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: set it to true or false.")


def env_int(name: str, *, default: int, minimum: int = 0) -> int:
    value = _raw(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a whole number: set it to e.g. {default}."
        ) from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}.")
    return number


def env_str(name: str, *, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value.strip()


def env_list(name: str, *, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_time_zone(name: str, *, default: str) -> str:
    value = env_str(name, default=default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an IANA time zone: "
            "use a name such as America/New_York or Europe/London."
        ) from None
    return value


def env_country(name: str, *, default: str) -> str:
    import phonenumbers

    value = env_str(name, default=default).upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a two-letter country code: use e.g. US, CA or GB."
        )
    return value


def env_database(name: str, *, default: str) -> dict:
    value = env_str(name, default=default) or default
    try:
        config = environ.Env.db_url_config(value)
    except Exception as error:  # django-environ raises several types
        raise ImproperlyConfigured(
            f"{name} could not be parsed ({error}): use a URL such as "
            "postgres://user:password@host:5432/dbname or sqlite:////path/to/file.sqlite3."
        ) from None
    if not config.get("ENGINE") or not config.get("NAME"):
        raise ImproperlyConfigured(
            f"{name} names no database: use a URL such as "
            "postgres://user:password@host:5432/dbname."
        )
    return config


def env_redis_url(name: str) -> str:
    value = env_str(name)
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a Redis URL: use e.g. redis://127.0.0.1:6379/0."
        )
    return value
