"""Reads for staff, roles and the access log."""

import ipaddress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from portal_adoption.models import AccessLogEntry, AccessLogPatient, User
from portal_adoption.roles import GROUP_NAMES, Role


def client_ip(request: HttpRequest) -> str | None:
    """The address of whoever sent the request: THE client-address function.

    Everything that needs the client's address calls this (the access log,
    the sign-in lockout through AXES_CLIENT_IP_CALLABLE, throttles); a test
    fails if any other code reads the address headers.

    With no trusted proxy (TRUSTED_PROXY_COUNT=0) it is the peer that
    connected, REMOTE_ADDR. Behind N proxies each one appends the address
    it received the request from to X-Forwarded-For, so the N-th hop from
    the right was written by the outermost of our own proxies and is the
    client; every hop left of it came from the client and may be forged.
    With fewer hops than proxies every hop was written by a proxy, and the
    left-most is the client. None when the address cannot be read.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    hops = _forwarded_hops(request) if proxies else []
    address = hops[-min(proxies, len(hops))] if hops else request.META.get("REMOTE_ADDR", "")
    return _canonical_address(address)


def _forwarded_hops(request: HttpRequest) -> list[str]:
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return [hop.strip() for hop in header.split(",") if hop.strip()]


def _canonical_address(text: str) -> str | None:
    """An IP address as PostgreSQL writes it back; a proxy's port is dropped."""
    for candidate in (text, _without_port(text)):
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if address.version == 6 and address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(address).split("%", 1)[0]
    return None


def _without_port(text: str) -> str:
    """'[2001:db8::1]:443' and '192.0.2.1:443' without the port, as some proxies write them."""
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    host, _colon, port = text.rpartition(":")
    return host if host.count(":") == 0 and port.isdigit() else text


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
    """Access-log rows, newest first; dates are the practice's calendar days.

    A patient's rows are those naming them and the lists that showed them
    (one row per list view, its patients in AccessLogPatient).
    """
    entries = AccessLogEntry.objects.select_related("user", "patient")
    if filters.user_id:
        entries = entries.filter(user_id=filters.user_id)
    if filters.patient_id:
        listed = AccessLogPatient.objects.filter(entry=OuterRef("pk"), patient=filters.patient_id)
        entries = entries.filter(Q(patient_id=filters.patient_id) | Exists(listed))
    if filters.date_from:
        entries = entries.filter(occurred_at__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        entries = entries.filter(
            occurred_at__lt=_local_midnight(filters.date_to + timedelta(days=1))
        )
    return entries.order_by("-occurred_at", "-id")


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def access_log_listed_counts(entry_ids) -> dict[int, int]:
    """How many patients each of these list entries showed ({} for entries without)."""
    rows = (
        AccessLogPatient.objects.filter(entry_id__in=list(entry_ids))
        .values("entry_id")
        .annotate(count=Count("id"))
        .values_list("entry_id", "count")
    )
    return dict(rows)
