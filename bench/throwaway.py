"""The throwaway PostgreSQL database each benchmark runs in.

A benchmark never touches the database DATABASE_URL names: it creates and
migrates `pam_bench_<name>_<pid>` on the same server, and drops it after.
Import this after django.setup().
"""

import os
import time

from django.conf import settings
from django.db import connection


def throwaway_database(name: str) -> str:
    """Point the connection at a new, migrated database; return the old name."""
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
