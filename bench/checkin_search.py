"""Benchmark: the check-in patient search with 200,000 patients on PostgreSQL.

    .venv/bin/python bench/checkin_search.py
    DATABASE_URL=postgres://... .venv/bin/python bench/checkin_search.py --patients 200000

PostgreSQL only: the benchmark creates, migrates and drops its own database on
the server of --database-url (default $DATABASE_URL, else
postgres://postgres@127.0.0.1:5432/postgres), named pam_bench_search_<pid>; it
never touches the named database.

It loads --patients patients with COPY (names from the demo data's few hundred
given and family names, skewed so that some are common; birth dates over 95
years; 8-digit MRNs; US mobile numbers in E.164 for most), ANALYZEs, then runs
--searches check-in searches through `patient_search`, evaluated as the
check-in page does (`list(patient_search(q)[:CHECKIN_RESULTS])`, 25 rows):

- the first letter of a name (the page searches as the clerk types);
- a name prefix of 2 to 6 letters (given or family name);
- "given family": prefixes of both names;
- a full MRN (8 digits);
- a birth date, 1980-03-14 or 3/14/1980;
- a mobile number as a person reads it out: (212) 555-0143, 212-555-0143, ...

It prints p50, p95 and max in milliseconds per kind and overall, and the
EXPLAIN ANALYZE of a short name search. Then (unless --no-baseline) it drops
the search indexes of 0005_checkin_search_indexes (that migration's own
reverse function, nothing else), ANALYZEs, runs the same searches again for
comparison, and creates the indexes again (the migration's forward function).
It does not migrate back: that would also unapply every later patients
migration, and the search reads columns they added. It prints figures only; it never fails on
timing. The target is a p95 under 100 ms on a 2-core machine.
"""

import argparse
import math
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import import_module

from throwaway import setup_django, throwaway_database

DEFAULT_PATIENTS = 200_000
DEFAULT_SEARCHES = 400
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")
INDEXED = "0005_checkin_search_indexes"


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS)
    parser.add_argument("--searches", type=int, default=DEFAULT_SEARCHES)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server (default: $DATABASE_URL); only its host and user are used",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the run without the search indexes"
    )
    options = parser.parse_args()
    if not options.database_url.startswith(POSTGRES_SCHEMES):
        parser.error(
            "this benchmark needs PostgreSQL: pass --database-url postgres://... "
            "or set DATABASE_URL (it creates and drops its own database there)"
        )
    if options.patients < 1 or options.searches < 1:
        parser.error("--patients and --searches must be positive")
    return options


OPTIONS = _options()

setup_django(OPTIONS.database_url)

from django.apps import apps  # noqa: E402
from django.db import connection  # noqa: E402

from enrollment.views.checkin import CHECKIN_RESULTS  # noqa: E402
from patients.demo import AREA_CODES, NAMES  # noqa: E402
from patients.models import Location, Provider  # noqa: E402
from patients.selectors import patient_search  # noqa: E402
from portal_adoption.contact import ContactInvalid, phone_to_e164  # noqa: E402

# --- The roster ---------------------------------------------------------------------

LANGUAGES = (
    ("en", 80),
    ("es", 15),
    ("vi", 1.5),
    ("zh", 1.2),
    ("ht", 1.0),
    ("ar", 0.7),
    ("ru", 0.6),
)
BORROWED_FAMILY_NAME = 0.15
MOBILE_SHARE = 0.75
COLUMNS = (
    "external_id",
    "given_name",
    "family_name",
    "birth_date",
    "email",
    "mobile_phone",
    "preferred_language",
    "location_id",
    "primary_provider_id",
    "registered_on",
    "deactivated_on",
    "notification_channel",
    "prefers_phone_for_clinical",
    "created_at",
    "updated_at",
)


@dataclass(slots=True)
class Person:
    mrn: str
    given: str
    family: str
    born: date
    mobile: str


def _skewed(names: tuple[str, ...]) -> tuple[tuple[str, ...], list[float]]:
    """The names with Zipf-like weights: the first ones in each list are common."""
    return names, [1 / math.sqrt(rank + 1) for rank in range(len(names))]


def roster(count: int, rng: random.Random) -> list[Person]:
    given_by_language = {
        lang: _skewed(female + male) for lang, (female, male, _family) in NAMES.items()
    }
    family_by_language = {lang: _skewed(lists[2]) for lang, lists in NAMES.items()}
    all_family = _skewed(tuple(name for lists in NAMES.values() for name in lists[2]))
    languages, weights = zip(*LANGUAGES, strict=True)
    # 8-digit MRNs, not in roster order.
    mrns = rng.sample(range(10_000_000, 100_000_000), count)
    people = []
    for mrn in mrns:
        lang = rng.choices(languages, weights)[0]
        names, name_weights = given_by_language[lang]
        given = rng.choices(names, name_weights)[0]
        family_names = family_by_language[lang]
        if lang == "en" and rng.random() < BORROWED_FAMILY_NAME:
            family_names = all_family
        family = rng.choices(*family_names)[0]
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(95 * 365))
        mobile = ""
        if rng.random() < MOBILE_SHARE:
            mobile = (
                f"+1{rng.choice(AREA_CODES)}{rng.randrange(200, 1000)}{rng.randrange(10_000):04d}"
            )
        people.append(Person(str(mrn), given, family, born, mobile))
    return people


def load(people: list[Person], rng: random.Random) -> float:
    """COPY the roster into patients_patient; the seconds it took."""
    locations = [
        Location.objects.create(code=f"SITE-{n}", name=f"Site {n}").pk for n in range(1, 4)
    ]
    providers = [None] + [
        Provider.objects.create(code=f"PRV-{n}", name=f"Provider {n}", location_id=site).pk
        for n, site in enumerate(locations * 3, start=1)
    ]
    now = datetime.now(UTC)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        copy_sql = f"COPY patients_patient ({', '.join(COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for number, person in enumerate(people):
                registered = max(person.born, date(2012, 1, 1)) + timedelta(
                    days=rng.randrange(3000)
                )
                email = ""
                if rng.random() < 0.8:
                    email = f"{person.given}.{person.family}{number}@example.org".lower()
                deactivated = registered + timedelta(days=400) if rng.random() < 0.05 else None
                copy.write_row(
                    (
                        person.mrn,
                        person.given,
                        person.family,
                        person.born,
                        email,
                        person.mobile,
                        "en",
                        rng.choice(locations),
                        rng.choice(providers),
                        registered,
                        deactivated,
                        "",
                        False,
                        now,
                        now,
                    )
                )
    return time.perf_counter() - started


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")


# --- The searches -------------------------------------------------------------------

KINDS = (
    ("first letter", 5),
    ("name prefix", 35),
    ("given family", 25),
    ("MRN", 15),
    ("birth date", 12),
    ("phone", 13),
)


def _typed(text: str, rng: random.Random) -> str:
    """As the desk types it: usually in lower case."""
    return text.lower() if rng.random() < 0.7 else text


def _prefix(name: str, rng: random.Random, shortest: int = 2, longest: int = 6) -> str:
    return name[: rng.randint(shortest, longest)]


def _phone_typed(e164: str, rng: random.Random) -> str:
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    return rng.choice(
        (
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}{exchange}{line}",
            f"+1 {area} {exchange} {line}",
        )
    )


def searches(people: list[Person], count: int, rng: random.Random) -> list[tuple[str, str]]:
    kinds, weights = zip(*KINDS, strict=True)
    with_mobile = [person for person in people if person.mobile]
    result = []
    while len(result) < count:
        kind = rng.choices(kinds, weights)[0]
        person = rng.choice(people)
        if kind == "first letter":
            name = person.given if rng.random() < 0.4 else person.family
            query = _typed(name[0], rng)
        elif kind == "name prefix":
            name = person.given if rng.random() < 0.4 else person.family
            query = _typed(_prefix(name, rng), rng)
        elif kind == "given family":
            given, family = _prefix(person.given, rng), _prefix(person.family, rng)
            query = _typed(f"{given} {family}", rng)
        elif kind == "MRN":
            query = person.mrn
        elif kind == "birth date":
            born = person.born
            query = (
                born.isoformat() if rng.random() < 0.5 else f"{born.month}/{born.day}/{born.year}"
            )
        else:
            person = rng.choice(with_mobile)
            query = _phone_typed(person.mobile, rng)
            try:
                phone_to_e164(query)
            except ContactInvalid:
                continue  # not a number the search would take for a phone number
        result.append((kind, query))
    return result


def run(mix: list[tuple[str, str]]) -> dict[str, list[tuple[float, int]]]:
    """{kind: [(milliseconds, rows)]}, each search evaluated as the page does."""
    timings: dict[str, list[tuple[float, int]]] = {kind: [] for kind, _w in KINDS}
    for kind, query in mix:
        started = time.perf_counter()
        rows = len(list(patient_search(query)[:CHECKIN_RESULTS]))
        timings[kind].append(((time.perf_counter() - started) * 1000, rows))
    return timings


def _percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank."""
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def report(title: str, timings: dict[str, list[tuple[float, int]]]) -> dict[str, float]:
    print(f"\n{title}")
    print(f"  {'kind':<14}{'searches':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'rows avg':>10}")
    everything = [entry for entries in timings.values() for entry in entries]
    summary = {}
    for kind, entries in [*timings.items(), ("overall", everything)]:
        if not entries:
            continue
        ms = sorted(entry[0] for entry in entries)
        rows = sum(entry[1] for entry in entries) / len(entries)
        p50, p95 = _percentile(ms, 0.50), _percentile(ms, 0.95)
        summary[kind] = p95
        print(f"  {kind:<14}{len(ms):>9}{p50:>9.1f}{p95:>9.1f}{ms[-1]:>9.1f}{rows:>10.1f}")
    return summary


def explain(query: str) -> None:
    plan = patient_search(query)[:CHECKIN_RESULTS].explain(analyze=True, buffers=True)
    print(f"\nEXPLAIN ANALYZE of the search {query!r} (first {CHECKIN_RESULTS} rows):")
    for line in plan.splitlines():
        print(f"  {line}")


def search_indexes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'patients_patient' "
            "ORDER BY indexname"
        )
        return [row[0] for row in cursor.fetchall()]


# --- The run ------------------------------------------------------------------------


def _throwaway_database() -> str:
    return throwaway_database("search")


def main() -> None:
    rng = random.Random(OPTIONS.seed)
    original = _throwaway_database()
    try:
        started = time.perf_counter()
        people = roster(OPTIONS.patients, rng)
        generated = time.perf_counter() - started
        seconds = load(people, rng)
        started = time.perf_counter()
        analyze()
        print(
            f"roster: {len(people):,} patients generated in {generated:.1f} s, "
            f"copied in {seconds:.1f} s, analyzed in {time.perf_counter() - started:.1f} s"
        )
        print(f"indexes on patients_patient: {', '.join(search_indexes())}")
        mix = searches(people, OPTIONS.searches, rng)
        warm_up = searches(people, 30, random.Random(OPTIONS.seed + 1))
        counts = ", ".join(
            f"{sum(1 for kind, _q in mix if kind == name)} {name}" for name, _w in KINDS
        )
        print(f"searches: {len(mix)} ({counts}); {len(warm_up)} more first, untimed")

        run(warm_up)
        indexed = report(f"with the search indexes ({INDEXED})", run(mix))
        # A common two-letter prefix (many matches) and a two-word search.
        explain("ma")
        explain(next(query for kind, query in mix if kind == "given family"))

        if not OPTIONS.no_baseline:
            started = time.perf_counter()
            search_migration = import_module(f"patients.migrations.{INDEXED}")
            with connection.schema_editor() as editor:
                search_migration.drop_search_indexes(apps, editor)
            analyze()
            print(
                f"\ndropped the search indexes of {INDEXED} in "
                f"{time.perf_counter() - started:.1f} s; "
                f"indexes: {', '.join(search_indexes())}"
            )
            run(warm_up)
            baseline = report(f"without the search indexes (as before {INDEXED})", run(mix))
            started = time.perf_counter()
            with connection.schema_editor() as editor:
                search_migration.create_search_indexes(apps, editor)
            analyze()
            print(
                f"\ncreated them again in {time.perf_counter() - started:.1f} s; "
                f"indexes: {', '.join(search_indexes())}"
            )
            print("\np95 ms, without -> with the search indexes:")
            for kind, p95 in indexed.items():
                print(f"  {kind:<14}{baseline[kind]:>9.1f} -> {p95:.1f}")
    finally:
        connection.close()
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
