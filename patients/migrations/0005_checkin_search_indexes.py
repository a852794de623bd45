"""Indexes for the check-in search (patients.selectors.patient_search).

The search matches the start of the given or family name and the whole MRN,
both case-insensitively, or a mobile number exactly. Django compiles those
lookups differently per database, so each database gets the indexes its SQL
can use. They live here only, not in Patient.Meta.indexes: a Meta index cannot
be a trigram index on PostgreSQL and a NOCASE index on SQLite at once, and
RunPython changes no model state, so `makemigrations --check` sees nothing.

PostgreSQL: `name__istartswith` is `UPPER("name"::text) LIKE UPPER('ma%')` and
`external_id__iexact` is `UPPER("external_id"::text) = UPPER('x')`. GIN trigram
indexes (pg_trgm, a trusted extension: the database owner may create it) on
exactly those name expressions serve a prefix of any length under any
collation; a btree serves the upper-cased MRN. The GIN indexes keep a pending
list of at most 256 kB instead of the default 4 MB, because every search reads
the whole list: with 4 MB that cost 2-4 ms per index and search at 200,000
patients; with no list at all (fastupdate = off) COPYing 200,000 patients took
24 s instead of 5 s (8 s with 256 kB). Going back drops the indexes and leaves
the extension, which something else may use.

SQLite: both lookups are `LIKE ... ESCAPE '\\'`, case-insensitive for ASCII;
SQLite's LIKE optimisation uses an index only if it is COLLATE NOCASE.
"""

from django.db import migrations

TABLE = "patients_patient"


def _trigram(column: str) -> str:
    return f'USING gin (UPPER("{column}"::text) gin_trgm_ops) WITH (gin_pending_list_limit = 256)'


SEARCH_INDEXES = {
    "postgresql": {
        "patient_given_name_trgm": _trigram("given_name"),
        "patient_family_name_trgm": _trigram("family_name"),
        "patient_mrn_upper_idx": '(UPPER("external_id"::text))',
        "patient_mobile_phone_idx": '("mobile_phone")',
    },
    "sqlite": {
        "patient_given_name_nocase": '("given_name" COLLATE NOCASE)',
        "patient_family_name_nocase": '("family_name" COLLATE NOCASE)',
        "patient_mrn_nocase": '("external_id" COLLATE NOCASE)',
        "patient_mobile_phone_idx": '("mobile_phone")',
    },
}


def create_search_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    # Another database gets no search indexes: the search works, only slower.
    for name, definition in SEARCH_INDEXES.get(vendor, {}).items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} {definition}", params=None
        )


def drop_search_indexes(apps, schema_editor):
    for name in SEARCH_INDEXES.get(schema_editor.connection.vendor, {}):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0004_patient_notification_channel"),
    ]

    operations = [
        migrations.RunPython(create_search_indexes, drop_search_indexes),
    ]
