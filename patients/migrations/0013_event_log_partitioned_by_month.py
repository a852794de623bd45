"""The event log partitioned by month on PostgreSQL, and its key table (issue 15, item 5).

PostgreSQL: `patients_activityevent` becomes a table PARTITION BY RANGE
(occurred_at), one partition per UTC month and a DEFAULT partition
(patients/partitions.py says why). The rows move: a new parent, a partition
for every month that holds rows (from 1900 on), the last 24 months and the
next three,
`INSERT ... SELECT` in id order, then the old table is dropped and the new
one takes its name. Kept: the ids and their sequence (the next id is past
every id given so far), the indexes and check constraints by name, the
foreign key to patients, the append-only row trigger (on the parent, which
PostgreSQL copies to every partition, attached later or not) and a TRUNCATE
trigger on the parent and on each partition (a statement trigger of the
parent does not fire for a partition truncated by name).

Changed, and why the Django model stays as it is:

- The primary key is (id, occurred_at): a partitioned table's unique
  indexes must hold the partition key. Django still believes `id` alone is
  the key, which stays true in fact (one sequence gives every id), and
  nothing references the log by foreign key, which would need `id` alone.
- `event_id` is no longer unique in the log itself, for the same reason:
  the key table `patients_eventkey` (EventKey) is, filled by a BEFORE
  INSERT trigger on the log, so a repeated event_id is still a unique
  violation, whoever writes it. The model keeps `unique=True`, which is the
  rule; the `_like` index stays and serves look-ups inside a partition.
- The key table is append-only like the log.

SQLite keeps the plain table (and an empty key table): the same code runs.

Reversible: backwards, the rows move into a plain table with the schema of
0012 (unique event_id, primary key id), and the key table goes.
"""

import datetime as dt

from django.db import migrations, models

from patients.partitions import (
    DEFAULT_PARTITION,
    EVENT_LOG,
    month_bounds,
    month_partition_create,
    months_ahead,
    refuse_truncate_sql,
)
from portal_adoption.db import APPEND_ONLY_SQL, REFUSE_TRUNCATE_SQL

OLD = f"{EVENT_LOG}_unpartitioned"
KEYS = "patients_eventkey"
SEQUENCE = f"{EVENT_LOG}_id_seq"
KEY_TRIGGER = f"{EVENT_LOG}_event_key"
# A new install gets the last two years too, for the history it will import first.
HISTORY_MONTHS = 24
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)  # the event window's first day

KEY_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION pam_event_key_insert() RETURNS trigger AS $$
    BEGIN
        -- A repeated event_id is a unique violation here, in whichever month.
        INSERT INTO {KEYS} (event_id, occurred_at) VALUES (NEW.event_id, NEW.occurred_at);
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
"""


DROP_KEY_LIKE_INDEX = f"""
    DO $$
    DECLARE name text;
    BEGIN
        FOR name IN SELECT indexname FROM pg_indexes
                    WHERE tablename = '{KEYS}' AND right(indexname, 5) = '_like' LOOP
            EXECUTE 'DROP INDEX ' || quote_ident(name);
        END LOOP;
    END
    $$
"""


def _append_only(cursor, table: str, direction: str = "forward") -> None:
    for sql in APPEND_ONLY_SQL["postgresql"][direction] + REFUSE_TRUNCATE_SQL["postgresql"][
        direction
    ]:
        cursor.execute(sql.format(table=table))


def _rename_away(cursor) -> tuple[list[str], list[str], int]:
    """Rename the plain table out of the way; its indexes' and foreign key's
    definitions (to make again on the new table), and the next id."""
    cursor.execute(f"LOCK TABLE {EVENT_LOG} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s "
        "AND i.indexname NOT IN (SELECT conname FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u'))",
        [EVENT_LOG, EVENT_LOG],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype = 'f'",
        [EVENT_LOG],
    )
    foreign_keys = [f"ALTER TABLE {EVENT_LOG} ADD CONSTRAINT {n} {d}" for n, d in cursor.fetchall()]
    cursor.execute(f"SELECT pg_get_serial_sequence('{EVENT_LOG}', 'id')")
    sequence = cursor.fetchone()[0]
    cursor.execute(
        f"SELECT greatest((SELECT last_value FROM {sequence}), "
        f"(SELECT coalesce(max(id), 0) FROM {EVENT_LOG})) + 1"
    )
    next_id = cursor.fetchone()[0]
    # Its sequence goes: the new table's own takes over at next_id.
    cursor.execute(f"ALTER TABLE {EVENT_LOG} ALTER COLUMN id DROP IDENTITY IF EXISTS")
    for name, _definition in indexes:
        cursor.execute(f"ALTER INDEX {name} RENAME TO {name}_unpartitioned")
    cursor.execute(f"ALTER TABLE {EVENT_LOG} RENAME TO {OLD}")
    return [definition for _name, definition in indexes], foreign_keys, next_id


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        indexes, foreign_keys, next_id = _rename_away(cursor)
        cursor.execute(
            f"CREATE TABLE {EVENT_LOG} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            "PARTITION BY RANGE (occurred_at)"
        )
        cursor.execute(f"CREATE SEQUENCE {SEQUENCE} OWNED BY {EVENT_LOG}.id")
        cursor.execute("SELECT setval(%s, %s, false)", [SEQUENCE, next_id])
        cursor.execute(f"ALTER TABLE {EVENT_LOG} ALTER COLUMN id SET DEFAULT nextval('{SEQUENCE}')")
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {EVENT_LOG} DEFAULT")
        cursor.execute(refuse_truncate_sql(DEFAULT_PARTITION))
        ahead = months_ahead(dt.datetime.now(dt.UTC).date(), back=HISTORY_MONTHS)
        # Times outside these months (year 0001, 9999) stay in the DEFAULT partition.
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date "
            f"FROM {OLD} WHERE occurred_at >= %s AND occurred_at < %s",
            [EARLIEST, month_bounds(ahead[-1])[1]],
        )
        held = {row[0] for row in cursor.fetchall()}
        for month in sorted(held | set(ahead)):
            month_partition_create(cursor, month)
        # In id order, as the log was appended to; the keys in one go, before their trigger.
        cursor.execute(f"INSERT INTO {EVENT_LOG} SELECT * FROM {OLD} ORDER BY id")
        cursor.execute(f"INSERT INTO {KEYS} (event_id, occurred_at) SELECT event_id, occurred_at FROM {OLD}")
        cursor.execute(f"DROP TABLE {OLD}")
        cursor.execute(f"ALTER TABLE {EVENT_LOG} ADD PRIMARY KEY (id, occurred_at)")
        for statement in indexes + foreign_keys:
            cursor.execute(statement)
        cursor.execute(KEY_FUNCTION)
        cursor.execute(
            f"CREATE TRIGGER {KEY_TRIGGER} BEFORE INSERT ON {EVENT_LOG} "
            "FOR EACH ROW EXECUTE FUNCTION pam_event_key_insert()"
        )
        _append_only(cursor, EVENT_LOG)
        _append_only(cursor, KEYS)
        # Nothing searches keys by prefix: one index less to write per event. Django
        # makes the key table's _like index at the end of the migration: drop it after.
        schema_editor.deferred_sql.append(DROP_KEY_LIKE_INDEX)


def unpartition(apps, schema_editor):
    """Back to 0012's plain table, the rows in id order, the ids kept."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {EVENT_LOG} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname <> %s",
            [EVENT_LOG, f"{EVENT_LOG}_pkey"],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND contype = 'f'",
            [EVENT_LOG],
        )
        foreign_keys = [
            f"ALTER TABLE {EVENT_LOG} ADD CONSTRAINT {n} {d}" for n, d in cursor.fetchall()
        ]
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {EVENT_LOG}")
        next_id = cursor.fetchone()[0]
        cursor.execute(f"ALTER TABLE {EVENT_LOG} RENAME TO {OLD}")
        for name, _definition in indexes:
            cursor.execute(f"ALTER INDEX {name} RENAME TO {name}_partitioned")
        cursor.execute(
            f"CREATE TABLE {EVENT_LOG} (LIKE {OLD} INCLUDING CONSTRAINTS)"
        )
        cursor.execute(f"INSERT INTO {EVENT_LOG} SELECT * FROM {OLD} ORDER BY id")
        cursor.execute(f"DROP TABLE {OLD} CASCADE")
        cursor.execute("DROP FUNCTION IF EXISTS pam_event_key_insert()")
        cursor.execute(
            f"ALTER TABLE {EVENT_LOG} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
            f"(START WITH {next_id})"
        )
        cursor.execute(f"ALTER TABLE {EVENT_LOG} ADD PRIMARY KEY (id)")
        cursor.execute(
            f"ALTER TABLE {EVENT_LOG} ADD CONSTRAINT {EVENT_LOG}_event_id_key UNIQUE (event_id)"
        )
        for _name, definition in indexes:
            cursor.execute(definition)
        for statement in foreign_keys:
            cursor.execute(statement)
        _append_only(cursor, EVENT_LOG)
        _append_only(cursor, KEYS, "backward")


class Migration(migrations.Migration):
    dependencies = [("patients", "0012_patient_firsts")]

    operations = [
        migrations.CreateModel(
            name="EventKey",
            fields=[
                (
                    "event_id",
                    models.CharField(
                        max_length=128,
                        primary_key=True,
                        serialize=False,
                        verbose_name="event id",
                    ),
                ),
                ("occurred_at", models.DateTimeField(verbose_name="occurred at")),
            ],
            options={
                "verbose_name": "event key",
                "verbose_name_plural": "event keys",
            },
        ),
        migrations.RunPython(partition, unpartition),
    ]
