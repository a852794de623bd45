"""The application's PostgreSQL role, and whether it could undo the append-only tables.

Triggers keep the access log and the event log append-only, but a
superuser, the owner of a table (or any member of the owning role) can
switch a table's triggers off, the owner of the trigger function can
rewrite it, and the owner of the schema or the database can drop the
table. So production runs migrations as the owner and the application
(web, workers, beat) as a limited role that can do none of these:
`manage.py grant_app_role ROLE`, run as the owner after each migrate, gives
that role what it needs and nothing more, and the deploy check
(checks.py) warns when the connected role could get around the triggers.
SQLite has no roles: whoever can write the file can do anything.
"""

from __future__ import annotations

import re

from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _

from portal_adoption.db import append_only_trigger_names

# What PostgreSQL accepts unquoted; anything else is refused rather than quoted.
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def append_only_tables() -> list[str]:
    """The tables the triggers keep append-only. The event log's monthly partitions
    carry its row trigger and a TRUNCATE trigger of their own (patients/partitions.py);
    its key table (EventKey) keeps event_id unique, so it is append-only too."""
    from patients.models import ActivityEvent, EventKey
    from portal_adoption.models import AccessLogEntry, AccessLogPatient

    return [
        AccessLogEntry._meta.db_table,
        AccessLogPatient._meta.db_table,
        ActivityEvent._meta.db_table,
        EventKey._meta.db_table,
    ]


def grant_statements(connection: BaseDatabaseWrapper, app_role: str) -> list[str]:
    """What the owner runs so that `app_role` can run the application and no more.

    Every statement can be run again: the owner runs them after each migrate.
    """
    q = connection.ops.quote_name
    role = q(app_role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = (q(name) for name in cursor.fetchone())
    audit_tables = ", ".join(f"{schema}.{q(table)}" for table in append_only_tables())
    return [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        # The triggers refuse these anyway; without the privilege the attempt
        # fails before it reaches them.
        f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {audit_tables} FROM {role}",
        # Tables that later migrations create get the same grants.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]


def append_only_bypasses(connection: BaseDatabaseWrapper, role: str | None = None) -> list[str]:
    """Each way `role` could get around the append-only triggers; [] when it has none.

    Without `role`, the roles of the connection: the one it logged in as and
    the current one (a role assumed with SET ROLE can be reset).
    """
    tables = append_only_tables()
    with connection.cursor() as cursor:
        roles = [role] if role else _connected_roles(cursor)
        reasons = []
        for name in roles:
            reasons += _bypasses_of(cursor, name, tables)
    return reasons


def append_only_trigger_problems(connection: BaseDatabaseWrapper) -> list[str]:
    """Append-only tables whose triggers are missing or switched off."""
    problems = []
    with connection.cursor() as cursor:
        for table in append_only_tables():
            for trigger in append_only_trigger_names(table):
                cursor.execute(
                    "SELECT t.tgenabled FROM pg_trigger t "
                    "WHERE t.tgrelid = to_regclass(%s) AND t.tgname = %s",
                    [table, trigger],
                )
                found = cursor.fetchone()
                if found is None:
                    problems.append(_("the trigger %(trigger)s is missing") % {"trigger": trigger})
                elif found[0] not in ("O", "A"):
                    # D: disabled; R: fires only in replica mode, so never in normal use.
                    problems.append(
                        _("the trigger %(trigger)s is switched off") % {"trigger": trigger}
                    )
    return problems


def role_exists(connection: BaseDatabaseWrapper, role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


def _connected_roles(cursor) -> list[str]:
    cursor.execute("SELECT session_user, current_user")
    return list(dict.fromkeys(cursor.fetchone()))


_TABLES = "(SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)"


def _bypasses_of(cursor, role: str, tables: list[str]) -> list[str]:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
    found = cursor.fetchone()
    if found is None:
        return []
    if found[0]:
        return [_("“%(role)s” is a superuser") % {"role": role}]
    reasons = []
    owned = [
        (
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
            f"WHERE c.oid IN {_TABLES} AND pg_has_role(%s, c.relowner, 'MEMBER')",
            _("can switch off the triggers of %(object)s"),
        ),
        (
            "SELECT DISTINCT p.proname || '()', pg_get_userbyid(p.proowner) "
            "FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            f"WHERE t.tgrelid IN {_TABLES} AND NOT t.tgisinternal "
            "AND pg_has_role(%s, p.proowner, 'MEMBER')",
            _("can rewrite the trigger function %(object)s"),
        ),
        (
            "SELECT DISTINCT n.nspname, pg_get_userbyid(n.nspowner) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE c.oid IN {_TABLES} AND pg_has_role(%s, n.nspowner, 'MEMBER')",
            _("can drop the tables of the schema %(object)s"),
        ),
    ]
    for sql, what in owned:
        cursor.execute(sql, [tables, role])
        for name, owner in cursor.fetchall():
            reasons.append(_ownership(role, owner, what % {"object": name}))
    cursor.execute(
        "SELECT pg_get_userbyid(d.datdba) FROM pg_database d "
        "WHERE d.datname = current_database() AND pg_has_role(%s, d.datdba, 'MEMBER')",
        [role],
    )
    for (owner,) in cursor.fetchall():
        reasons.append(_ownership(role, owner, _("can drop the database")))
    if _can_set_replica_mode(cursor, role):
        reasons.append(
            _("“%(role)s” may set session_replication_role, which switches triggers off")
            % {"role": role}
        )
    return reasons


def _ownership(role: str, owner: str, consequence: str) -> str:
    if owner == role:
        return _("“%(role)s” is the owner and %(consequence)s") % {
            "role": role,
            "consequence": consequence,
        }
    return _("“%(role)s” is a member of the owner “%(owner)s” and %(consequence)s") % {
        "role": role,
        "owner": owner,
        "consequence": consequence,
    }


def _can_set_replica_mode(cursor, role: str) -> bool:
    # Granting SET on a parameter exists from PostgreSQL 15 on.
    cursor.execute("SELECT current_setting('server_version_num')::int >= 150000")
    if not cursor.fetchone()[0]:
        return False
    cursor.execute("SELECT has_parameter_privilege(%s, 'session_replication_role', 'SET')", [role])
    return bool(cursor.fetchone()[0])
