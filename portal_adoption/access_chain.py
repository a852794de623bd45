"""The access log's hash chain: each row carries a hash of itself and of the row before.

Database triggers refuse UPDATE, DELETE and TRUNCATE on the access log, but
a superuser or the table's owner can switch triggers off. The chain makes
such an edit visible afterwards: each row has a position (1, 2, 3, ...
without gaps) and a SHA-256 hash of its content, its position and the hash
of the row before it. Change a row and its hash no longer matches; remove
one and the positions skip; renumber or reorder them and the hashes of the
rows after break. `manage.py verify_access_log` walks the chain and names
the first broken link.

Appends are serialized: one writer at a time reads the head of the chain
and inserts after it, so concurrent requests still make one unbroken chain.
On PostgreSQL a transaction-scoped advisory lock does it, held until the
writer's transaction ends (keep log writes out of long transactions); on
SQLite the whole database has one writer at a time already (transactions
begin IMMEDIATE, see settings). The unique position is the backstop: two
writers can never both extend the chain from the same row.

Rows written before the chain existed were chained, in the order of their
ids, by the migration that added it (access_log_hash_chain): the chain proves
they have not changed since that upgrade, not before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal_adoption.models import AccessLogEntry

# The hash "before" the first row.
GENESIS_HASH = "0" * 64
# Part of every hash: a later change of what is hashed gets a new version.
CHAIN_VERSION = "pam-access-log-1"
# Any constant: the advisory lock that serializes appends to the chain.
CHAIN_LOCK_ID = 7_351_010
VERIFY_CHUNK_SIZE = 2000

HASHED_FIELDS = (
    "chain_position",
    "occurred_at",
    "user_id",
    "username",
    "action",
    "outcome",
    "resource",
    "object_id",
    "patient_id",
    "method",
    "path",
    "ip_address",
)


def entry_digest(entry, previous_hash: str) -> str:
    """The hash of one row, given the hash of the row before it.

    Works on any object with the HASHED_FIELDS attributes (the migration
    passes its historical model). Values are put in the form the database
    gives them back, so a hash made before the insert matches the row read
    later: times in UTC to the microsecond, addresses in canonical form.
    """
    payload = [
        CHAIN_VERSION,
        entry.chain_position,
        previous_hash,
        _canonical_time(entry.occurred_at),
        entry.user_id,
        entry.username,
        entry.action,
        entry.outcome,
        entry.resource,
        entry.object_id,
        entry.patient_id,
        entry.method,
        entry.path,
        _canonical_address(entry.ip_address),
    ]
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical_time(moment: dt.datetime) -> str:
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _canonical_address(address) -> str:
    return str(ipaddress.ip_address(address)) if address else ""


def chain_append(entries: Sequence[AccessLogEntry]) -> Sequence[AccessLogEntry]:
    """Insert unsaved entries at the end of the chain, in order, in one statement.

    The only way rows enter the access log: the position and hash columns
    are required, so a row written any other way is refused.
    """
    if not entries:
        return entries
    with transaction.atomic():
        _lock_chain()
        position, previous = _chain_head()
        for entry in entries:
            position += 1
            entry.chain_position = position
            entry.entry_hash = entry_digest(entry, previous)
            previous = entry.entry_hash
        AccessLogEntry.objects.bulk_create(entries)
    return entries


def _lock_chain() -> None:
    """One writer at a time until this transaction ends. SQLite has one writer already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])


def _chain_head() -> tuple[int, str]:
    """The last row's position and hash; (0, GENESIS_HASH) for an empty log.

    Read after the lock is taken, in a statement of its own, so under READ
    COMMITTED it sees the row the previous writer committed.
    """
    head = (
        AccessLogEntry.objects.order_by("-chain_position")
        .values_list("chain_position", "entry_hash")
        .first()
    )
    return head or (0, GENESIS_HASH)


@dataclass(frozen=True)
class BrokenLink:
    """Where the chain breaks, and what the break means."""

    entry_id: int
    position: int
    reason: str

    def describe(self) -> str:
        return _("Row %(id)d (position %(position)d): %(reason)s") % {
            "id": self.entry_id,
            "position": self.position,
            "reason": self.reason,
        }


@dataclass
class ChainWalk:
    """What a walk of the chain found: rows read, the head, and every break."""

    rows: int = 0
    head_position: int = 0
    head_hash: str = GENESIS_HASH
    head_id: int | None = None

    def breaks(self) -> Iterator[BrokenLink]:
        expected, previous = 1, GENESIS_HASH
        rows = AccessLogEntry.objects.order_by("chain_position").values_list(
            "id", "entry_hash", *HASHED_FIELDS
        )
        for values in rows.iterator(chunk_size=VERIFY_CHUNK_SIZE):
            row = _Row(*values)
            self.rows += 1
            if row.chain_position != expected:
                yield BrokenLink(row.id, row.chain_position, _missing(expected, row))
            elif entry_digest(row, previous) != row.entry_hash:
                yield BrokenLink(row.id, row.chain_position, _changed())
            # Go on from the stored hash, so one bad row does not condemn the rest.
            expected, previous = row.chain_position + 1, row.entry_hash
            self.head_position, self.head_hash, self.head_id = (
                row.chain_position,
                row.entry_hash,
                row.id,
            )

    def hash_at(self, position: int) -> str | None:
        return (
            AccessLogEntry.objects.filter(chain_position=position)
            .values_list("entry_hash", flat=True)
            .first()
        )


@dataclass(frozen=True)
class _Row:
    id: int
    entry_hash: str
    chain_position: int
    occurred_at: dt.datetime
    user_id: int | None
    username: str
    action: str
    outcome: str
    resource: str
    object_id: str
    patient_id: int | None
    method: str
    path: str
    ip_address: str | None


def _missing(expected: int, row: _Row) -> str:
    if row.chain_position < expected:
        return _("its position repeats one before it: rows were renumbered.")
    return _("the rows at positions %(first)d to %(last)d are missing: rows were deleted.") % {
        "first": expected,
        "last": row.chain_position - 1,
    }


def _changed() -> str:
    return _(
        "its hash does not match its content and the row before it: this row was changed "
        "after it was written (or the row before it was, and its hash rewritten)."
    )
