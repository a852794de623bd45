"""Benchmark: `manage.py demo_data` for 5,000 patients x 12 months.

    .venv/bin/python bench/demo_data.py                 # a throwaway SQLite file
    DATABASE_URL=postgres://... .venv/bin/python bench/demo_data.py

With DATABASE_URL the benchmark creates, migrates and drops its own database
on that server (pam_bench_demo_<pid>); it never touches the named database.
It prints seconds and rows per second for generating the events in memory,
for the full command on an empty database, and for a second run (which only
resets the staff logins). The target is under a minute on a 2-core machine.
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal_adoption.settings")
# Relaxes only the production checks (SECRET_KEY, HTTPS); the real password
# hashers stay, so the timing includes hashing the six demo passwords.
os.environ.setdefault("PAM_TESTING", "true")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from patients.demo import DemoConfig, DemoPractice, practice_today  # noqa: E402
from patients.models import ActivityEvent, Patient  # noqa: E402


def main() -> None:
    options = _options()
    config = DemoConfig(options.patients, options.months, options.seed, options.until)
    with tempfile.TemporaryDirectory() as tmp:
        original = _throwaway_database(tmp)
        try:
            _report(config)
        finally:
            connection.creation.destroy_test_db(original, verbosity=0)


def _options() -> argparse.Namespace:
    # The end of last month: the same rows all month long, and never in the future.
    last_month_end = practice_today().replace(day=1) - timedelta(days=1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--until", type=date.fromisoformat, default=last_month_end)
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


def _report(config: DemoConfig) -> None:
    started = time.perf_counter()
    practice = DemoPractice(config)
    generated = sum(1 for _event in practice.events())
    _line("generate in memory", time.perf_counter() - started, generated, "events")

    args = [
        f"--patients={config.patients}",
        f"--months={config.months}",
        f"--seed={config.seed}",
        f"--until={config.until}",
    ]
    started = time.perf_counter()
    call_command("demo_data", *args, stdout=StringIO())
    elapsed = time.perf_counter() - started
    patients, events = Patient.objects.count(), ActivityEvent.objects.count()
    assert events == generated, (events, generated)
    print(f"rows: {patients} patients, {events} events ({config.months} months to {config.until})")
    _line("demo_data, empty database", elapsed, patients + events, "rows")
    _line("  counting events only", elapsed, events, "events")

    started = time.perf_counter()
    call_command("demo_data", *args, stdout=StringIO())
    print(f"{'demo_data, second run':<28}{time.perf_counter() - started:7.2f} s (logins only)")


def _line(label: str, seconds: float, count: int, unit: str) -> None:
    print(f"{label:<28}{seconds:7.2f} s {count / seconds:>10,.0f} {unit}/s")


if __name__ == "__main__":
    main()
