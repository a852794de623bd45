"""The log's key trigger stands aside while the import writes the keys as a set.

The trigger of 0013 writes each event's row of the key table (EventKey), so a
repeated event_id is a unique violation whoever writes the log. The event
import (patients/feed_staging.py, staged_new_insert) writes a batch's keys
itself, in one INSERT ... ON CONFLICT DO NOTHING, and then only the events
whose key was new: no look-up of the batch's event_ids beforehand, and a
stored one is found as it is written instead of failing the import. For that
one statement it sets `pam.event_keys_written` to "on" (LOCAL to its
transaction, and back to "off" after), and the trigger leaves the key to it.
Every other writer, and the import outside that statement, goes through the
trigger as before.

SQLite has no trigger here (its log keeps its own unique index): nothing to do.
"""

from django.db import migrations

KEYS = "patients_eventkey"

STANDS_ASIDE = f"""
    CREATE OR REPLACE FUNCTION pam_event_key_insert() RETURNS trigger AS $$
    BEGIN
        -- The import's statement wrote this key already, with the batch's others.
        IF current_setting('pam.event_keys_written', true) = 'on' THEN
            RETURN NEW;
        END IF;
        -- A repeated event_id is a unique violation here, in whichever month.
        INSERT INTO {KEYS} (event_id, occurred_at) VALUES (NEW.event_id, NEW.occurred_at);
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
"""

ALWAYS = f"""
    CREATE OR REPLACE FUNCTION pam_event_key_insert() RETURNS trigger AS $$
    BEGIN
        -- A repeated event_id is a unique violation here, in whichever month.
        INSERT INTO {KEYS} (event_id, occurred_at) VALUES (NEW.event_id, NEW.occurred_at);
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
"""


def _replace(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0017_object_firsts_patient_join"),
    ]

    operations = [
        migrations.RunPython(_replace(STANDS_ASIDE), _replace(ALWAYS)),
    ]
