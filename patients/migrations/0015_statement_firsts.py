"""Each statement's first recorded event (StatementFirsts), kept by a trigger on the log;
an index on ObjectFirsts (type, first_at) for a month's first views.

A statement is its first recorded `statement_issued` event (lowest id), so
"is there an earlier event of this statement?" has no time to bound it: on the
partitioned log (0013) the bill-pay report probed every month's partition once
per statement. The trigger keeps, for each (object_id, patient) of a
statement_issued event with an object_id and a time on or after 1900-01-01
(the event window's first day), the lowest event id and its time, in the
insert's transaction, whoever writes; the table is filled from the log as it
stands.
"""

import datetime as dt

from django.db import migrations, models

# Frozen copies (a migration must not change meaning when the code does later).
LOG = "patients_activityevent"
FIRSTS = "patients_statementfirsts"
TRIGGER = f"{LOG}_statement_firsts"
KEPT = (
    "NEW.type = 'statement_issued' AND NEW.object_id <> '' "
    "AND NEW.occurred_at >= '1900-01-01'"
)

POSTGRESQL_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION pam_statement_firsts_keep() RETURNS trigger AS $$
    BEGIN
        INSERT INTO {FIRSTS} (object_id, patient_id, event_pk, issued_at)
        VALUES (NEW.object_id, NEW.patient_id, NEW.id, NEW.occurred_at)
        ON CONFLICT (object_id, patient_id) DO UPDATE
        SET event_pk = EXCLUDED.event_pk, issued_at = EXCLUDED.issued_at
        WHERE {FIRSTS}.event_pk > EXCLUDED.event_pk;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER {TRIGGER} AFTER INSERT ON {LOG} FOR EACH ROW
    WHEN ({KEPT.replace("'1900-01-01'", "'1900-01-01 00:00:00+00'::timestamptz")})
    EXECUTE FUNCTION pam_statement_firsts_keep()
    """,
]
POSTGRESQL_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {TRIGGER} ON {LOG}",
    "DROP FUNCTION IF EXISTS pam_statement_firsts_keep()",
]
# SQLite writes times as UTC text ("2026-01-14 14:05:00[.ffffff]"): text order is time order.
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER {TRIGGER} AFTER INSERT ON {LOG} WHEN {KEPT}
    BEGIN
        INSERT OR IGNORE INTO {FIRSTS} (object_id, patient_id, event_pk, issued_at)
        VALUES (NEW.object_id, NEW.patient_id, NEW.id, NEW.occurred_at);
        UPDATE {FIRSTS} SET event_pk = NEW.id, issued_at = NEW.occurred_at
        WHERE object_id = NEW.object_id AND patient_id = NEW.patient_id AND event_pk > NEW.id;
    END
    """,
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {TRIGGER}"]
BACKFILL = f"""
    INSERT INTO {FIRSTS} (object_id, patient_id, event_pk, issued_at)
    SELECT e.object_id, e.patient_id, e.id, e.occurred_at FROM {LOG} e
    JOIN (
        SELECT MIN(id) AS id FROM {LOG}
        WHERE type = 'statement_issued' AND object_id <> '' AND occurred_at >= %s
        GROUP BY object_id, patient_id
    ) f ON e.id = f.id
    WHERE e.type = 'statement_issued'
"""
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def _statements(schema_editor, postgresql, sqlite):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(
            f"statement firsts are kept on PostgreSQL and SQLite, not {vendor}"
        )
    return postgresql if vendor == "postgresql" else sqlite


def keep(apps, schema_editor):
    for sql in _statements(schema_editor, POSTGRESQL_FORWARD, SQLITE_FORWARD):
        schema_editor.execute(sql, params=None)
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(BACKFILL, [connection.ops.adapt_datetimefield_value(EARLIEST)])


def unkeep(apps, schema_editor):
    for sql in _statements(schema_editor, POSTGRESQL_BACKWARD, SQLITE_BACKWARD):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0014_object_firsts'),
    ]

    operations = [
        migrations.CreateModel(
            name='StatementFirsts',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('object_id', models.CharField(max_length=128, verbose_name='object id')),
                ('patient_id', models.BigIntegerField(verbose_name='patient')),
                ('event_pk', models.BigIntegerField(verbose_name='event')),
                ('issued_at', models.DateTimeField(verbose_name='issued at')),
            ],
            options={
                'verbose_name': "statement's first event",
                'verbose_name_plural': "statements' first events",
            },
        ),
        migrations.AddIndex(
            model_name='objectfirsts',
            index=models.Index(fields=['type', 'first_at'], name='object_firsts_type_time_idx'),
        ),
        migrations.AddIndex(
            model_name='statementfirsts',
            index=models.Index(fields=['issued_at'], name='statement_firsts_issued_idx'),
        ),
        migrations.AddConstraint(
            model_name='statementfirsts',
            constraint=models.UniqueConstraint(fields=('object_id', 'patient_id'), name='statement_firsts_unique'),
        ),
        migrations.RunPython(keep, unkeep),
    ]
