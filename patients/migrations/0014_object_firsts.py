"""Each object's first time per type (ObjectFirsts), kept by a trigger on the event log.

The figures look back for a result's first release, view and contact and a
message's first time; on the partitioned log (0013) that look-up probed every
month's index. The trigger keeps the earliest time on or after 1900-01-01
(the event window's first day) of each (type, object_id, patient) of these
types, in the insert's transaction, whoever writes; the table is filled from
the log as it stands.
"""

import datetime as dt

from django.db import migrations, models

# Frozen copies (a migration must not change meaning when the code does later).
TYPES = ("result_released", "result_viewed", "result_communicated", "message_from_patient")
LOG = "patients_activityevent"
FIRSTS = "patients_objectfirsts"
TRIGGER = f"{LOG}_object_firsts"
KEPT = (
    f"NEW.type IN ({', '.join(repr(t) for t in TYPES)}) AND NEW.object_id <> '' "
    "AND NEW.occurred_at >= '1900-01-01'"
)

POSTGRESQL_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION pam_object_firsts_keep() RETURNS trigger AS $$
    BEGIN
        INSERT INTO {FIRSTS} (type, object_id, patient_id, first_at)
        VALUES (NEW.type, NEW.object_id, NEW.patient_id, NEW.occurred_at)
        ON CONFLICT (type, object_id, patient_id) DO UPDATE SET first_at = EXCLUDED.first_at
        WHERE {FIRSTS}.first_at > EXCLUDED.first_at;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER {TRIGGER} AFTER INSERT ON {LOG} FOR EACH ROW
    WHEN ({KEPT.replace("'1900-01-01'", "'1900-01-01 00:00:00+00'::timestamptz")})
    EXECUTE FUNCTION pam_object_firsts_keep()
    """,
]
POSTGRESQL_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {TRIGGER} ON {LOG}",
    "DROP FUNCTION IF EXISTS pam_object_firsts_keep()",
]
# SQLite writes times as UTC text ("2026-01-14 14:05:00[.ffffff]"): text order is time order.
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER {TRIGGER} AFTER INSERT ON {LOG} WHEN {KEPT}
    BEGIN
        INSERT OR IGNORE INTO {FIRSTS} (type, object_id, patient_id, first_at)
        VALUES (NEW.type, NEW.object_id, NEW.patient_id, NEW.occurred_at);
        UPDATE {FIRSTS} SET first_at = NEW.occurred_at
        WHERE type = NEW.type AND object_id = NEW.object_id AND patient_id = NEW.patient_id
          AND first_at > NEW.occurred_at;
    END
    """,
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {TRIGGER}"]
BACKFILL = f"""
    INSERT INTO {FIRSTS} (type, object_id, patient_id, first_at)
    SELECT type, object_id, patient_id, MIN(occurred_at) FROM {LOG}
    WHERE type IN ({", ".join(["%s"] * len(TYPES))}) AND object_id <> '' AND occurred_at >= %s
    GROUP BY type, object_id, patient_id
"""
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def _statements(schema_editor, postgresql, sqlite):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"object firsts are kept on PostgreSQL and SQLite, not {vendor}")
    return postgresql if vendor == "postgresql" else sqlite


def keep(apps, schema_editor):
    for sql in _statements(schema_editor, POSTGRESQL_FORWARD, SQLITE_FORWARD):
        schema_editor.execute(sql, params=None)
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(BACKFILL, [*TYPES, connection.ops.adapt_datetimefield_value(EARLIEST)])


def unkeep(apps, schema_editor):
    for sql in _statements(schema_editor, POSTGRESQL_BACKWARD, SQLITE_BACKWARD):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0013_event_log_partitioned_by_month'),
    ]

    operations = [
        migrations.CreateModel(
            name='ObjectFirsts',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('type', models.CharField(choices=[('portal_invited', 'Portal invitation sent'), ('portal_activated', 'Portal account activated'), ('login', 'Login'), ('app_installed', 'App installed'), ('message_from_patient', 'Message from patient'), ('message_to_patient', 'Message to patient'), ('appointment_booked', 'Appointment booked'), ('result_released', 'Result released'), ('result_viewed', 'Result viewed'), ('result_communicated', 'Result communicated'), ('record_viewed', 'Health record viewed'), ('payment', 'Payment'), ('phone_call', 'Phone call'), ('response_by_phone', 'Message answered by phone'), ('survey_response', 'Survey response'), ('visit_completed', 'Visit completed'), ('statement_issued', 'Statement issued')], max_length=32, verbose_name='type')),
                ('object_id', models.CharField(max_length=128, verbose_name='object id')),
                ('patient_id', models.BigIntegerField(verbose_name='patient')),
                ('first_at', models.DateTimeField(verbose_name='first time')),
            ],
            options={
                'verbose_name': "object's first time",
                'verbose_name_plural': "objects' first times",
                'constraints': [models.UniqueConstraint(fields=('type', 'object_id', 'patient_id'), name='object_firsts_unique')],
            },
        ),
        migrations.RunPython(keep, unkeep),
    ]
