"""Writes for staff accounts, roles and the access log."""

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from portal_adoption.access_chain import chain_append
from portal_adoption.models import (
    AccessAction,
    AccessLogEntry,
    AccessOutcome,
    IntegrationToken,
    User,
)
from portal_adoption.roles import (
    GROUP_NAMES,
    INTEGRATION_GROUP,
    ROLE_PERMISSIONS,
    SERVICE_GROUP_PERMISSIONS,
    Role,
)
from portal_adoption.selectors import client_ip


@transaction.atomic
def roles_sync() -> None:
    """Make each role's group hold exactly the permissions in ROLE_PERMISSIONS.

    Permissions that do not exist yet are skipped: migrate sends its signal
    once per app, and the last call sees them all.
    """
    groups = {GROUP_NAMES[role]: codes for role, codes in ROLE_PERMISSIONS.items()}
    for name, codes in (groups | SERVICE_GROUP_PERMISSIONS).items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions_for(codes))


def roles_sync_after_migrate(*, using: str = "default", **kwargs) -> None:
    if using == "default":
        roles_sync()


def _permissions_for(codes: Iterable[str]) -> list[Permission]:
    wanted = {tuple(code.split(".", 1)) for code in codes}
    candidates = Permission.objects.filter(
        codename__in=[codename for _app, codename in wanted]
    ).select_related("content_type")
    return [p for p in candidates if (p.content_type.app_label, p.codename) in wanted]


@dataclass(frozen=True)
class RoleChange:
    added: frozenset[Role]
    removed: frozenset[Role]


@transaction.atomic
def staff_set_roles(*, user: User, roles: Iterable[Role]) -> RoleChange:
    """Replace the user's roles. Administrators get the admin site (is_staff).

    is_staff follows the Administrator role and nothing else: no form sets it.
    """
    roles = {Role(role) for role in roles}
    held_names = set(
        user.groups.filter(name__in=GROUP_NAMES.values()).values_list("name", flat=True)
    )
    held = {role for role in Role if GROUP_NAMES[role] in held_names}
    role_groups = Group.objects.filter(name__in=GROUP_NAMES.values())
    user.groups.remove(*role_groups)
    user.groups.add(*Group.objects.filter(name__in=[GROUP_NAMES[r] for r in roles]))
    is_staff = Role.ADMINISTRATOR in roles or user.is_superuser
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    return RoleChange(added=frozenset(roles - held), removed=frozenset(held - roles))


# What an administrator may change on a staff account besides roles and the active flag.
STAFF_DETAIL_FIELDS = ("username", "first_name", "last_name", "email", "location")


@transaction.atomic
def staff_account_save(
    *,
    request: HttpRequest,
    account: User,
    roles: Iterable[Role],
    changed_fields: Iterable[str],
    created: bool,
) -> RoleChange:
    """An administrator's edit of a staff account, in the access log.

    1. Only a superuser may change a superuser's account (superusers are made
       with createsuperuser, never through a form).
    2. Roles are set by staff_set_roles, which also sets is_staff.
    3. One CHANGE row per thing changed, each naming the account by its id:
       staff_created, staff_role_added:<role>, staff_role_removed:<role>,
       staff_activated / staff_deactivated, staff_details:<fields>.
    """
    staff_account_check_may_change(actor=request.user, account=account)
    change = staff_set_roles(user=account, roles=roles)
    changed = set(changed_fields)
    what = ["staff_created"] if created else []
    what += [f"staff_role_added:{role.value}" for role in sorted(change.added)]
    what += [f"staff_role_removed:{role.value}" for role in sorted(change.removed)]
    if "is_active" in changed and not created:
        what.append("staff_activated" if account.is_active else "staff_deactivated")
    details = [name for name in STAFF_DETAIL_FIELDS if name in changed]
    if details and not created:
        what.append("staff_details:" + ",".join(details))
    for resource in what:
        staff_account_log(request=request, account=account, what=resource)
    return change


def staff_language_set(*, user: User, language: str) -> User:
    """The staff member's own interface language; blank: the browser's, else the practice's."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError(f"not an interface language: {language!r}")
    user.language = language
    user.save(update_fields=["language"])
    return user


def staff_account_check_may_change(*, actor, account: User) -> None:
    if account.is_superuser and not getattr(actor, "is_superuser", False):
        raise PermissionDenied(_("Only a superuser may change a superuser's account."))


def staff_account_log(*, request: HttpRequest, account: User, what: str) -> AccessLogEntry:
    """One CHANGE row about a staff account: `what` says what changed."""
    return access_log_record(
        request=request,
        action=AccessAction.CHANGE,
        resource=what[:64],
        object_id=account.pk,
    )


def access_log_record(
    *,
    request: HttpRequest,
    action: str,
    resource: str,
    outcome: str = AccessOutcome.ALLOWED,
    object_id: str = "",
    patient=None,
) -> AccessLogEntry:
    """Write one access-log row for this request."""
    entry = AccessLogEntry(
        **_request_fields(request),
        action=action,
        outcome=outcome,
        resource=resource,
        object_id=_fit(object_id, "object_id"),
        patient=patient,
    )
    chain_append([entry])
    return entry


def access_log_record_list(*, request: HttpRequest, resource: str, patients: Iterable) -> int:
    """Log the patients a list page or list endpoint showed: ONE row for the list.

    The patients are rows of AccessLogPatient beside it (and part of its hash),
    so a search of the log by patient finds the list without a row per patient
    burying the real reads. With one patient the row names them as well. A
    list that showed nobody writes nothing. Returns how many patients it logged.
    """
    shown = {patient.pk: patient for patient in patients if patient is not None}
    if not shown:
        return 0
    only = next(iter(shown.values())) if len(shown) == 1 else None
    entry = AccessLogEntry(
        **_request_fields(request),
        action=AccessAction.LIST,
        outcome=AccessOutcome.ALLOWED,
        resource=_fit(resource, "resource"),
        object_id=str(only.pk) if only else "",
        patient=only,
    )
    chain_append([entry], listed_patient_ids=list(shown))
    return len(shown)


def access_log_record_denied(*, request: HttpRequest, user=None) -> AccessLogEntry:
    """A request refused for lack of a role, a login, a valid key or a CSRF token.

    `user` is who the API authenticated, when it is not the session's user.
    """
    match = getattr(request, "resolver_match", None)
    kwargs = match.kwargs if match else {}
    entry = AccessLogEntry(
        **_request_fields(request, user=user),
        action=AccessAction.VIEW,
        outcome=AccessOutcome.DENIED,
        resource=_fit(match.view_name if match else "", "resource") or "unknown",
        object_id=_fit(next(iter(kwargs.values()), ""), "object_id"),
    )
    chain_append([entry])
    return entry


def access_log_record_throttled(*, request: HttpRequest, kind: str) -> AccessLogEntry:
    """The one row for an address whose refusals passed the limit in this window.

    The 429s after it write nothing (portal_adoption/throttling.py).
    """
    entry = AccessLogEntry(
        **_request_fields(request),
        action=AccessAction.VIEW,
        outcome=AccessOutcome.DENIED,
        resource=_fit(f"throttled:{kind}", "resource"),
    )
    chain_append([entry])
    return entry


def _request_fields(request: HttpRequest, user=None) -> dict:
    user = user or getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return {
        "user": user if authenticated else None,
        "username": user.get_username() if authenticated else "",
        "method": _fit(request.method, "method"),
        # The path only: query strings can carry search terms.
        "path": _fit(request.path, "path"),
        "ip_address": client_ip(request),
    }


def _fit(value, field: str) -> str:
    """Text the database can store as it is: no NUL, no lone surrogate, cut to size.

    Paths and URL arguments come from outside (/patients/%00/ is a valid
    request): a log row must never be the thing that fails.
    """
    text = ("" if value is None else str(value)).replace("\x00", "\\x00")
    text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text[: AccessLogEntry._meta.get_field(field).max_length]


TOKEN_KEY_PREFIX = "pam_"
# last_used_at is a hint for administrators; writing it on every call would
# turn each API read into a write.
TOKEN_USE_RECORD_INTERVAL = timedelta(minutes=5)


def token_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def integration_token_create(*, name: str, created_by: User | None) -> tuple[IntegrationToken, str]:
    """A new token and its service account. The key is returned once and never stored."""
    random_part = secrets.token_urlsafe(32)
    key = TOKEN_KEY_PREFIX + random_part
    account = User.objects.create(
        username=f"integration-{slugify(name)[:100]}-{random_part[:6].lower()}",
        first_name=name[:150],
        is_active=True,
    )
    account.set_unusable_password()
    account.save(update_fields=["password"])
    account.groups.add(Group.objects.get(name=INTEGRATION_GROUP))
    token = IntegrationToken.objects.create(
        name=name,
        account=account,
        key_prefix=random_part[:8],
        key_hash=token_key_hash(key),
        created_by=created_by,
    )
    return token, key


def integration_token_revoke(*, token: IntegrationToken) -> None:
    """Revoked at once: the next call with the key is refused."""
    IntegrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def integration_token_mark_used(*, token: IntegrationToken) -> None:
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < TOKEN_USE_RECORD_INTERVAL:
        return
    IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
