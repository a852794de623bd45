"""Benchmark: the monthly metrics rollup on 100,000 patients and 10,000,000 events.

    .venv/bin/python bench/rollup.py
    .venv/bin/python bench/rollup.py --patients 100000 --events 10000000 --months 24 \\
        --database-url postgres://postgres@127.0.0.1:5432/postgres     # the defaults

PostgreSQL only: the benchmark creates, migrates and drops its own database on
the server of --database-url (default $DATABASE_URL, else
postgres://postgres@127.0.0.1:5432/postgres), named pam_bench_rollup_<pid>; it
never touches the named database.

It builds a practice of --patients patients (6 locations, 30 providers, 8% of
them leaving the panel during the window, some joining) and --events events
over the --months months up to today, per patient: an activation for about
70% (then an app install for 40% of those), and before and after it the mix
of a portal practice: logins, record views, messages with replies (most within
hours; about 6% of them answered by a call instead, a response_by_phone),
bookings by portal, app, phone and desk, each with an appointment_type,
results released, viewed and called about, payments, surveys, phone calls.
The answers by phone and the appointment types are drawn from a second RNG,
so every other event is the one the benchmark made before it had them. The
events are generated in
Python and COPYed as text into an unlogged staging table, then moved into the
event table in time order (as a live log is appended to), with the event
table's secondary indexes dropped meanwhile and put back after with the same
definitions; then the tables are vacuumed and analyzed and a checkpoint is
taken. Then it times:

- `rollup_month` for the last full month: every figure for the practice, each
  location and each provider, written in one transaction (twice: the first
  run reads colder caches);
- `month_figures` for the practice alone, the same month;
- `rollup_all`: every month of the window and the current one;
- the ceiling: one hand-written SQL statement computing the month's headline
  counts for the practice (panel, enrolled, new enrollments, active users,
  messages, self-scheduled bookings, results viewed, portal payments, phone
  calls), checked against the rollup's numbers, and the ratios to it;
- the dashboard API (`api_metrics_monthly`, month='YYYY-MM') as a manager,
  --requests requests, p50/p95/max, if that URL exists.

It prints figures only; it never fails on timing. Target: one month under 5 s.

`--keep` keeps the loaded database; `--reuse NAME --rounds N` times one kept
that way again without loading (the ceiling and `rollup_month` in turn, N
times), for before/after comparisons of the code on one machine.
"""

import argparse
import logging
import math
import os
import random
import time
from datetime import UTC, date, datetime, timedelta

from throwaway import setup_django, throwaway_database

POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=24, help="months of events up to today")
    parser.add_argument("--requests", type=int, default=100, help="dashboard API requests")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server (default: $DATABASE_URL); only its host and user are used",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-all", action="store_true", help="do not time rollup_all")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database afterwards (to EXPLAIN queries)"
    )
    parser.add_argument(
        "--reuse",
        metavar="DATABASE",
        help="time a database kept by an earlier --keep run (same server) instead of loading "
        "one; with --rounds, the ceiling and rollup_month alternate",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --reuse: (ceiling, rollup_month) pairs"
    )
    options = parser.parse_args()
    if not options.database_url.startswith(POSTGRES_SCHEMES):
        parser.error(
            "this benchmark needs PostgreSQL (COPY, advisory locks): pass "
            "--database-url postgres://... or set DATABASE_URL"
        )
    if min(options.patients, options.events, options.months, options.requests) < 1:
        parser.error("--patients, --events, --months and --requests must be positive")
    return options


OPTIONS = _options()

setup_django(OPTIONS.database_url)

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

from metrics.compute import month_bounds, month_figures, next_month, previous_month  # noqa: E402
from metrics.models import MonthlyRollup, ScopeKind  # noqa: E402
from metrics.services import practice_today, rollup_all, rollup_month  # noqa: E402
from patients.models import (  # noqa: E402
    ActivityEvent,
    EventKey,
    Location,
    ObjectFirsts,
    Patient,
    Provider,
)
from patients.partitions import event_partitions_ensure  # noqa: E402
from patients.services import object_firsts_rebuild, patient_firsts_rebuild  # noqa: E402
from portal_adoption.models import User  # noqa: E402
from portal_adoption.roles import Role  # noqa: E402
from portal_adoption.services import staff_set_roles  # noqa: E402

DAY = 86_400
HOUR = 3_600
LOCATIONS = 6
PROVIDERS = 30
COPY_BATCH = 20_000
STAGING = "bench_rollup_events_staging"

# (weight, type, channels, follow-ups): what an enrolled patient does ...
ENROLLED_MIX = (
    (30, "login", ("portal", "app")),
    (7, "record_viewed", ("portal", "app")),
    (8, "message_from_patient", ("portal", "app")),
    (9, "appointment_booked", ("portal", "app", "app", "phone", "phone", "front_desk")),
    (8, "result_released", ("",)),
    (7, "payment", ("portal", "app", "phone", "front_desk", "mail")),
    (2, "survey_response", ("portal", "app")),
    (6, "phone_call", ("phone",)),
)
# What a booking is for (the second RNG): self-scheduled annual exams lag the rest.
SELF_BOOKED_TYPES = ("annual_exam", "follow_up", "follow_up", "sick_visit", "sick_visit", "other")
STAFF_BOOKED_TYPES = ("annual_exam", "annual_exam", "follow_up", "sick_visit", "procedure")
P_ANSWERED_BY_PHONE = 0.06
# ... and one who is not (yet).
NOT_ENROLLED_MIX = (
    (30, "phone_call", ("phone",)),
    (25, "appointment_booked", ("phone", "front_desk")),
    (15, "payment", ("phone", "front_desk", "mail")),
    (20, "result_released", ("",)),
    (10, "portal_invited", ("mail", "front_desk", "portal")),
)


def _expand(mix) -> list[tuple[str, tuple[str, ...]]]:
    return [(kind, channels) for weight, kind, channels in mix for _ in range(weight)]


# --- The data -----------------------------------------------------------------------


class Clock:
    """Epoch seconds to PostgreSQL text, fast: a table of days and one of times of day."""

    def __init__(self, first: datetime, last: datetime):
        self.base = int(datetime.combine(first.date(), datetime.min.time(), UTC).timestamp())
        days = (int(last.timestamp()) - self.base) // DAY + 2
        self.days = [
            (datetime.fromtimestamp(self.base, UTC) + timedelta(days=n)).strftime("%Y-%m-%d")
            for n in range(days)
        ]
        self.times = [f" {s // HOUR:02d}:{s % HOUR // 60:02d}:{s % 60:02d}+00" for s in range(DAY)]

    def text(self, epoch: int) -> str:
        offset = epoch - self.base
        return self.days[offset // DAY] + self.times[offset % DAY]


def load_roster(rng: random.Random, window: tuple[int, int]) -> list[tuple]:
    """Locations, providers and patients (COPY); returns each patient's plan."""
    locations = Location.objects.bulk_create(
        [Location(code=f"L{n}", name=f"Clinic {n}") for n in range(LOCATIONS)]
    )
    providers = Provider.objects.bulk_create(
        [
            Provider(code=f"P{n}", name=f"Dr. Provider {n}", location=locations[n % LOCATIONS])
            for n in range(PROVIDERS)
        ]
    )
    by_location = {
        loc.pk: [p.pk for p in providers if p.location_id == loc.pk] for loc in locations
    }
    first, last = window
    now_text = datetime.now(UTC).isoformat()
    plans, lines = [], []
    for number in range(OPTIONS.patients):
        location = locations[min(int(rng.expovariate(0.5)), LOCATIONS - 1)].pk
        provider = rng.choice(by_location[location]) if rng.random() < 0.95 else None
        if rng.random() < 0.75:
            registered = date(2012, 1, 1) + timedelta(days=rng.randrange(4000))
        else:  # joins during the window
            registered = datetime.fromtimestamp(rng.uniform(first, last), UTC).date()
        registered_at = max(
            first, int(datetime(*registered.timetuple()[:3], tzinfo=UTC).timestamp())
        )
        deactivated = None
        if rng.random() < 0.08:
            leaves = rng.uniform(registered_at, last)
            deactivated = datetime.fromtimestamp(leaves, UTC).date()
        lines.append(
            f"MRN{number:07d}\tGiven{number % 97}\tFamily{number % 89}\t1970-01-01\t\t\ten\t"
            f"{location}\t{provider if provider else chr(92) + 'N'}\t{registered}\t"
            f"{deactivated or chr(92) + 'N'}\t\tf\t{now_text}\t{now_text}\n"
        )
        ends = _epoch(deactivated) if deactivated else last
        plans.append((registered_at, max(registered_at + HOUR, ends), rng.lognormvariate(0, 1)))
    table = Patient._meta.db_table
    columns = (
        "external_id, given_name, family_name, birth_date, email, mobile_phone, "
        "preferred_language, location_id, primary_provider_id, registered_on, deactivated_on, "
        "notification_channel, prefers_phone_for_clinical, created_at, updated_at"
    )
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for start in range(0, len(lines), COPY_BATCH):
            copy.write("".join(lines[start : start + COPY_BATCH]))
    ids = list(Patient.objects.order_by("external_id").values_list("pk", flat=True))
    return [(pk, *plan) for pk, plan in zip(ids, plans, strict=True)]


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def budgets(plans: list[tuple], total: int) -> list[int]:
    """Events per patient, in proportion to their activity weight, summing to `total`."""
    weights = [plan[3] for plan in plans]
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    short = total - sum(counts)
    for index in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[:short]:
        counts[index] += 1
    return counts


class EventWriter:
    """Formats event rows for COPY (text format), numbering them."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.count = 0
        self.lines: list[str] = []

    def next_id(self) -> int:
        return self.count + 1

    def emit(
        self,
        patient,
        kind,
        when,
        channel="",
        object_id="",
        reply_to="",
        amount="\\N",
        score="\\N",
        appointment_type="",
    ):
        self.count += 1
        stamp = self.clock.text(when)
        self.lines.append(
            f"e{self.count}\t{patient}\t{kind}\t{stamp}\t{channel}\t{object_id}\t{reply_to}\t"
            f"{appointment_type}\t{amount}\t{score}\tdemo\t{stamp}\n"
        )


def generate_events(rng: random.Random, plans: list[tuple], clock: Clock, window):
    """Text COPY rows of the event table, in batches; each patient's exact budget."""
    enrolled_mix, other_mix = _expand(ENROLLED_MIX), _expand(NOT_ENROLLED_MIX)
    details = random.Random(OPTIONS.seed + 1)  # answers by phone, appointment types
    n_enrolled, n_other = len(enrolled_mix), len(other_mix)
    random_, randrange, lognorm = rng.random, rng.randrange, rng.lognormvariate
    last = window[1]
    out = EventWriter(clock)
    emit = out.emit
    for (patient, lo, hi, _weight), left in zip(plans, budgets(plans, OPTIONS.events), strict=True):
        span = hi - lo
        activated = lo + int(rng.expovariate(1 / (120 * DAY))) if random_() < 0.72 else None
        if activated is not None and activated >= hi:
            activated = None
        if activated is not None and left:
            emit(patient, "portal_activated", activated, "portal")
            left -= 1
            installed = activated + int(rng.expovariate(1 / (10 * DAY)))
            if left and installed < hi and random_() < 0.4:
                emit(patient, "app_installed", installed, "app")
                left -= 1
        while left > 0:
            when = lo + int(random_() * span)
            if activated is not None and when >= activated:
                kind, channels = enrolled_mix[int(random_() * n_enrolled)]
            else:
                kind, channels = other_mix[int(random_() * n_other)]
            channel = channels[int(random_() * len(channels))]
            left -= 1
            if kind == "message_from_patient":
                message = f"m{out.next_id()}"
                emit(patient, kind, when, channel, message)
                reply_at = when + int(lognorm(1.2, 1.1) * HOUR)
                if left and reply_at < min(hi, last) and random_() < 0.9:
                    if details.random() < P_ANSWERED_BY_PHONE:
                        response = ("response_by_phone", "phone", f"c{out.next_id()}")
                    else:
                        response = ("message_to_patient", "portal", f"r{out.next_id()}")
                    emit(patient, response[0], reply_at, response[1], response[2], message)
                    left -= 1
            elif kind == "result_released":
                result = f"res{out.next_id()}"
                emit(patient, kind, when, "", result)
                viewed_at = when + int(lognorm(1.0, 1.6) * HOUR)
                enrolled_then = activated is not None and viewed_at >= activated
                if left and viewed_at < hi and enrolled_then and random_() < 0.75:
                    emit(patient, "result_viewed", viewed_at, "portal", result)
                    left -= 1
                called_at = when + int(lognorm(3.0, 1.0) * HOUR)
                if left and called_at < hi and random_() < 0.35:
                    emit(patient, "result_communicated", called_at, "phone", result)
                    left -= 1
            elif kind == "payment":
                cents = randrange(500, 40_000)
                amount = f"{cents // 100}.{cents % 100:02d}"
                emit(patient, kind, when, channel, f"p{out.next_id()}", "", amount)
            elif kind == "appointment_booked":
                types = SELF_BOOKED_TYPES if channel in ("portal", "app") else STAFF_BOOKED_TYPES
                appointment_type = types[int(details.random() * len(types))]
                emit(
                    patient,
                    kind,
                    when,
                    channel,
                    f"a{out.next_id()}",
                    appointment_type=appointment_type,
                )
            elif kind == "survey_response":
                score = str(min(5, 1 + int(random_() * 5.6)))
                emit(patient, kind, when, channel, "s", "", "\\N", score)
            else:
                emit(patient, kind, when, channel)
            if len(out.lines) >= COPY_BATCH:
                yield "".join(out.lines)
                out.lines.clear()
    if out.lines:
        yield "".join(out.lines)


def _secondary_indexes(table: str) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """(CREATE INDEX statements, (unique constraint, definition), index names) but the pkey."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = %s::regclass AND contype = 'u'
            """,
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.tablename = %s
              AND i.indexname NOT IN (
                  SELECT conname FROM pg_constraint
                  WHERE conrelid = %s::regclass AND contype IN ('p', 'u'))
            """,
            [table, table],
        )
        indexes = cursor.fetchall()
    # A partitioned table's index is defined "ON ONLY" the parent: made again
    # without ONLY, it is built on every partition too.
    creates = [definition.replace(" ON ONLY ", " ON ") for _name, definition in indexes]
    return creates, constraints, [n for n, _ in indexes]


def load_events(rng: random.Random, plans: list[tuple], window) -> dict:
    table = ActivityEvent._meta.db_table
    creates, constraints, names = _secondary_indexes(table)
    clock = Clock(datetime.fromtimestamp(window[0], UTC), datetime.fromtimestamp(window[1], UTC))
    columns = (
        "event_id, patient_id, type, occurred_at, channel, object_id, reply_to, appointment_type, "
        "amount, score, source, recorded_at"
    )
    # The event log is partitioned by month on PostgreSQL (patients/partitions.py):
    # every month of the window gets its partition before the load, as in a live log.
    event_partitions_ensure(since=datetime.fromtimestamp(window[0], UTC).date())
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP INDEX "{name}"')
        for name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute(
            f"CREATE UNLOGGED TABLE {STAGING} AS SELECT {columns} FROM {table} WITH NO DATA"
        )
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {STAGING} ({columns}) FROM STDIN") as copy,
    ):
        for chunk in generate_events(rng, plans, clock, window):
            copy.write(chunk)
    copied = time.perf_counter() - started
    # A live event log is appended to as things happen: its rows lie in time order.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The rows are made consistent: no foreign key check per row while loading.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET work_mem = '512MB'")
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {STAGING} ORDER BY occurred_at"
        )
        # Replica mode also skips the trigger that keeps the event_id keys: in one go.
        cursor.execute(
            f"INSERT INTO {EventKey._meta.db_table} (event_id, occurred_at) "
            f"SELECT event_id, occurred_at FROM {STAGING}"
        )
        cursor.execute(f"DROP TABLE {STAGING}")
        cursor.execute("SET session_replication_role = origin")
        cursor.execute("RESET work_mem")
    ordered = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for create in creates:
            cursor.execute(create)
    indexed = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(f"VACUUM ANALYZE {EventKey._meta.db_table}")
        cursor.execute(f"VACUUM ANALYZE {Patient._meta.db_table}")
        # Write the load's dirty pages out now, not while the rollup is being timed.
        cursor.execute("CHECKPOINT")
    return {
        "copied": copied,
        "ordered": ordered,
        "indexed": indexed,
        "vacuumed": time.perf_counter() - started,
    }


# --- Timing ---------------------------------------------------------------------------


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


CEILING_SQL = """
WITH panel AS (
    SELECT id FROM {patients}
    WHERE registered_on <= %(last_day)s
      AND (deactivated_on IS NULL OR deactivated_on > %(last_day)s)
), activated AS (
    SELECT patient_id, min(occurred_at) AS first_at FROM {events}
    WHERE type = 'portal_activated' AND occurred_at < %(end)s
    GROUP BY patient_id
), month_events AS (
    SELECT patient_id, type, channel, amount FROM {events}
    WHERE occurred_at >= %(start)s AND occurred_at < %(end)s
      AND type IN ('login', 'message_from_patient', 'message_to_patient',
                   'appointment_booked', 'payment', 'phone_call')
), enrolled AS (
    SELECT panel.id FROM panel JOIN activated ON activated.patient_id = panel.id
), first_views AS (
    SELECT patient_id, object_id FROM {events}
    WHERE type = 'result_viewed' AND object_id <> '' AND occurred_at < %(end)s
    GROUP BY patient_id, object_id HAVING min(occurred_at) >= %(start)s
)
SELECT
    (SELECT count(*) FROM panel),
    (SELECT count(*) FROM enrolled),
    (SELECT count(*) FROM activated WHERE first_at >= %(start)s),
    (SELECT count(*) FROM enrolled WHERE id IN
        (SELECT patient_id FROM month_events WHERE type = 'login')),
    counts.received, counts.sent, counts.self_scheduled,
    (SELECT count(*) FROM first_views),
    counts.portal_payments, counts.phone_calls
FROM (
    SELECT
        count(*) FILTER (WHERE type = 'message_from_patient') AS received,
        count(*) FILTER (WHERE type = 'message_to_patient') AS sent,
        count(*) FILTER (WHERE type = 'appointment_booked' AND channel IN ('portal', 'app'))
            AS self_scheduled,
        coalesce(sum(amount) FILTER (WHERE type = 'payment' AND channel IN ('portal', 'app')), 0)
            AS portal_payments,
        count(*) FILTER (WHERE type = 'phone_call') AS phone_calls
    FROM month_events
) counts
"""
CEILING_KEYS = (
    "panel",
    "enrolled",
    "new_enrollments",
    "active_users",
    "messages_received",
    "messages_sent",
    "appointments_self_scheduled",
    "results_viewed",
    "portal_payments",
    "phone_calls",
)


def ceiling(month: date) -> tuple[float, dict]:
    start, end = month_bounds(month)
    sql = CEILING_SQL.format(patients=Patient._meta.db_table, events=ActivityEvent._meta.db_table)
    parameters = {"start": start, "end": end, "last_day": next_month(month) - timedelta(days=1)}
    with connection.cursor() as cursor:
        began = time.perf_counter()
        cursor.execute(sql, parameters)
        row = cursor.fetchone()
        seconds = time.perf_counter() - began
    values = dict(zip(CEILING_KEYS, row, strict=True))
    values["portal_payments"] = f"{values['portal_payments']:.2f}"
    return seconds, values


def _pass_second_step(client, user) -> None:
    """Managers sign in with a second factor: give the bench manager a verified session."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def _percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank."""
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def signed_in_manager(username: str = "bench-manager") -> Client:
    """A test client signed in, second step included, as a manager (made if new)."""
    manager, _new = User.objects.get_or_create(username=username, defaults={"first_name": "Maria"})
    staff_set_roles(user=manager, roles=[Role.MANAGER])
    client = Client()
    client.force_login(manager)
    _pass_second_step(client, manager)
    return client


def request_timings(client, url: str, requests: int) -> list[float]:
    """Milliseconds of `requests` GETs of `url` in a row, sorted."""
    timings = []
    for _request in range(requests):
        began = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - began) * 1000)
    return sorted(timings)


def time_api(month: date) -> None:
    try:
        url = reverse("api_metrics_monthly", kwargs={"month": f"{month:%Y-%m}"})
    except NoReverseMatch:
        print("dashboard API not available")
        return
    client = signed_in_manager()
    response = client.get(url)
    if response.status_code != 200:
        print(f"dashboard API not available (GET {url} answered {response.status_code})")
        return
    for _warm_up in range(5):
        client.get(url)
    timings = request_timings(client, url, OPTIONS.requests)
    print(
        f"dashboard API GET {url}, {OPTIONS.requests} requests: "
        f"p50 {_percentile(timings, 0.5):.1f} ms, p95 {_percentile(timings, 0.95):.1f} ms, "
        f"max {timings[-1]:.1f} ms"
    )


# --- The run --------------------------------------------------------------------------


def _throwaway_database() -> str:
    return throwaway_database("rollup")


def alternate(month: date, rounds: int) -> None:
    """On a kept database: the ceiling and rollup_month in turn, each ratio from one
    pair run back to back, so a machine shared with other jobs still gives ratios."""
    start, end = month_bounds(month)
    in_month = ActivityEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).count()
    print(f"month {month:%Y-%m}: {in_month:,} events in the month, {rounds} rounds")
    rollup_month(month)  # warm the caches once
    for number in range(1, rounds + 1):
        ceiling_seconds, _headline = ceiling(month)
        rollup_seconds, _rows = timed(rollup_month, month)
        print(
            f"  round {number}: ceiling {ceiling_seconds:6.2f} s, rollup_month "
            f"{rollup_seconds:6.2f} s, ratio {rollup_seconds / ceiling_seconds:4.1f} x",
            flush=True,
        )


def main() -> None:
    rng = random.Random(OPTIONS.seed)
    logging.getLogger("metrics").setLevel(logging.WARNING)  # figures only
    setup_test_environment()  # "testserver" in ALLOWED_HOSTS for the test client
    if OPTIONS.reuse:
        connection.settings_dict["NAME"] = OPTIONS.reuse
        connection.close()
        alternate(previous_month(practice_today().replace(day=1)), OPTIONS.rounds)
        return
    original = _throwaway_database()
    try:
        current = practice_today().replace(day=1)
        first = current
        for _month in range(OPTIONS.months - 1):
            first = previous_month(first)
        window = (int(month_bounds(first)[0].timestamp()), int(time.time()))
        seconds, plans = timed(load_roster, rng, window)
        print(
            f"roster: {len(plans):,} patients, {LOCATIONS} locations, {PROVIDERS} providers "
            f"in {seconds:.1f} s",
            flush=True,
        )
        load = load_events(rng, plans, window)
        events = ActivityEvent.objects.count()
        print(
            f"events: {events:,} from {first:%Y-%m} to today, generated and copied in "
            f"{load['copied']:.1f} s ({events / load['copied']:,.0f}/s); put in time order in "
            f"{load['ordered']:.1f} s; indexes rebuilt in "
            f"{load['indexed']:.1f} s; VACUUM ANALYZE and CHECKPOINT {load['vacuumed']:.1f} s",
            flush=True,
        )
        # The load went around the services that keep the firsts: build them whole.
        seconds, firsts = timed(patient_firsts_rebuild)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE patients_patientfirsts")
        print(f"patient firsts: {firsts:,} patients, rebuilt in {seconds:.1f} s", flush=True)
        # The load ran in replica mode, past the trigger that keeps ObjectFirsts.
        seconds, objects = timed(object_firsts_rebuild)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {ObjectFirsts._meta.db_table}")
        print(f"object firsts: {objects:,} rows, rebuilt in {seconds:.1f} s", flush=True)
        month = previous_month(current)
        scopes = 1 + LOCATIONS + PROVIDERS
        start, end = month_bounds(month)
        in_month = ActivityEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).count()
        print(
            f"\nmonth {month:%Y-%m} ({scopes} scopes: practice, locations, providers): "
            f"{in_month:,} of the log's {events:,} events ({in_month / events:.1%})"
        )
        cold, rows = timed(rollup_month, month)
        warm, _rows = timed(rollup_month, month)
        print(f"  rollup_month, first run          {cold:8.2f} s  ({rows} rows)")
        print(f"  rollup_month, second run         {warm:8.2f} s")
        practice_only, _figures = timed(month_figures, month)
        print(f"  month_figures, practice only     {practice_only:8.2f} s")
        ceiling_seconds, headline = ceiling(month)
        print(f"  ceiling: one hand-written query  {ceiling_seconds:8.2f} s  (headline counts)")
        print(f"  ratio rollup_month / ceiling     {warm / ceiling_seconds:8.1f} x")
        print(f"  ratio practice only / ceiling    {practice_only / ceiling_seconds:8.1f} x")
        stored = MonthlyRollup.objects.get(month=month, scope_kind=ScopeKind.PRACTICE).figures
        differ = {k: (stored[k], v) for k, v in headline.items() if stored[k] != v}
        print(f"  ceiling counts equal the rollup's: {differ or 'yes'}")
        print(
            "  headline: "
            + ", ".join(f"{key} {stored[key]}" for key in CEILING_KEYS)
            + f", avg response {stored['avg_response_hours']} h "
            f"(evenings/weekends {stored['after_hours_avg_response_hours']} h, "
            f"{stored['responses_by_phone']} answered by phone), annual exams self-scheduled "
            f"{stored['annual_exam_self_scheduled_share']}, "
            f"satisfaction {stored['satisfaction']}"
        )
        if not OPTIONS.skip_all:
            seconds, run = timed(rollup_all)
            months = run.months
            print(
                f"\nrollup_all: {len(months)} months x {scopes} scopes in {seconds:.1f} s "
                f"({seconds / len(months):.2f} s a month)"
            )
        print()
        time_api(month)
        print("\ntarget: one month under 5 s")
    finally:
        connection.close()
        if OPTIONS.keep:
            print(f"kept the database {connection.settings_dict['NAME']}")
        else:
            connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
