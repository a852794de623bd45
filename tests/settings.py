"""Test settings: the application's settings, with the few differences tests need.

PAM_TESTING relaxes the production-only parts (HTTPS redirect, hashed static
file names, the SECRET_KEY requirement); the database and Redis still come
from DATABASE_URL and REDIS_URL, so CI runs against PostgreSQL.
"""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("PAM_TESTING", "true")


def _redis_database_of_this_worker(url: str, worker: str) -> str:
    """redis://host:port/N for the pytest-xdist worker "gwK": database N + K (mod 16).

    Every test empties the cache (FLUSHDB) and the Celery worker tests read
    the broker's queue, so workers running at once must not share a Redis
    database (pytest-django gives each its own PostgreSQL database already).
    """
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = (base + int(worker.removeprefix("gw"))) % 16
    return urlunsplit(parts._replace(path=f"/{number}"))


# In the environment, so that the processes a test starts (a Celery worker) use it
# too; they inherit PYTEST_XDIST_WORKER as well, and must not move it once more.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if (
    os.environ.get("REDIS_URL")
    and _WORKER.startswith("gw")
    and os.environ.get("PAM_REDIS_MOVED_FOR") != _WORKER
):
    os.environ["REDIS_URL"] = _redis_database_of_this_worker(os.environ["REDIS_URL"], _WORKER)
    os.environ["PAM_REDIS_MOVED_FOR"] = _WORKER

from portal_adoption.settings import *  # noqa: E402, F403

# Hashing passwords slowly protects real accounts, not test fixtures.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    # Flushing between transactional tests must get past the TRUNCATE trigger.
    DATABASES["default"]["ENGINE"] = "tests.postgresql_backend"  # noqa: F405
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The same on SQLite, for the browser tests' live server: past the DELETE triggers.
    DATABASES["default"]["ENGINE"] = "tests.sqlite_backend"  # noqa: F405
    # In memory, as Django's own SQLite backend tests by default. Said outright: under
    # another engine name pytest-django would name a file after the database's path.
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}  # noqa: F405

# A test's rows live in its open transaction, which a second connection cannot see:
# the rollup reads on the test's own connection (tests/metrics/test_rollup_beside.py
# runs it on two, with committed rows).
ROLLUP_READ_CONNECTIONS = 1
