"""Benchmark: `manage.py import_events` for a 1,000,000-event CSV file on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import_events.py
    .venv/bin/python bench/import_events.py --events 200000 --patients 5000 \\
        --database-url postgres://postgres@127.0.0.1:5432/postgres

PostgreSQL only. The benchmark creates, migrates and drops its own database on
that server (pam_bench_events_<pid>); it never touches the named database.

It writes a roster of --patients patients and a CSV file of --events valid
events of every type (offsets, channels, object ids, amounts, scores) to a
temporary directory, imports the roster, then imports the events through the
command's own code path, `events_import(event_rows(stream), ...)`, and prints:

- events, seconds and events per second of the import;
- memory, two ways:
  * "Python peak" is the tracemalloc peak of Python allocations during the
    import (a second, untimed pass with tracing on: tracing slows Python down);
  * "RSS peak" is the process's resident-set high-water mark during the timed
    import (VmHWM, reset just before it), and "growth" how far that is above
    the RSS at the start of the import. RSS also counts C memory (libpq,
    psycopg's COPY buffers) and what the allocator keeps after a free.
- the ceiling: a bare `COPY ... FROM STDIN (FORMAT csv)` of the same file (the
  same rows and columns, parsed by the server) into an unindexed table with the
  event table's column types, and the ratio of the import's rate to it;
- for scale, the server alone moving those rows into the real event table
  (one INSERT ... SELECT joined to the roster: its eight indexes, foreign key,
  checks and trigger, no client at all), and the ratio to that (the target:
  at least 80%);
- that insert plus the server alone folding the rows into the patients'
  firsts (patient_firsts_rebuild, one statement), which the import does as it
  writes and the bare insert does not: the ratio to both together.

Each size is measured --rounds times (3 by default): the import and the two
ceilings alternate in order, each from the same empty state, and the summary
shows the round whose import / indexed-insert ratio is the median, then every
round's ratio. One pair alone can land a fifth either way on a shared machine.

The whole run is made for a smaller file first (--compare-events, a tenth of
--events by default) so that the memory figures of two sizes can be compared:
they should be about the same, because the import streams the file batch by
batch. Each size runs in a fresh process with its own database, roster and
file, and the import starts from an empty event log. It prints figures only;
it never fails on timing.
"""

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from throwaway import setup_django, throwaway_database

DEFAULT_EVENTS = 1_000_000
DEFAULT_PATIENTS = 20_000
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events in the file")
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS, help="roster size")
    parser.add_argument(
        "--compare-events",
        type=int,
        default=None,
        help="a smaller file imported first, to compare memory (default: a tenth; 0: none)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="a PostgreSQL server (default: $DATABASE_URL); its named database is not used",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="import and indexed insert alternated this many times; the median ratio is kept",
    )
    parser.add_argument(
        "--no-trace", action="store_true", help="skip the tracemalloc pass (faster)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if not options.database_url.startswith(POSTGRES_SCHEMES):
        parser.error(
            "this benchmark needs PostgreSQL: pass --database-url postgres://... "
            "or set DATABASE_URL (it creates and drops its own database there)"
        )
    if options.events < 1 or options.patients < 1 or options.rounds < 1:
        parser.error("--events, --patients and --rounds must be positive")
    if options.compare_events is None:
        options.compare_events = options.events // 10
    return options


OPTIONS = _options()

setup_django(OPTIONS.database_url)

from django.db import connection, transaction  # noqa: E402

from patients.feed_csv import event_rows, patient_rows  # noqa: E402
from patients.feed_import import events_import, patients_import  # noqa: E402
from patients.models import (  # noqa: E402
    ActivityEvent,
    EventKey,
    EventSource,
    ObjectFirsts,
    Patient,
    PatientFirsts,
    PatientLatest,
    StatementFirsts,
)
from patients.services import patient_firsts_rebuild  # noqa: E402

MIB = 1024 * 1024

# --- The files ----------------------------------------------------------------------

PATIENTS_HEADER = (
    "external_id,given_name,family_name,birth_date,email,mobile_phone,preferred_language,"
    "location,primary_provider,registered_on,deactivated_on"
)
EVENTS_HEADER = (
    "event_id,patient_external_id,type,occurred_at,channel,object_id,reply_to,amount,score"
)
GIVEN = ("Rosa", "Tom", "Ann", "Luis", "Mei", "Omar", "Grace", "Ivan", "Nia", "Sam", "Ada", "Raj")
FAMILY = ("Delgado", "Baker", "Wu", "Garcia", "Chen", "Haddad", "Okafor", "Novak", "Smith", "Patel")

# (type, weight, channels, object id prefix): a month of a mid-size practice's portal.
EVENT_MIX = (
    ("login", 30, ("portal", "app"), ""),
    ("record_viewed", 8, ("portal", "app"), ""),
    ("message_from_patient", 8, ("portal", "app"), "msg"),
    ("message_to_patient", 7, ("portal",), "msg"),
    ("appointment_booked", 8, ("portal", "app", "phone", "front_desk"), "appt"),
    ("result_released", 8, ("",), "res"),
    ("result_viewed", 6, ("portal", "app"), "res"),
    ("result_communicated", 2, ("phone", "portal"), "res"),
    ("payment", 6, ("portal", "app", "phone", "front_desk", "mail"), "pay"),
    ("survey_response", 3, ("portal", "app", ""), "survey"),
    ("phone_call", 8, ("phone",), ""),
    ("portal_invited", 3, ("mail", "front_desk", "portal"), ""),
    ("portal_activated", 2, ("portal", "app", "kiosk", "front_desk"), ""),
    ("app_installed", 1, ("app",), ""),
)
FIRST_EVENT = datetime(2025, 12, 1, tzinfo=UTC)
EVENTS_SPAN = timedelta(days=360)
EASTERN = (timezone(timedelta(hours=-5)), timezone(timedelta(hours=-4)))


def write_roster(path: Path, patients: int, rng: random.Random) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(PATIENTS_HEADER + "\n")
        for number in range(patients):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            born = date(1930, 1, 1) + timedelta(days=rng.randrange(30_000))
            joined = max(born, date(2015, 1, 1)) + timedelta(days=rng.randrange(3000))
            email = f"{given}.{family}{number}@example.org".lower() if rng.random() < 0.8 else ""
            mobile = f"+1202555{number % 10_000:04d}" if rng.random() < 0.6 else ""
            language = "es" if rng.random() < 0.15 else "en"
            out.write(
                f"{patient_id(number)},{given},{family},{born},{email},{mobile},{language},"
                f",,{joined},\n"
            )


def patient_id(number: int) -> str:
    return f"MRN-{number:07d}"


def write_events(path: Path, events: int, patients: int, rng: random.Random) -> None:
    """The events in time order, as a portal's nightly export would list them."""
    kinds = [kind for kind in EVENT_MIX for _ in range(kind[1])]
    mean_gap = EVENTS_SPAN.total_seconds() / events
    moment = FIRST_EVENT.timestamp()
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(EVENTS_HEADER + "\n")
        lines = []
        for number in range(events):
            moment += rng.expovariate(1 / mean_gap)
            kind, _weight, channels, prefix = rng.choice(kinds)
            # A few very active patients, a long tail of occasional ones.
            patient = patient_id(int(patients * rng.random() ** 2))
            channel = rng.choice(channels)
            object_id = f"{prefix}-{rng.randrange(10**9)}" if prefix else ""
            reply_to = (
                f"msg-{rng.randrange(10**9)}"
                if kind == "message_to_patient" and rng.random() < 0.7
                else ""
            )
            amount = f"{rng.randrange(500, 40_000) / 100:.2f}" if kind == "payment" else ""
            score = str(rng.randint(1, 5)) if kind == "survey_response" else ""
            lines.append(
                f"{event_id(number)},{patient},{kind},{occurred(moment, rng)},{channel},"
                f"{object_id},{reply_to},{amount},{score}\n"
            )
            if len(lines) == 10_000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)


def event_id(number: int) -> str:
    """Unique and random-looking, like a vendor's ids (a bijection of the number)."""
    return f"ev-{(number * 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


def occurred(moment: float, rng: random.Random) -> str:
    """Mostly the practice's offset (Eastern, DST by month), sometimes UTC with Z."""
    when = datetime.fromtimestamp(int(moment), UTC)
    if rng.random() < 0.25:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.astimezone(EASTERN[3 <= when.month <= 10]).isoformat()


# --- Measuring ------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class RssWatch:
    """The resident-set peak of one stretch of work, and its growth over the start."""

    def __enter__(self):
        gc.collect()
        try:
            # Linux: writing 5 resets VmHWM (the peak RSS) to the current RSS.
            Path("/proc/self/clear_refs").write_text("5")
            self.resettable = True
        except OSError:
            self.resettable = False
        self.start_kib = _status_kib("VmRSS") or 0
        self.maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return self

    def __exit__(self, *exc):
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if self.resettable and (peak := _status_kib("VmHWM")):
            self.peak_kib, self.growth_kib = peak, peak - self.start_kib
        else:  # only the process's all-time high-water mark is known
            self.peak_kib, self.growth_kib = maxrss, maxrss - self.maxrss_before


def truncate_events() -> None:
    """Empty the throwaway database's event log between runs.

    The event log refuses TRUNCATE (a trigger); replica mode switches the
    trigger off for this one transaction (the benchmark connects as superuser).
    The tables the log's writers keep beside it go too, so that every run
    (the import, the indexed insert) starts from the same empty state.
    """
    tables = [ActivityEvent, EventKey, PatientFirsts, PatientLatest, ObjectFirsts, StatementFirsts]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(f"TRUNCATE {', '.join(model._meta.db_table for model in tables)}")


def import_events_file(path: Path):
    """Exactly what `manage.py import_events FILE` runs."""
    with path.open("rb") as stream:
        return events_import(event_rows(stream), source=EventSource.FEED_CSV, file_name=path.name)


CEILING_TABLE = "bench_copy_ceiling"


def copy_ceiling(path: Path) -> tuple[float, int]:
    """Seconds for a bare COPY of the file into an unindexed table of the same columns."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {CEILING_TABLE}")
        cursor.execute(
            f"""
            CREATE TABLE {CEILING_TABLE} (
                event_id varchar(128) NOT NULL,
                patient_external_id varchar(64) NOT NULL,
                type varchar(32) NOT NULL,
                occurred_at timestamptz NOT NULL,
                channel varchar(16) NOT NULL,
                object_id varchar(128) NOT NULL,
                reply_to varchar(128) NOT NULL,
                amount numeric(12, 2),
                score smallint
            )
            """
        )
    statement = (
        f"COPY {CEILING_TABLE} FROM STDIN "
        "(FORMAT csv, HEADER true, FORCE_NOT_NULL (channel, object_id, reply_to))"
    )
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        path.open("rb") as source,
        cursor.cursor.copy(statement) as copy,
    ):
        while chunk := source.read(MIB):
            copy.write(chunk)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {CEILING_TABLE}")
        copied = cursor.fetchone()[0]
    return seconds, copied


def indexed_insert() -> float:
    """Seconds for the server alone to put the copied rows into the real event table.

    One INSERT ... SELECT from the ceiling table, joined to the roster: what
    the event table's indexes, foreign key and trigger cost, with no client.
    """
    events, patients = ActivityEvent._meta.db_table, Patient._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {events} (event_id, patient_id, type, occurred_at, channel, object_id,
                                  reply_to, appointment_type, amount, score, source, recorded_at)
            SELECT c.event_id, p.id, c.type, c.occurred_at, c.channel, c.object_id,
                   c.reply_to, '', c.amount, c.score, %s, now()
            FROM {CEILING_TABLE} c JOIN {patients} p ON p.external_id = c.patient_external_id
            """,
            [EventSource.FEED_CSV],
        )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {CEILING_TABLE}")
    return seconds


def firsts_fold() -> float:
    """Seconds for the server alone to fold the inserted events into the patients' firsts.

    The import keeps PatientFirsts as it writes (every writer of the log does);
    the indexed insert does not. patient_firsts_rebuild is that work as one
    statement over the whole log, so "indexed insert + firsts" is the server
    alone storing the events completely.
    """
    started = time.perf_counter()
    patient_firsts_rebuild()
    seconds = time.perf_counter() - started
    truncate_events()
    return seconds


def measure(path: Path, events: int, trace: bool) -> dict:
    """The import and its ceilings, --rounds times in alternating order.

    Both the import and the indexed insert vary by about a fifth from run to
    run on a shared machine, so one pair can land on either side of a target.
    Each round measures both from the same empty state, the import first in
    odd rounds and second in even ones, and the ratio is the median of the
    rounds' ratios (each import against the indexed insert of its own round).
    """
    rounds = []
    for number in range(1, OPTIONS.rounds + 1):
        print(f"  round {number} of {OPTIONS.rounds}")
        if number % 2:
            imported = _timed_import(path, events)
            ceilings = _ceilings(path)
        else:
            ceilings = _ceilings(path)
            imported = _timed_import(path, events)
        rounds.append({**imported, **ceilings})
        print(
            f"    import / indexed insert   {imported['rate'] / ceilings['indexed']:8.1%}"
            f"    with the firsts {imported['rate'] / ceilings['with_firsts']:6.1%}"
            f"    import / COPY {imported['rate'] / ceilings['ceiling']:6.1%}"
        )
    result = _median_round(rounds)
    result["events"] = events
    result["rounds"] = [r["rate"] / r["indexed"] for r in rounds]
    result["rounds_with_firsts"] = [r["rate"] / r["with_firsts"] for r in rounds]
    result["traced_peak"] = _traced_peak(path) if trace else None
    return result


def _timed_import(path: Path, events: int) -> dict:
    truncate_events()
    with RssWatch() as rss:
        started = time.perf_counter()
        report = import_events_file(path)
        seconds = time.perf_counter() - started
    truncate_events()
    counts = report.counts()
    print(
        f"    import: received {counts['received']:,}, created {counts['created']:,}, "
        f"unchanged {counts['unchanged']:,}, rejected {counts['rejected']:,}"
    )
    if counts["created"] != events or counts["rejected"]:
        print("    !! the generated file should import whole: the figures below are not valid")
    _line("    import (timed)", seconds, events)
    print(
        f"    RSS peak during the import {rss.peak_kib / 1024:8.1f} MiB "
        f"(growth over its start {rss.growth_kib / 1024:+.1f} MiB)"
    )
    return {
        "seconds": seconds,
        "rate": events / seconds,
        "rss_peak": rss.peak_kib / 1024,
        "rss_growth": rss.growth_kib / 1024,
    }


def _ceilings(path: Path) -> dict:
    truncate_events()
    ceiling_seconds, copied = copy_ceiling(path)
    _line("    bare COPY (ceiling)", ceiling_seconds, copied)
    insert_seconds = indexed_insert()
    _line("    server-side insert, indexed", insert_seconds, copied)
    fold_seconds = firsts_fold()
    _line("    ... + the patients' firsts", insert_seconds + fold_seconds, copied)
    return {
        "ceiling": copied / ceiling_seconds,
        "indexed": copied / insert_seconds,
        "with_firsts": copied / (insert_seconds + fold_seconds),
    }


def _median_round(rounds: list[dict]) -> dict:
    """The round whose import / indexed-insert ratio is the median (the lower middle one)."""
    ordered = sorted(rounds, key=lambda r: r["rate"] / r["indexed"])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle["rss_peak"] = max(r["rss_peak"] for r in rounds)
    middle["rss_growth"] = max(r["rss_growth"] for r in rounds)
    return middle


def _traced_peak(path: Path) -> float:
    """Python's allocation peak of one more, untimed import with tracemalloc on."""
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    import_events_file(path)
    traced_seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / MIB
    tracemalloc.stop()
    truncate_events()
    print(
        f"  Python peak (tracemalloc)   {peak:8.1f} MiB "
        f"(a second, untimed import with tracing on: {traced_seconds:.1f} s)"
    )
    return peak


def _line(label: str, seconds: float, count: int) -> None:
    print(f"{label:<28}{seconds:8.2f} s {count:>11,} events {count / seconds:>10,.0f} events/s")


# --- The run --------------------------------------------------------------------------


def _throwaway_database() -> str:
    return throwaway_database("events")


def main() -> None:
    if OPTIONS.child:
        result = run_one(OPTIONS.events)
        print(RESULT_MARK + json.dumps(result), flush=True)
        return
    sizes = sorted({OPTIONS.compare_events, OPTIONS.events} - {0})
    _summary([_run_child(events) for events in sizes])


RESULT_MARK = "RESULT "


def _run_child(events: int) -> dict:
    """One size in a fresh process, so that its memory figures start from the same place."""
    command = [
        sys.executable,
        __file__,
        "--child",
        f"--events={events}",
        f"--patients={OPTIONS.patients}",
        f"--seed={OPTIONS.seed}",
        f"--rounds={OPTIONS.rounds}",
        *(["--no-trace"] if OPTIONS.no_trace else []),
    ]
    # The database URL goes in the environment (set above), not on a command line.
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        result = None
        for line in child.stdout:
            if line.startswith(RESULT_MARK):
                result = json.loads(line.removeprefix(RESULT_MARK))
            else:
                print(line, end="", flush=True)
    if child.returncode or result is None:
        sys.exit(f"the {events:,}-event run failed (exit status {child.returncode})")
    return result


def run_one(events: int) -> dict:
    rng = random.Random(OPTIONS.seed)
    with tempfile.TemporaryDirectory(prefix="pam_bench_") as tmp:
        original = _throwaway_database()
        try:
            roster = Path(tmp) / "roster.csv"
            write_roster(roster, OPTIONS.patients, rng)
            started = time.perf_counter()
            with roster.open("rb") as stream:
                report = patients_import(patient_rows(stream), source=EventSource.FEED_CSV)
            print(
                f"roster: {report.created:,} patients imported in "
                f"{time.perf_counter() - started:.1f} s"
            )
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            path = Path(tmp) / "events.csv"
            started = time.perf_counter()
            write_events(path, events, OPTIONS.patients, rng)
            print(
                f"{events:,} events for {OPTIONS.patients:,} patients: "
                f"{path.stat().st_size / MIB:.1f} MiB file written in "
                f"{time.perf_counter() - started:.1f} s"
            )
            return measure(path, events, trace=not OPTIONS.no_trace)
        finally:
            connection.close()
            connection.creation.destroy_test_db(original, verbosity=0)
            print()


def _summary(results: list[dict]) -> None:
    print("\nsummary")
    print(
        f"{'events':>11} {'seconds':>8} {'events/s':>10} {'Python peak':>12} "
        f"{'RSS peak':>10} {'RSS growth':>11} {'COPY/s':>10} {'ratio':>6} "
        f"{'indexed/s':>10} {'ratio':>6}"
    )
    for r in results:
        traced = f"{r['traced_peak']:.1f} MiB" if r["traced_peak"] is not None else "-"
        print(
            f"{r['events']:>11,} {r['seconds']:>8.2f} {r['rate']:>10,.0f} {traced:>12} "
            f"{r['rss_peak']:>6.1f} MiB {r['rss_growth']:>+7.1f} MiB {r['ceiling']:>10,.0f} "
            f"{r['rate'] / r['ceiling']:>6.1%} {r['indexed']:>10,.0f} "
            f"{r['rate'] / r['indexed']:>6.1%}"
        )
    print("\nimport / indexed insert, every round (the summary shows the median round):")
    for r in results:
        ratios = ", ".join(f"{ratio:.1%}" for ratio in r["rounds"])
        print(f"{r['events']:>11,}  {ratios}")
    print("import / (indexed insert + the patients' firsts), every round:")
    for r in results:
        ratios = ", ".join(f"{ratio:.1%}" for ratio in r["rounds_with_firsts"])
        print(f"{r['events']:>11,}  {ratios}")


if __name__ == "__main__":
    main()
