"""`manage.py check --deploy` is clean with the documented defaults.

Only what a deployment must set (SECRET_KEY, ALLOWED_HOSTS, and the database
and Redis): no HTTPS or HSTS variable on top. The database is reached as
production reaches it (README, Security): on PostgreSQL as a limited role
made by grant_app_role, since the check rightly warns about a superuser.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "REDIS_URL")


@pytest.fixture
def application_database_url(request, transactional_db) -> str:
    """The test database, as the application would connect to it in production."""
    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        return ""  # the SQLite file of a first run: no roles to check
    role = request.getfixturevalue("limited_role")
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{role}@{host}:{port}/{settings['NAME']}"


def test_the_deploy_check_passes_with_the_documented_defaults(application_database_url):
    env = {name: os.environ[name] for name in KEPT if name in os.environ}
    if application_database_url:
        env["DATABASE_URL"] = application_database_url
    env.update(
        DJANGO_SETTINGS_MODULE="portal_adoption.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="portal.clinic.example",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
