"""Reads for staff, roles and the access log."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from portal_adoption.models import AccessLogEntry, User
from portal_adoption.roles import GROUP_NAMES, Role


def client_ip(request: HttpRequest) -> str | None:
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        first_hop = forwarded.split(",")[0].strip()
        if first_hop:
            return first_hop
    return request.META.get("REMOTE_ADDR") or None


def user_roles(user: User) -> list[Role]:
    """The roles a user holds, in the order of the Role list."""
    if not user.is_authenticated:
        return []
    if user.is_superuser:
        return [Role.ADMINISTRATOR]
    return user_role_groups(user)


def user_role_groups(user: User) -> list[Role]:
    """The roles a user holds through groups (a superuser's flag is not a role)."""
    names = {group.name for group in user.groups.all()}
    return [role for role in Role if GROUP_NAMES[role] in names]


@dataclass(frozen=True)
class AccessLogFilter:
    user_id: int | None = None
    patient_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def access_log_search(filters: AccessLogFilter) -> QuerySet[AccessLogEntry]:
    """Access-log rows, newest first; dates are the practice's calendar days."""
    entries = AccessLogEntry.objects.select_related("user", "patient")
    if filters.user_id:
        entries = entries.filter(user_id=filters.user_id)
    if filters.patient_id:
        entries = entries.filter(patient_id=filters.patient_id)
    if filters.date_from:
        entries = entries.filter(occurred_at__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        entries = entries.filter(
            occurred_at__lt=_local_midnight(filters.date_to + timedelta(days=1))
        )
    return entries.order_by("-occurred_at", "-id")


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
