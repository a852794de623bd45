"""The event log's monthly partitions on PostgreSQL (issue 15, item 5).

`patients_activityevent` is partitioned by RANGE (occurred_at), one partition
per calendar month in UTC, plus a DEFAULT partition (migration 0013). A
month's rollup then reads that month's partitions, not the whole log, and
an old month can be detached or moved to cheaper storage on its own
(README, Operations).

- A month in UTC, not in the practice's time zone: the bounds never depend
  on a setting that may change, so two partitions can never overlap. A
  local month reads two partitions (its last hours are the next UTC month's
  first), which still leaves every other month out.
- The DEFAULT partition holds what no monthly partition takes: times far
  outside the event window kept as evidence (year 0001, 9999), history
  older than the first monthly partition, and a month nobody created a
  partition for in time. It keeps any insert from failing for want of a
  partition. It should stay small: creating a month's partition reads it.
- Months are created ahead (`MONTHS_AHEAD`) by the nightly rollup
  (metrics.services.rollup_nightly) and by the migration, each as an empty
  table that is then attached: `ATTACH PARTITION` takes a SHARE UPDATE
  EXCLUSIVE lock on the log, which does not stop inserts, where `CREATE
  TABLE ... PARTITION OF` takes ACCESS EXCLUSIVE. A CHECK constraint on the
  new table matching its bounds spares the attach a scan of it.
- Never inside an import's transaction: the nightly step runs on its own,
  with a lock timeout, and simply tries again the next night.

SQLite keeps the plain table: everything here does nothing there.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction

from portal_adoption.dates import next_month, previous_month

EVENT_LOG = "patients_activityevent"
DEFAULT_PARTITION = f"{EVENT_LOG}_default"
MONTHS_AHEAD = 3  # months created before they begin: three nights that can fail in a row
LOCK_TIMEOUT = "5s"  # wait no longer for a lock held by a long import: next night will do

log = logging.getLogger(__name__)


def month_partition_name(month: dt.date) -> str:
    return f"{EVENT_LOG}_y{month.year:04d}m{month.month:02d}"


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the calendar month of `month` in UTC."""
    start = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
    following = next_month(month)
    return start, dt.datetime(following.year, following.month, 1, tzinfo=dt.UTC)


def months_ahead(today: dt.date, count: int = MONTHS_AHEAD, *, back: int = 0) -> list[dt.date]:
    """The month of `today`, the `count` months after it and the `back` months before
    it (first days, in order)."""
    months = [today.replace(day=1)]
    for _ in range(back):
        months.insert(0, previous_month(months[0]))
    for _ in range(count):
        months.append(next_month(months[-1]))
    return months


def event_log_partitioned(cursor) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))",
        [EVENT_LOG],
    )
    return cursor.fetchone()[0]


def refuse_truncate_sql(table: str) -> str:
    """A TRUNCATE trigger for one partition: the parent's trigger does not fire for it."""
    return (
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION pam_refuse_truncate()"
    )


def month_partition_create(cursor, month: dt.date) -> bool:
    """Attach an empty partition for `month` if it has none; True when it made one.

    Runs in the caller's transaction (the migration's, or one of
    `event_partitions_ensure`). A month whose events already sit in the
    DEFAULT partition (nobody created its partition in time) is left there:
    attaching would need those rows moved, and the log refuses DELETE.
    """
    name = month_partition_name(month)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return False
    start, end = month_bounds(month)
    if _default_holds(cursor, start, end):
        log.warning("event log: the month %s stays in the default partition", f"{month:%Y-%m}")
        return False
    cursor.execute(
        f"CREATE TABLE {name} (LIKE {EVENT_LOG} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    # DDL takes no parameters: the bounds are written as literals (made here, not given).
    lower, upper = (f"'{moment.isoformat()}'::timestamptz" for moment in (start, end))
    cursor.execute(
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_bounds "
        f"CHECK (occurred_at >= {lower} AND occurred_at < {upper})"
    )
    # Indexes, the foreign key and the row triggers of the log come with the attach.
    cursor.execute(
        f"ALTER TABLE {EVENT_LOG} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})"
    )
    cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bounds")
    cursor.execute(refuse_truncate_sql(name))
    return True


def _default_holds(cursor, start: dt.datetime, end: dt.datetime) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT_PARTITION])
    if not cursor.fetchone()[0]:
        return False
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} "
        "WHERE occurred_at >= %s AND occurred_at < %s)",
        [start, end],
    )
    return cursor.fetchone()[0]


def event_partitions_ensure(
    today: dt.date | None = None, *, since: dt.date | None = None
) -> list[str]:
    """The nightly step: this month's partition and the next MONTHS_AHEAD ones, and
    with `since` every month from that one on (before a history is imported).

    Each month in its own short transaction with a lock timeout, so that
    it never waits long behind an import (and never runs inside one).
    Returns the names of the partitions it created; nothing on SQLite.
    """
    if connection.vendor != "postgresql":
        return []
    today = today or dt.datetime.now(dt.UTC).date()
    months = months_ahead(today)
    while since is not None and months[0] > since:
        months.insert(0, previous_month(months[0]))
    created = []
    for month in months:
        with transaction.atomic(), connection.cursor() as cursor:
            if not event_log_partitioned(cursor):
                return created
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            if month_partition_create(cursor, month):
                created.append(month_partition_name(month))
    return created
