"""Database helpers that must work the same on PostgreSQL and SQLite."""

from django.db import migrations

APPEND_ONLY_SQL = {
    "postgresql": {
        "forward": [
            """
            CREATE OR REPLACE FUNCTION pam_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: rows cannot be changed or deleted',
                    TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """,
            """
            CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION pam_refuse_change()
            """,
        ],
        "backward": ["DROP TRIGGER IF EXISTS {table}_append_only ON {table}"],
    },
    "sqlite": {
        "forward": [
            """
            CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be changed'); END
            """,
            """
            CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be deleted'); END
            """,
        ],
        "backward": [
            "DROP TRIGGER IF EXISTS {table}_no_update",
            "DROP TRIGGER IF EXISTS {table}_no_delete",
        ],
    },
}


def append_only(table: str) -> migrations.RunPython:
    """A migration step that makes a table refuse UPDATE and DELETE.

    Audit rows and portal events are evidence: the database itself, not
    only the application, must keep them from being rewritten.
    """

    def run(direction):
        def apply(apps, schema_editor):
            statements = APPEND_ONLY_SQL.get(schema_editor.connection.vendor)
            if statements is None:
                raise NotImplementedError(
                    f"append-only triggers are written for PostgreSQL and SQLite, "
                    f"not {schema_editor.connection.vendor}"
                )
            for sql in statements[direction]:
                # No parameters: the PL/pgSQL body has a literal "%" placeholder.
                schema_editor.execute(sql.format(table=table), params=None)

        return apply

    return migrations.RunPython(run("forward"), run("backward"))
