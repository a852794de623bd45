"""Support for mutation testing (`make mutate`, tests/README.md).

mutmut forks one worker per mutant, several at a time, each running the tests
that call the mutated function. The workers must not share a test database:
transactional tests truncate tables, and a threaded test counts rows another
worker could be writing. Each worker therefore claims a numbered slot with a
file lock held for its whole life (the kernel drops it when the worker exits,
however it exits) and uses its own test database, `test_<name>_mutN`. With
--reuse-db a slot's database is created and migrated once and then reused.
"""

import copy
import fcntl
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connections

# More slots than mutmut ever runs workers at once (its --max-children).
SLOTS = 16
_held_lock = None
# As configured, before any run named the test databases (see back_to_the_configured_databases).
_CONFIGURED_DATABASES = copy.deepcopy(settings.DATABASES)


def under_a_mutant() -> bool:
    """True in a mutmut worker: it names the mutant it runs (pkg.mod.x_fn__mutmut_3)."""
    return "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", "")


def claim_slot() -> int:
    """The lowest free slot, locked until this process exits."""
    global _held_lock
    if _held_lock is not None:
        return int(Path(_held_lock.name).stem.rsplit("-", 1)[1])
    directory = Path(tempfile.gettempdir())
    for slot in range(SLOTS):
        lock = open(directory / f"pam-mutation-slot-{slot}", "a")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _held_lock = lock
        return slot
    raise RuntimeError(f"all {SLOTS} mutation-testing database slots are taken")


def back_to_the_configured_databases() -> None:
    """After a pytest run inside mutmut's process, as if it had never run.

    With --reuse-db pytest-django leaves the settings pointing at the test
    database, so the next run in the same process (mutmut runs pytest several
    times, then forks its workers) would name its own `test_test_...`; and an
    open connection inherited by two workers would be one socket used by both.
    """
    connections.close_all()
    for alias, configured in _CONFIGURED_DATABASES.items():
        settings.DATABASES[alias]["NAME"] = configured["NAME"]
        settings.DATABASES[alias]["TEST"] = copy.deepcopy(configured.get("TEST", {}))
