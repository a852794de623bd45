"""Each patient's latest invitation or activation and latest login (PatientLatest),
kept by a trigger on the event log.

"Invited a week ago and not logged in since" (the follow-up list, the no-login
reminder) looked up each patient's latest offer and login in every month's
partition (0013), for every patient on the roster. The trigger keeps the
latest time on or after 1900-01-01 (the event window's first day) of each
kind, in the insert's transaction, whoever writes; the table is filled from
the log as it stands.
"""

import datetime as dt

import django.db.models.deletion
from django.db import migrations, models

# Frozen copies (a migration must not change meaning when the code does later).
OFFERS = ("portal_invited", "portal_activated")
LOGIN = "login"
LOG = "patients_activityevent"
LATEST = "patients_patientlatest"
TRIGGER = f"{LOG}_patient_latest"
KEPT = (
    f"NEW.type IN ({', '.join(repr(t) for t in (*OFFERS, LOGIN))}) "
    "AND NEW.occurred_at >= '1900-01-01'"
)


def _upsert(column: str) -> str:
    return f"""
        INSERT INTO {LATEST} (patient_id, {column}) VALUES (NEW.patient_id, NEW.occurred_at)
        ON CONFLICT (patient_id) DO UPDATE SET {column} = EXCLUDED.{column}
        WHERE {LATEST}.{column} IS NULL OR {LATEST}.{column} < EXCLUDED.{column};"""


POSTGRESQL_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION pam_patient_latest_keep() RETURNS trigger AS $$
    BEGIN
        IF NEW.type = '{LOGIN}' THEN {_upsert("login_at")}
        ELSE {_upsert("offered_at")}
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER {TRIGGER} AFTER INSERT ON {LOG} FOR EACH ROW
    WHEN ({KEPT.replace("'1900-01-01'", "'1900-01-01 00:00:00+00'::timestamptz")})
    EXECUTE FUNCTION pam_patient_latest_keep()
    """,
]
POSTGRESQL_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {TRIGGER} ON {LOG}",
    "DROP FUNCTION IF EXISTS pam_patient_latest_keep()",
]
# SQLite writes times as UTC text ("2026-01-14 14:05:00[.ffffff]"): text order is time order.
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER {TRIGGER} AFTER INSERT ON {LOG} WHEN {KEPT}
    BEGIN
        INSERT OR IGNORE INTO {LATEST} (patient_id) VALUES (NEW.patient_id);
        UPDATE {LATEST} SET offered_at = NEW.occurred_at
        WHERE patient_id = NEW.patient_id AND NEW.type <> '{LOGIN}'
          AND (offered_at IS NULL OR offered_at < NEW.occurred_at);
        UPDATE {LATEST} SET login_at = NEW.occurred_at
        WHERE patient_id = NEW.patient_id AND NEW.type = '{LOGIN}'
          AND (login_at IS NULL OR login_at < NEW.occurred_at);
    END
    """,
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {TRIGGER}"]
BACKFILL = f"""
    INSERT INTO {LATEST} (patient_id, offered_at, login_at)
    SELECT patient_id,
        MAX(CASE WHEN type IN (%s, %s) THEN occurred_at END),
        MAX(CASE WHEN type = %s THEN occurred_at END)
    FROM {LOG}
    WHERE type IN (%s, %s, %s) AND occurred_at >= %s
    GROUP BY patient_id
"""
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def _statements(schema_editor, postgresql, sqlite):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"patients' latest are kept on PostgreSQL and SQLite, not {vendor}")
    return postgresql if vendor == "postgresql" else sqlite


def keep(apps, schema_editor):
    for sql in _statements(schema_editor, POSTGRESQL_FORWARD, SQLITE_FORWARD):
        schema_editor.execute(sql, params=None)
    connection = schema_editor.connection
    earliest = connection.ops.adapt_datetimefield_value(EARLIEST)
    with connection.cursor() as cursor:
        cursor.execute(BACKFILL, [*OFFERS, LOGIN, *OFFERS, LOGIN, earliest])


def unkeep(apps, schema_editor):
    for sql in _statements(schema_editor, POSTGRESQL_BACKWARD, SQLITE_BACKWARD):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0015_statement_firsts'),
    ]

    operations = [
        migrations.CreateModel(
            name='PatientLatest',
            fields=[
                ('patient', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='latest', serialize=False, to='patients.patient', verbose_name='patient')),
                ('offered_at', models.DateTimeField(blank=True, null=True, verbose_name='latest invitation or activation')),
                ('login_at', models.DateTimeField(blank=True, null=True, verbose_name='latest login')),
            ],
            options={
                'verbose_name': "patient's latest",
                'verbose_name_plural': "patients' latest",
                'indexes': [models.Index(fields=['offered_at'], name='latest_offered_idx'), models.Index(fields=['login_at'], name='latest_login_idx')],
            },
        ),
        migrations.RunPython(keep, unkeep),
    ]
