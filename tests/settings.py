"""Test settings: the application's settings, with the few differences tests need.

PAM_TESTING relaxes the production-only parts (HTTPS redirect, hashed static
file names, the SECRET_KEY requirement); the database and Redis still come
from DATABASE_URL and REDIS_URL, so CI runs against PostgreSQL.
"""

import os

os.environ.setdefault("PAM_TESTING", "true")

from portal_adoption.settings import *  # noqa: F403

# Hashing passwords slowly protects real accounts, not test fixtures.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    # Flushing between transactional tests must get past the TRUNCATE trigger.
    DATABASES["default"]["ENGINE"] = "tests.postgresql_backend"  # noqa: F405
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The same on SQLite, for the browser tests' live server: past the DELETE triggers.
    DATABASES["default"]["ENGINE"] = "tests.sqlite_backend"  # noqa: F405

# A test's rows live in its open transaction, which a second connection cannot see:
# the rollup reads on the test's own connection (tests/metrics/test_rollup_beside.py
# runs it on two, with committed rows).
ROLLUP_READ_CONNECTIONS = 1
