"""PostgreSQL as production runs it, except that a test may empty the append-only tables.

The access log and the event log refuse TRUNCATE (a statement trigger), and
Django empties every table with one TRUNCATE after each transactional test.
Replica mode switches ordinary triggers off for that one transaction: only a
superuser may set it (the tests connect as one), which is why the deploy
check warns when the application's own role is a superuser.
"""

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not statements:
            return statements
        # execute_sql_flush runs these in one transaction: SET LOCAL ends with it.
        return ["SET LOCAL session_replication_role = replica", *statements]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
