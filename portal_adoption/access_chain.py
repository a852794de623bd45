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

A list view writes one row for the whole list; the patients it showed are
rows of AccessLogPatient, and their ids (sorted) are part of the entry's
hash, so a patient added to or removed from a list afterwards breaks the
link as a changed row would. Entries without listed patients hash as they
always did, so the rows written before lists had patients still verify.

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

from portal_adoption.models import AccessLogEntry, AccessLogPatient

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


def entry_digest(entry, previous_hash: str, listed_patient_ids=()) -> str:
    """The hash of one row, given the hash of the row before it.

    Works on any object with the HASHED_FIELDS attributes (the migration
    passes its historical model). Values are put in the form the database
    gives them back, so a hash made before the insert matches the row read
    later: times in UTC to the microsecond, addresses in canonical form.
    The patients a list entry showed are hashed after the fields, only when
    there are some (an entry without them hashes as before lists had them).
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
    if listed_patient_ids:
        payload.append(sorted(int(pk) for pk in listed_patient_ids))
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical_time(moment: dt.datetime) -> str:
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _canonical_address(address) -> str:
    return str(ipaddress.ip_address(address)) if address else ""


def chain_append(
    entries: Sequence[AccessLogEntry], *, listed_patient_ids: Sequence[int] = ()
) -> Sequence[AccessLogEntry]:
    """Insert unsaved entries at the end of the chain, in order, in one statement.

    The only way rows enter the access log: the position and hash columns
    are required, so a row written any other way is refused.
    `listed_patient_ids`: the patients a single list entry showed, written
    beside it (AccessLogPatient) in the same transaction.
    """
    if not entries:
        return entries
    if listed_patient_ids and len(entries) != 1:
        raise ValueError("listed patients belong to exactly one list entry")
    listed = sorted(set(listed_patient_ids))
    with transaction.atomic():
        _lock_chain()
        position, previous = _chain_head()
        for entry in entries:
            position += 1
            entry.chain_position = position
            entry.entry_hash = entry_digest(entry, previous, listed)
            previous = entry.entry_hash
        AccessLogEntry.objects.bulk_create(entries)
        if listed:
            (entry,) = entries
            if entry.pk is None:  # a backend that does not return ids from bulk inserts
                entry.pk = AccessLogEntry.objects.get(chain_position=entry.chain_position).pk
            AccessLogPatient.objects.bulk_create(
                AccessLogPatient(entry_id=entry.pk, patient_id=pk) for pk in listed
            )
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
        for row, listed in _rows_with_listed_patients():
            self.rows += 1
            if row.chain_position != expected:
                yield BrokenLink(row.id, row.chain_position, _missing(expected, row))
            elif entry_digest(row, previous, listed) != row.entry_hash:
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


def _rows_with_listed_patients() -> Iterator[tuple[_Row, list[int]]]:
    """Every row in chain order, with the patients it listed: a chunk of rows, then one
    query for the listed patients of that chunk."""
    last = 0
    while True:
        chunk = [
            _Row(*values)
            for values in AccessLogEntry.objects.filter(chain_position__gt=last)
            .order_by("chain_position")
            .values_list("id", "entry_hash", *HASHED_FIELDS)[:VERIFY_CHUNK_SIZE]
        ]
        if not chunk:
            return
        listed: dict[int, list[int]] = {}
        for entry_id, patient_id in AccessLogPatient.objects.filter(
            entry__chain_position__gt=last,
            entry__chain_position__lte=chunk[-1].chain_position,
        ).values_list("entry_id", "patient_id"):
            listed.setdefault(entry_id, []).append(patient_id)
        for row in chunk:
            yield row, listed.get(row.id, [])
        last = chunk[-1].chain_position


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
