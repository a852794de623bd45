"""Settings come from the environment, and a bad value stops the start-up."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
READ_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "time_zone": settings.TIME_ZONE,
    "country": settings.PRACTICE_COUNTRY,
    "session_age": settings.SESSION_COOKIE_AGE,
    "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    "conn_health_checks": settings.DATABASES["default"]["CONN_HEALTH_CHECKS"],
}))
"""
CONFIG_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "PRACTICE_TIME_ZONE",
    "PRACTICE_COUNTRY",
    "PAM_TESTING",
    "DATABASE_CONN_MAX_AGE",
)


def start_with(**variables):
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    env["DJANGO_SETTINGS_MODULE"] = "portal_adoption.settings"
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-c", READ_SETTINGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_of(**variables) -> dict:
    result = start_with(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def startup_error(**variables) -> str:
    result = start_with(**variables)
    assert result.returncode != 0, "start-up should have failed"
    return result.stderr.strip().splitlines()[-1]


def test_a_first_run_uses_a_sqlite_file_under_var_and_runs_tasks_in_process():
    figures = settings_of(DEBUG="true")
    assert figures["engine"] == "django.db.backends.sqlite3"
    assert figures["db_name"].startswith(str(ROOT / "var"))
    assert figures["eager"] is True


def test_database_url_and_redis_url_switch_to_postgresql_and_a_real_queue():
    figures = settings_of(
        DEBUG="true",
        DATABASE_URL="postgres://clinic:secret@db.internal:5432/portal",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert figures["engine"] == "django.db.backends.postgresql"
    assert figures["db_name"] == "portal"
    assert figures["eager"] is False
    assert figures["broker"] == "redis://127.0.0.1:6379/3"


def test_debug_is_off_unless_set():
    assert settings_of(SECRET_KEY="x" * 50)["debug"] is False


def test_a_missing_secret_key_with_debug_off_stops_the_start_with_the_fix():
    message = startup_error()
    assert "ImproperlyConfigured" in message
    assert "SECRET_KEY is not set" in message


def test_practice_time_zone_drives_djangos_time_zone():
    assert settings_of(DEBUG="1", PRACTICE_TIME_ZONE="America/Denver")["time_zone"] == (
        "America/Denver"
    )
    assert settings_of(DEBUG="1")["time_zone"] == "America/New_York"


def test_idle_sessions_last_fifteen_minutes():
    assert settings_of(DEBUG="1")["session_age"] == 15 * 60


def test_database_connections_persist_between_requests_unless_configured_otherwise():
    postgres = "postgres://clinic:secret@db.internal:5432/portal"
    default = settings_of(DEBUG="true", DATABASE_URL=postgres)
    assert default["conn_max_age"] == 600
    assert default["conn_health_checks"] is True
    assert settings_of(DEBUG="true")["conn_max_age"] == 600  # SQLite too: one code path
    assert settings_of(DEBUG="true", DATABASE_CONN_MAX_AGE="0")["conn_max_age"] == 0
    in_url = settings_of(DEBUG="true", DATABASE_URL=postgres + "?conn_max_age=30")
    assert in_url["conn_max_age"] == 30


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("PRACTICE_TIME_ZONE", "Mars/Olympus_Mons"),
        ("PRACTICE_COUNTRY", "Narnia"),
        ("DATABASE_URL", "not a url"),
        ("REDIS_URL", "localhost:6379"),
        ("SESSION_IDLE_MINUTES", "fifteen"),
        ("DATABASE_CONN_MAX_AGE", "forever"),
    ],
)
def test_a_value_that_cannot_be_parsed_stops_the_start_naming_the_variable(variable, value):
    variables = {"SECRET_KEY": "x" * 50, variable: value}
    message = startup_error(**variables)
    assert "ImproperlyConfigured" in message
    assert variable in message


def test_a_refused_page_logs_one_line_without_a_traceback(client, billing_clerk, caplog):
    """Every 403 used to print a full traceback to the console, burying real errors."""
    client.force_login(billing_clerk)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("patients:list")).status_code == 403
    refusals = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in refusals] == ["Forbidden (Permission denied): /patients/"]
    assert refusals[0].exc_info is None
