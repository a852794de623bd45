"""Support for mutation testing (`make mutate`, tests/README.md).

mutmut runs pytest several times in one process, then forks one worker per
mutant, two or more at a time, each running the tests that call the mutated
function. No two of those runs may share a test database: transactional tests
truncate every table, seeded rows included, and a threaded test counts rows
another worker could be writing. So each run claims a numbered slot with a
file lock (held until its process exits, however it exits) and starts from a
fresh copy of one migrated template database: `test_<name>_mutN`, copied from
`test_<name>_template`, which `python -m tests.mutate run` builds first.
Copying the template takes a fifth of a second: creating and migrating a
database takes half a minute, and checking a migrated one a second and a half.
"""

import copy
import fcntl
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

# More slots than mutmut ever runs at once (its --max-children, and the parent).
SLOTS = 16
# The lock this process holds, and which process took it: a forked worker
# inherits its parent's and must take its own.
_held: tuple[int, int, object] | None = None
# As configured, before any run named the test databases (see back_to_the_configured_databases).
_CONFIGURED_DATABASES = copy.deepcopy(settings.DATABASES)


def under_mutmut() -> bool:
    """True in every pytest run mutmut makes: it names what it runs in this variable."""
    return "MUTANT_UNDER_TEST" in os.environ


def configured_test_name(alias: str = "default") -> str:
    configured = _CONFIGURED_DATABASES[alias]
    return configured.get("TEST", {}).get("NAME") or f"test_{configured['NAME']}"


def template_name() -> str:
    return f"{configured_test_name()}_template"


def claim_slot() -> int:
    """The lowest free slot, locked until this process exits."""
    global _held
    if _held is not None and _held[0] == os.getpid():
        return _held[1]
    directory = Path(tempfile.gettempdir())
    for slot in range(SLOTS):
        lock = open(directory / f"pam-mutation-slot-{slot}", "a")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _held = (os.getpid(), slot, lock)
        return slot
    raise RuntimeError(f"all {SLOTS} mutation-testing database slots are taken")


def copy_the_template(database: str) -> None:
    """`database`, dropped and copied afresh from the migrated template."""
    if connection.vendor != "postgresql":
        return  # SQLite's test database lives in memory: each process has its own
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template_name()}"')


def use_the_copy_as_it_is() -> None:
    """The copy is migrated already: point the settings at it and skip the second and a half of
    `migrate` and serialization create_test_db would spend on each worker."""

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        name = self._get_test_db_name()
        settings.DATABASES[self.connection.alias]["NAME"] = name
        self.connection.settings_dict["NAME"] = name
        self.connection.close()
        return name

    type(connection.creation).create_test_db = create_test_db


def build_the_template() -> None:
    """The migrated database every mutation run copies, made as pytest-django makes one."""
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = template_name()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    connections.close_all()


def back_to_the_configured_databases() -> None:
    """After a pytest run inside mutmut's process, as if it had never run.

    With --reuse-db pytest-django leaves the settings pointing at the test
    database, so the next run in the same process would name its own
    `test_test_...`; and an open connection inherited by two workers would be
    one socket used by both.
    """
    connections.close_all()
    for alias, configured in _CONFIGURED_DATABASES.items():
        settings.DATABASES[alias]["NAME"] = configured["NAME"]
        settings.DATABASES[alias]["TEST"] = copy.deepcopy(configured.get("TEST", {}))
