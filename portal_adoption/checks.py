"""Deployment checks Django's own --deploy checks cannot make."""

from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils.translation import gettext as _

from portal_adoption.database_roles import append_only_bypasses, append_only_trigger_problems

ROLE_CAN_BYPASS_APPEND_ONLY = "portal_adoption.W050"
ROLE_NOT_CHECKED = "portal_adoption.W051"
APPEND_ONLY_TRIGGERS_OFF = "portal_adoption.W052"


@register(Tags.security, Tags.database, deploy=True)
def check_append_only_database_role(app_configs=None, **kwargs):
    """Warn when the access log and the event log are not append-only in fact.

    Runs against the default database whatever --database says: the role
    the application connects as is what production must get right.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []  # SQLite has no roles: nothing to check.
    try:
        bypasses = append_only_bypasses(connection)
        trigger_problems = append_only_trigger_problems(connection)
    except DatabaseError as error:
        return [
            CheckWarning(
                _("Could not check the database role the application connects as: %s")
                % str(error).strip(),
                hint=_("Run manage.py check --deploy where the database can be reached."),
                id=ROLE_NOT_CHECKED,
            )
        ]
    return _bypass_warnings(bypasses) + _trigger_warnings(trigger_problems)


def _bypass_warnings(bypasses: list[str]) -> list[CheckWarning]:
    if not bypasses:
        return []
    return [
        CheckWarning(
            _(
                "The database role the application connects as can get around the "
                "append-only access log and event log: %s."
            )
            % "; ".join(bypasses),
            hint=_(
                "Run the application as a role that is neither a superuser nor an owner of "
                "the tables, their schema or the database, and run migrations as the owner; "
                "after each migrate the owner runs manage.py grant_app_role ROLE "
                "(README, Security)."
            ),
            id=ROLE_CAN_BYPASS_APPEND_ONLY,
        )
    ]


def _trigger_warnings(problems: list[str]) -> list[CheckWarning]:
    if not problems:
        return []
    return [
        CheckWarning(
            _("The access log or the event log is not append-only: %s.") % "; ".join(problems),
            hint=_(
                "Run manage.py migrate as the owner; if a trigger was switched off, switch it "
                "on again (ALTER TABLE … ENABLE TRIGGER …) and run manage.py verify_access_log."
            ),
            id=APPEND_ONLY_TRIGGERS_OFF,
        )
    ]
