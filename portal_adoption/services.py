"""Writes for staff accounts, roles and the access log."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.http import HttpRequest

from portal_adoption.models import AccessAction, AccessLogEntry, AccessOutcome, User
from portal_adoption.roles import GROUP_NAMES, ROLE_PERMISSIONS, Role
from portal_adoption.selectors import client_ip


@transaction.atomic
def roles_sync() -> None:
    """Make each role's group hold exactly the permissions in ROLE_PERMISSIONS.

    Permissions that do not exist yet are skipped: migrate sends its signal
    once per app, and the last call sees them all.
    """
    for role, codes in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=GROUP_NAMES[role])
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


@transaction.atomic
def staff_set_roles(*, user: User, roles: Iterable[Role]) -> None:
    """Replace the user's roles. Administrators get the admin site (is_staff)."""
    roles = set(roles)
    role_groups = Group.objects.filter(name__in=GROUP_NAMES.values())
    user.groups.remove(*role_groups)
    user.groups.add(*Group.objects.filter(name__in=[GROUP_NAMES[r] for r in roles]))
    is_staff = Role.ADMINISTRATOR in roles or user.is_superuser
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])


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
    return AccessLogEntry.objects.create(
        **_request_fields(request),
        action=action,
        outcome=outcome,
        resource=resource,
        object_id=str(object_id),
        patient=patient,
    )


def access_log_record_list(*, request: HttpRequest, resource: str, patients: Iterable) -> int:
    """Log every patient a list page or list endpoint showed: one row each."""
    fields = _request_fields(request)
    rows = [
        AccessLogEntry(
            **fields,
            action=AccessAction.LIST,
            outcome=AccessOutcome.ALLOWED,
            resource=resource,
            object_id=str(patient.pk),
            patient=patient,
        )
        for patient in patients
    ]
    AccessLogEntry.objects.bulk_create(rows)
    return len(rows)


def access_log_record_denied(*, request: HttpRequest) -> AccessLogEntry:
    """A request refused for lack of a role or a login."""
    match = getattr(request, "resolver_match", None)
    kwargs = match.kwargs if match else {}
    return access_log_record(
        request=request,
        action=AccessAction.VIEW,
        outcome=AccessOutcome.DENIED,
        resource=(match.view_name if match else "")[:64] or "unknown",
        object_id=str(next(iter(kwargs.values()), ""))[:64],
    )


def _request_fields(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return {
        "user": user if authenticated else None,
        "username": user.get_username() if authenticated else "",
        "method": request.method or "",
        # The path only: query strings can carry search terms.
        "path": request.path[:300],
        "ip_address": client_ip(request),
    }
