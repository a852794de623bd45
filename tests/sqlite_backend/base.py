"""SQLite as the first run uses it, except that a test may empty the append-only tables.

The access log and the event log refuse DELETE (a trigger per table), and
Django empties every table after each transactional test (the browser tests
are: their live server reads committed rows). The flush takes the refusing
triggers off, empties the tables and puts the same triggers back, in the one
transaction Django runs it in. PostgreSQL's counterpart: tests/postgresql_backend.
"""

from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not statements:
            return statements
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                ["%_no_delete"],
            )
            refusing = cursor.fetchall()
        return [
            *(f"DROP TRIGGER {self.quote_name(name)}" for name, _sql in refusing),
            *statements,
            *(sql for _name, sql in refusing),
        ]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
