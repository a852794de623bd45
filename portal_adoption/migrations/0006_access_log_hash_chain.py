"""The access log becomes a hash chain, and refuses TRUNCATE as well.

Rows already stored are chained in the order of their ids, so the chain
covers the whole log from this upgrade on. Rewriting them needs the
append-only triggers off for the length of this migration: it runs as the
tables' owner, in one transaction on PostgreSQL, and puts them back.
"""

from django.db import migrations, models

from portal_adoption.access_chain import GENESIS_HASH, entry_digest
from portal_adoption.db import append_only, append_only_suspended, refuse_truncate

TABLE = "portal_adoption_accesslogentry"
BATCH = 1000


def chain_stored_rows(apps, schema_editor):
    Entry = apps.get_model("portal_adoption", "AccessLogEntry")
    rows = Entry.objects.using(schema_editor.connection.alias).order_by("id")
    previous, batch = GENESIS_HASH, []
    for position, entry in enumerate(rows.iterator(chunk_size=BATCH), start=1):
        entry.chain_position = position
        entry.entry_hash = entry_digest(entry, previous)
        previous = entry.entry_hash
        batch.append(entry)
        if len(batch) == BATCH:
            Entry.objects.bulk_update(batch, ["chain_position", "entry_hash"])
            batch = []
    Entry.objects.bulk_update(batch, ["chain_position", "entry_hash"])


class Migration(migrations.Migration):
    dependencies = [("portal_adoption", "0005_business_calendar")]

    operations = [
        append_only_suspended(TABLE),
        migrations.AddField(
            model_name="accesslogentry",
            name="chain_position",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="accesslogentry",
            name="entry_hash",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(chain_stored_rows, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="accesslogentry",
            name="chain_position",
            field=models.BigIntegerField(
                editable=False, unique=True, verbose_name="position in the log"
            ),
        ),
        migrations.AlterField(
            model_name="accesslogentry",
            name="entry_hash",
            field=models.CharField(editable=False, max_length=64, verbose_name="hash"),
        ),
        # SQLite rebuilt the table above, without its triggers: add them again.
        append_only(TABLE),
        refuse_truncate(TABLE),
    ]
