"""`manage.py check --deploy` is clean with the documented defaults.

Only what a deployment must set (SECRET_KEY, ALLOWED_HOSTS, and the
database and Redis CI provides): no HTTPS or HSTS variable on top.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "DATABASE_URL", "REDIS_URL")


def test_the_deploy_check_passes_with_the_documented_defaults():
    env = {name: os.environ[name] for name in KEPT if name in os.environ}
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
