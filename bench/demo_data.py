"""Benchmark: the demo of `make run` (demo_data, demo_messages, demo_program), 2,000 patients.

    .venv/bin/python bench/demo_data.py                 # a throwaway SQLite file
    .venv/bin/python bench/demo_data.py --patients 5000
    DATABASE_URL=postgres://... .venv/bin/python bench/demo_data.py

With DATABASE_URL the benchmark creates, migrates and drops its own database
on that server (pam_bench_demo_<pid>); it never touches the named database.

It runs the three commands as the Makefile's `demo` target does (demo_data
with --no-logins), each through call_command in this one process, and prints
for each its wall-clock and CPU seconds and its SQL statements (savepoints
included). demo_data is split into its three parts: the generated practice
(roster and events, bulk-inserted), the desk's year replayed through the
enrollment services, and the queue's recent months replayed through the
messaging services, with statements per enrollment and per message. Then
what the demo holds, and a second demo_data (it adds nothing).

The machine is often shared: CPU seconds are the figure to compare; wall
seconds match them only on an idle machine. The target is the three commands
under 20 s on SQLite (issue 14: `make run` answers in under 60 s).
"""

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal_adoption.settings")
# Relaxes only the production checks (SECRET_KEY, HTTPS); the real password
# hashers stay. make run's demo_data hashes none (--no-logins): demo_logins does.
os.environ.setdefault("PAM_TESTING", "true")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

import program.management.commands.demo_data as demo_data_command  # noqa: E402
from enrollment.models import Decline, Enrollment  # noqa: E402
from messaging.models import Message, MessageStatus  # noqa: E402
from patients.demo import DemoConfig, DemoPractice, practice_today  # noqa: E402
from patients.models import ActivityEvent, Patient  # noqa: E402


class Statements:
    """Counts the SQL statements sent, without Django's debug cursor."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


STATEMENTS = Statements()


def main() -> None:
    options = _options()
    with tempfile.TemporaryDirectory() as tmp:
        original = _throwaway_database(tmp)
        try:
            with connection.execute_wrapper(STATEMENTS):
                _report(options)
        finally:
            connection.creation.destroy_test_db(original, verbosity=0)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    # Today, as make run: the live queue is timed back from now.
    parser.add_argument("--until", type=date.fromisoformat, default=practice_today())
    return parser.parse_args()


def _throwaway_database(tmp: str) -> str:
    """Point the connection at a new, migrated database; return the old name."""
    test = settings.DATABASES["default"].setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test["NAME"] = str(Path(tmp) / "bench.sqlite3")
    else:
        test["NAME"] = f"pam_bench_demo_{os.getpid()}"
    original = connection.settings_dict["NAME"]
    started = time.perf_counter()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    print(f"database: {connection.vendor}, migrated in {time.perf_counter() - started:.1f} s")
    return original


@contextmanager
def _timed(label: str, per: tuple[str, callable] | None = None):
    wall, cpu, statements = time.perf_counter(), time.process_time(), STATEMENTS.count
    yield
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    statements = STATEMENTS.count - statements
    line = f"{label:<34}{wall:7.2f} s wall {cpu:7.2f} s CPU {statements:>8,} statements"
    if per:
        unit, how_many = per
        n = how_many()
        if n:
            line += f"  ({statements / n:,.0f} per {unit}, {n:,} {unit}s)"
    print(line)


def _phase(name: str, label: str, per=None):
    """Time one of demo_data's parts where its command calls it."""
    function = getattr(demo_data_command, name)

    def timed(*args, **kwargs):
        with _timed(label, per):
            return function(*args, **kwargs)

    setattr(demo_data_command, name, timed)
    return lambda: setattr(demo_data_command, name, function)


def _report(options: argparse.Namespace) -> None:
    config = DemoConfig(options.patients, options.months, options.seed, options.until)
    with _timed("generate in memory (no database)"):
        generated = sum(1 for _event in DemoPractice(config).events())
    print(f"  {generated:,} events generated for {config.patients:,} patients")

    restore = [
        _phase("demo_load", "  roster and events (bulk)"),
        _phase(
            "demo_desk_history",
            "  desk: enrollment services",
            ("enrollment", lambda: Enrollment.objects.count()),
        ),
        _phase(
            "demo_message_history",
            "  queue: messaging services",
            ("message", lambda: Message.objects.count()),
        ),
    ]
    args = [
        f"--patients={config.patients}",
        f"--months={config.months}",
        f"--seed={config.seed}",
        f"--until={config.until}",
        "--no-logins",
    ]
    total_wall, total_cpu = time.perf_counter(), time.process_time()
    with _timed("demo_data --no-logins"):
        call_command("demo_data", *args, stdout=StringIO())
    for undo in restore:
        undo()
    with _timed("demo_messages"):
        call_command("demo_messages", stdout=StringIO())
    with _timed("demo_program"):
        call_command("demo_program", stdout=StringIO())
    total_wall, total_cpu = time.perf_counter() - total_wall, time.process_time() - total_cpu
    print(f"{'the three commands':<34}{total_wall:7.2f} s wall {total_cpu:7.2f} s CPU")

    open_messages = Message.objects.exclude(status=MessageStatus.CLOSED)
    subjects = list(open_messages.values_list("subject", flat=True))
    print(
        f"rows: {Patient.objects.count():,} patients, {ActivityEvent.objects.count():,} events, "
        f"{Enrollment.objects.count():,} desk enrollments, {Decline.objects.count():,} declines, "
        f"{Message.objects.count():,} messages through the queue, {len(subjects)} open "
        f"({len(set(subjects))} subjects)"
    )
    with _timed("demo_data, second run (adds nothing)"):
        call_command("demo_data", *args, stdout=StringIO())


if __name__ == "__main__":
    main()
