"""What every benchmark shares: Django set up on a server, and a throwaway database.

A benchmark never touches the database DATABASE_URL names: it creates and
migrates `pam_bench_<name>_<pid>` on the same server, and drops it after.
"""

import os
import sys
import time
from pathlib import Path


def setup_django(database_url: str) -> None:
    """Django as production runs it (DEBUG off), on the given database server."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal_adoption.settings")
    # Relaxes only the production checks (SECRET_KEY, HTTPS).
    os.environ.setdefault("PAM_TESTING", "true")
    # DEBUG would keep every query's SQL in memory: not what production runs.
    os.environ["DEBUG"] = "false"

    import django

    django.setup()


def throwaway_database(name: str) -> str:
    """Point the connection at a new, migrated database; return the old name."""
    from django.conf import settings
    from django.db import connection

    test = settings.DATABASES["default"].setdefault("TEST", {})
    test["NAME"] = f"pam_bench_{name}_{os.getpid()}"
    original = connection.settings_dict["NAME"]
    started = time.perf_counter()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    print(
        f"database: {version}, {test['NAME']} migrated in {time.perf_counter() - started:.1f} s; "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    return original
