"""The application's database role cannot get around the append-only tables, and the
deploy check says so when it can.

Production runs migrations as the owner and the application as a limited
role given its rights by `manage.py grant_app_role`. These tests create such
a role on the test server, connect as it, and try every way around the
triggers; the deploy check must warn for a superuser, an owner or a member
of the owner's role, and stay silent for the limited role.
"""

from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections
from django.test import RequestFactory

from portal_adoption.checks import (
    APPEND_ONLY_TRIGGERS_OFF,
    ROLE_CAN_BYPASS_APPEND_ONLY,
    ROLE_NOT_CHECKED,
    check_append_only_database_role,
)
from portal_adoption.database_roles import append_only_bypasses
from portal_adoption.models import AccessLogEntry
from portal_adoption.services import access_log_record
from tests.conftest import new_role_name, requires_postgres

pytestmark = requires_postgres

ACCESS_LOG = AccessLogEntry._meta.db_table
EVENT_LOG = "patients_activityevent"


@contextmanager
def connected_as(role: str, **changes):
    """A second connection to the test database, logged in as `role`."""
    settings = {**connection.settings_dict, "USER": role, "PASSWORD": ""} | changes
    other = type(connections["default"])(settings, alias=f"as_{role}")
    try:
        yield other
    finally:
        other.close()


@contextmanager
def application_connected_as(wrapper):
    """The application's default connection replaced by `wrapper`, for this thread."""
    original = connections["default"]
    connections["default"] = wrapper
    try:
        yield
    finally:
        connections["default"] = original


def deploy_warnings(check_id: str):
    return [m for m in run_checks(include_deployment_checks=True) if m.id == check_id]


def test_the_deploy_check_warns_when_the_application_connects_as_a_superuser(db):
    (warning,) = deploy_warnings(ROLE_CAN_BYPASS_APPEND_ONLY)
    assert "is a superuser" in warning.msg
    assert "grant_app_role" in warning.hint


def test_the_deploy_check_is_silent_for_the_limited_role(limited_role):
    with connected_as(limited_role) as limited, application_connected_as(limited):
        assert check_append_only_database_role() == []


def test_the_application_works_as_the_limited_role_and_its_rows_stay_chained(limited_role):
    request = RequestFactory().get("/patients/1/", REMOTE_ADDR="10.1.2.3")
    request.user = None
    with connected_as(limited_role) as limited, application_connected_as(limited):
        access_log_record(request=request, action="view", resource="patient", object_id=1)
        access_log_record(request=request, action="view", resource="patient", object_id=2)
    out = StringIO()
    call_command("verify_access_log", stdout=out)
    assert "All 2 rows" in out.getvalue()


WAYS_AROUND_THE_TRIGGERS = [
    f"UPDATE {ACCESS_LOG} SET username = 'x'",
    f"DELETE FROM {ACCESS_LOG}",
    f"TRUNCATE {ACCESS_LOG}",
    f"UPDATE {EVENT_LOG} SET score = 1",
    f"DELETE FROM {EVENT_LOG}",
    f"TRUNCATE {EVENT_LOG}",
    f"ALTER TABLE {ACCESS_LOG} DISABLE TRIGGER USER",
    f"ALTER TABLE {EVENT_LOG} DISABLE TRIGGER USER",
    f"DROP TRIGGER {ACCESS_LOG}_append_only ON {ACCESS_LOG}",
    f"DROP TABLE {ACCESS_LOG}",
    "SET session_replication_role = replica",
    "CREATE OR REPLACE FUNCTION pam_refuse_change() RETURNS trigger "
    "AS $$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
]


def test_the_limited_role_cannot_get_around_the_triggers(limited_role):
    allowed = []
    with connected_as(limited_role) as limited:
        for attempt in WAYS_AROUND_THE_TRIGGERS:
            try:
                with limited.cursor() as cursor:
                    cursor.execute(attempt)
            except DatabaseError as refused:
                assert "permission denied" in str(refused) or "must be owner" in str(refused)
            else:
                allowed.append(attempt)
    assert allowed == []


def test_a_member_of_the_owners_role_is_warned(db):
    role = new_role_name()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
        cursor.execute(f"CREATE ROLE {role} LOGIN")
        cursor.execute(f"GRANT {owner} TO {role}")
    reasons = append_only_bypasses(connection, role)
    assert f"“{role}” is a member of the owner “{owner}” and can switch off the triggers of " in (
        "; ".join(reasons)
    )


def test_the_owner_of_the_tables_is_warned_even_without_superuser(db):
    role = new_role_name()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"CREATE ROLE {role} LOGIN")
        cursor.execute(f"ALTER TABLE {ACCESS_LOG} OWNER TO {role}")
    reasons = append_only_bypasses(connection, role)
    assert reasons == [f"“{role}” is the owner and can switch off the triggers of {ACCESS_LOG}"]


def test_a_switched_off_trigger_is_a_deploy_warning(db):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {ACCESS_LOG} DISABLE TRIGGER {ACCESS_LOG}_no_truncate")
    (warning,) = deploy_warnings(APPEND_ONLY_TRIGGERS_OFF)
    assert f"the trigger {ACCESS_LOG}_no_truncate is switched off" in warning.msg


def test_an_unreachable_database_is_a_warning_not_a_crash(db):
    with connected_as("postgres", PORT="1") as unreachable, application_connected_as(unreachable):
        (warning,) = check_append_only_database_role()
    assert warning.id == ROLE_NOT_CHECKED


def test_the_check_says_nothing_on_sqlite(db, monkeypatch):
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    assert check_append_only_database_role() == []


@pytest.mark.parametrize(
    ("role", "error"),
    [("pam; DROP TABLE x", "not a plain role name"), ("pam_nobody_here", "There is no role")],
)
def test_grant_app_role_refuses_a_role_it_cannot_use(db, role, error):
    with pytest.raises(CommandError, match=error):
        call_command("grant_app_role", role, stdout=StringIO())


def test_grant_app_role_prints_the_sql_for_review(db):
    out = StringIO()
    call_command("grant_app_role", "pam_app", "--print", stdout=out)
    sql = out.getvalue()
    assert (
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "pam_app";'
        in (sql)
    )
    assert f'REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON "public"."{ACCESS_LOG}"' in sql
