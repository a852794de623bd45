"""Benchmark: the triage queue with 50,000 open messages on PostgreSQL.

    .venv/bin/python bench/triage.py
    DATABASE_URL=postgres://... .venv/bin/python bench/triage.py --messages 50000

PostgreSQL only: the benchmark creates, migrates and drops its own database on
the server of --database-url (default $DATABASE_URL, else
postgres://postgres@127.0.0.1:5432/postgres), named pam_bench_triage_<pid>; it
never touches the named database.

It loads --patients patients and --messages open messages across the team
queues (about 55% nursing, 28% front desk, 14% billing, 3% escalated to
providers; 2% of the nursing ones urgent; 10% claimed already, half of those
with a lapsed claim), with arrival times over the last five days, so that the
queue holds overdue, due-soon and on-time messages. The event log holds what
the portal sends: each message's message_from_patient event, and
--events-per-patient earlier events per patient (logins, views, replies to
older messages); 1% of the open messages already have a portal reply (the
queue shows them answered). An empty event log would hide what the queue's
"answered" costs. Then:

(a) the nursing queue page: --requests GETs of messaging:queue "nursing" with
    the Django test client, signed in as a nurse (the whole view: the query,
    the counts, the access log of the patients shown, the template), and the
    statements it sends. If the
    page is missing or does not answer 200, it times the queue query instead
    (`list(queue_messages("nursing")[:50])` and sla_state for each) and says so;
(b) take-next: --claimers threads, each a nurse, call
    message_claim_next(queue="nursing") in a loop, --claims in all; it prints
    the time per claim, the statements of one claim, and checks that no
    message was handed out twice.

It prints p50, p95 and max in milliseconds; it never fails on timing. The
targets: the queue page p95 under 100 ms, take-next p95 under 50 ms with
8 concurrent claimers, on a 2-core machine.
"""

import argparse
import math
import os
import random
import threading
import time
from collections import Counter
from datetime import date, timedelta

from throwaway import setup_django, throwaway_database

POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--events-per-patient", type=int, default=25)
    parser.add_argument("--requests", type=int, default=200, help="queue page requests")
    parser.add_argument("--claimers", type=int, default=8, help="concurrent claimers")
    parser.add_argument("--claims", type=int, default=1000, help="claims in all")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server (default: $DATABASE_URL); only its host and user are used",
    )
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args()
    if not options.database_url.startswith(POSTGRES_SCHEMES):
        parser.error(
            "this benchmark needs PostgreSQL (row locks with SKIP LOCKED): pass "
            "--database-url postgres://... or set DATABASE_URL"
        )
    if min(options.messages, options.patients, options.requests) < 1:
        parser.error("--messages, --patients and --requests must be positive")
    if options.claimers < 1 or options.claims < options.claimers:
        parser.error("--claimers must be positive and --claims at least --claimers")
    return options


OPTIONS = _options()

setup_django(OPTIONS.database_url)

from django.db import connection, connections  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from messaging.models import (  # noqa: E402
    Category,
    ClassificationSource,
    Message,
    MessageStatus,
    MessageTransition,
    Queue,
)
from messaging.selectors import queue_messages, sla_state  # noqa: E402
from messaging.services import message_claim_next  # noqa: E402
from patients.demo import NAMES  # noqa: E402
from patients.models import ActivityEvent, Location, Patient, Provider  # noqa: E402
from portal_adoption.models import User  # noqa: E402
from portal_adoption.roles import Role  # noqa: E402
from portal_adoption.services import staff_set_roles  # noqa: E402

QUEUE_MIX = (
    (Queue.NURSING, Category.CLINICAL, 55),
    (Queue.FRONT_DESK, Category.ADMINISTRATIVE, 28),
    (Queue.BILLING, Category.BILLING, 14),
    (Queue.PROVIDER, Category.CLINICAL, 3),
)
URGENT_SHARE = 0.02
CLAIMED_SHARE = 0.10
QUERY_FALLBACK_ROWS = 50
SUBJECTS = {
    Category.CLINICAL: (
        ("Fever", "I have had a fever since yesterday evening, what should I take?"),
        ("Refill", "Could you refill my blood pressure medication? I have three pills left."),
        ("Rash", "A rash appeared on my arm after the new medication."),
        ("Swelling", "My ankle is still swollen two weeks after the fall."),
    ),
    Category.ADMINISTRATIVE: (
        ("Appointment", "I need to reschedule my appointment next Tuesday."),
        ("Forms", "Can you send me the school form for my son?"),
        ("Records", "Please send my records to my new cardiologist."),
    ),
    Category.BILLING: (
        ("Bill", "Why is my copay on this invoice higher than last time?"),
        ("Insurance", "My insurance changed in January, here is the new member id."),
    ),
}
URGENT_BODY = ("Chest pain", "I have chest pain since this morning and feel short of breath.")


# --- The data -----------------------------------------------------------------------


def _staff(username: str, role: Role) -> User:
    user = User.objects.create(username=username, first_name=username.title())
    user.set_unusable_password()
    user.save(update_fields=["password"])
    staff_set_roles(user=user, roles=[role])
    return user


def load(rng: random.Random) -> dict:
    """Patients, providers, nurses and the open messages; the seconds each took."""
    started = time.perf_counter()
    sites = [Location.objects.create(code=f"SITE-{n}", name=f"Site {n}") for n in range(1, 4)]
    providers = [
        Provider.objects.create(code=f"PRV-{n}", name=f"Provider {n}", location=site)
        for n, site in enumerate(sites * 3, start=1)
    ]
    given = [name for female, male, _family in NAMES.values() for name in female + male]
    family = [name for lists in NAMES.values() for name in lists[2]]
    Patient.objects.bulk_create(
        (
            Patient(
                external_id=f"MRN{number:08d}",
                given_name=rng.choice(given),
                family_name=rng.choice(family),
                birth_date=date(1930, 1, 1) + timedelta(days=rng.randrange(95 * 365)),
                location=rng.choice(sites),
                primary_provider=rng.choice(providers),
                registered_on=date(2020, 1, 1),
            )
            for number in range(OPTIONS.patients)
        ),
        batch_size=5000,
    )
    patient_ids = list(Patient.objects.values_list("pk", flat=True))
    patients_seconds = time.perf_counter() - started

    nurses = [_staff(f"nurse{n}", Role.NURSE) for n in range(OPTIONS.claimers + 1)]
    started = time.perf_counter()
    now = timezone.now()
    queues, categories, weights = zip(*QUEUE_MIX, strict=True)
    rows = []
    for number in range(OPTIONS.messages):
        index = rng.choices(range(len(queues)), weights)[0]
        queue, category = queues[index], categories[index]
        urgent = queue == Queue.NURSING and rng.random() < URGENT_SHARE
        subject, body = URGENT_BODY if urgent else rng.choice(SUBJECTS[category])
        received = now - timedelta(minutes=rng.randrange(5 * 24 * 60))
        status, owner, lease, escalated = MessageStatus.NEW, None, None, None
        if queue == Queue.PROVIDER:
            status, escalated = MessageStatus.WAITING_PROVIDER, rng.choice(providers)
        elif rng.random() < CLAIMED_SHARE:
            status, owner = MessageStatus.CLAIMED, rng.choice(nurses)
            # Half still being worked, half lapsed (free to claim again).
            lease = now + timedelta(minutes=rng.choice((20, -20)))
        rows.append(
            Message(
                message_id=f"bench-{number}",
                patient_id=rng.choice(patient_ids),
                subject=subject,
                body=body,
                sent_at=received - timedelta(seconds=rng.randrange(60)),
                received_at=received,
                category=category,
                classified_by=ClassificationSource.RULE,
                urgent=urgent,
                red_flags=["chest pain"] if urgent else [],
                queue=queue,
                status=status,
                owner=owner,
                lease_expires_at=lease,
                escalated_to=escalated,
                # Same business day, and one business day, roughly.
                internal_due_at=received + timedelta(hours=rng.choice((4, 8, 20))),
                external_due_at=received + timedelta(hours=rng.choice((24, 48, 72))),
            )
        )
    Message.objects.bulk_create(rows, batch_size=5000)
    messages_seconds = time.perf_counter() - started
    started = time.perf_counter()
    events = _load_events()
    events_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "events": events,
        "events_seconds": events_seconds,
        "nurses": nurses,
        "patients_seconds": patients_seconds,
        "messages_seconds": messages_seconds,
        "analyze_seconds": time.perf_counter() - started,
    }


def _load_events() -> int:
    """The event log behind the queue, written by the server (INSERT ... SELECT).

    Each message's message_from_patient event (message_receive writes it);
    per patient, --events-per-patient events over the last year (a quarter
    of them replies to older messages); a portal reply to 1% of the open
    messages.
    """
    event = ActivityEvent._meta.db_table
    columns = (
        "event_id, type, occurred_at, channel, object_id, reply_to, source, recorded_at, "
        "patient_id, appointment_type"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {event} ({columns}) "
            "SELECT 'message_from_patient-' || message_id, 'message_from_patient', sent_at, "
            "'portal', message_id, '', 'feed_api', now(), patient_id, '' "
            f"FROM {Message._meta.db_table}"
        )
        cursor.execute(
            f"INSERT INTO {event} ({columns}) "
            "SELECT 'bench-' || p.id || '-' || n, "
            "(ARRAY['login', 'message_to_patient', 'result_viewed', 'record_viewed'])"
            "[1 + n %% 4], "
            "now() - make_interval(days => (6 + (n * 7919 + p.id) %% 360)::int), 'portal', "
            "'bench-object-' || n, CASE WHEN n %% 4 = 1 THEN 'bench-older-' || p.id || '-' || n "
            "ELSE '' END, 'feed_api', now(), p.id, '' "
            f"FROM {Patient._meta.db_table} p, generate_series(1, %s) n",
            [OPTIONS.events_per_patient],
        )
        cursor.execute(
            f"INSERT INTO {event} ({columns}) "
            "SELECT 'bench-reply-' || message_id, 'message_to_patient', "
            "sent_at + interval '2 hours', 'portal', 'bench-reply-' || message_id, message_id, "
            "'feed_api', now(), patient_id, '' "
            f"FROM {Message._meta.db_table} WHERE id % 100 = 0"
        )
        cursor.execute(f"SELECT count(*) FROM {event}")
        return cursor.fetchone()[0]


# --- (a) The queue page -------------------------------------------------------------


def _percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank."""
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def _figures(label: str, milliseconds: list[float]) -> None:
    ms = sorted(milliseconds)
    p50, p95 = _percentile(ms, 0.50), _percentile(ms, 0.95)
    print(
        f"  {label:<34}{len(ms):>7}{p50:>9.1f}{p95:>9.1f}{ms[-1]:>9.1f}",
        flush=True,
    )


def _header() -> None:
    print(f"  {'':<34}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")


def _queue_page_client(nurse: User) -> tuple[Client | None, str, str]:
    """A signed-in client and the page's URL, or None and why the page cannot be timed."""
    try:
        url = reverse("messaging:queue", args=[Queue.NURSING])
    except NoReverseMatch:
        return None, "", "there is no messaging:queue URL"
    client = Client()
    client.force_login(nurse)
    try:
        response = client.get(url)
    except Exception as error:  # the page is being written: any failure means "not yet"
        return None, url, f"GET {url} raised {type(error).__name__}: {error}"
    if response.status_code != 200:
        return None, url, f"GET {url} answered {response.status_code}"
    return client, url, ""


def time_queue_page(nurse: User) -> None:
    client, url, missing = _queue_page_client(nurse)
    print()
    if client is not None:
        print(f"(a) the nursing queue page: GET {url} as a nurse, {OPTIONS.requests} requests")
        for _warm_up in range(5):
            client.get(url)
        timings = []
        for _request in range(OPTIONS.requests):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                print(f"  answered {response.status_code}: stopping")
                return
        _header()
        _figures("queue page (whole view)", timings)
        with CaptureQueriesContext(connection) as statements:
            response = client.get(url)
        print(
            f"  {len(statements)} statements a page (the session and permissions included), "
            f"{len(response.context['rows'])} rows shown"
        )
        return
    print(f"(a) QUEUE QUERY, NOT THE PAGE ({missing}): {OPTIONS.requests} times")
    print(f'    list(queue_messages("nursing")[:{QUERY_FALLBACK_ROWS}]) and sla_state for each row')
    for _warm_up in range(5):
        _queue_query()
    timings = []
    for _request in range(OPTIONS.requests):
        started = time.perf_counter()
        _queue_query()
        timings.append((time.perf_counter() - started) * 1000)
    _header()
    _figures("queue query", timings)


def _queue_query() -> list[str]:
    now = timezone.now()
    shown = list(queue_messages(Queue.NURSING)[:QUERY_FALLBACK_ROWS])
    return [sla_state(message, now=now) for message in shown]


# --- (b) Take next, concurrently ----------------------------------------------------


def time_claims(nurses: list[User]) -> None:
    claimers = nurses[1 : OPTIONS.claimers + 1]
    per_claimer = [OPTIONS.claims // len(claimers)] * len(claimers)
    for extra in range(OPTIONS.claims % len(claimers)):
        per_claimer[extra] += 1
    results: list[list[tuple[float, int | None]]] = [[] for _c in claimers]
    errors: list[str] = []
    start = threading.Barrier(len(claimers))
    since = timezone.now()

    def claim(slot: int) -> None:
        try:
            start.wait()
            for _claim in range(per_claimer[slot]):
                began = time.perf_counter()
                message = message_claim_next(queue=Queue.NURSING, by=claimers[slot])
                elapsed = (time.perf_counter() - began) * 1000
                results[slot].append((elapsed, message.pk if message else None))
        except Exception as error:
            errors.append(f"claimer {slot}: {type(error).__name__}: {error}")
        finally:
            connections.close_all()

    print()
    print(
        f"(b) take-next: {len(claimers)} nurses claiming from the nursing queue at once, "
        f"{OPTIONS.claims} claims in all"
    )
    threads = [threading.Thread(target=claim, args=(slot,)) for slot in range(len(claimers))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for error in errors:
        print(f"  ERROR {error}")

    everything = [entry for entries in results for entry in entries]
    if not everything:
        print("  no claims were made")
        return
    _header()
    _figures("per claim", [ms for ms, _pk in everything])
    for slot, entries in enumerate(results):
        if entries:
            _figures(f"  {claimers[slot].username}", [ms for ms, _pk in entries])
    handed_out = [pk for _ms, pk in everything if pk is not None]
    empty = len(everything) - len(handed_out)
    twice = [pk for pk, count in Counter(handed_out).items() if count > 1]
    recorded = MessageTransition.objects.filter(
        to_status=MessageStatus.CLAIMED, by__in=claimers, at__gte=since
    )
    owned = Message.objects.filter(pk__in=handed_out, owner__in=claimers)
    print(
        f"  {len(handed_out)} claims in {wall:.1f} s ({len(handed_out) / wall:.0f} a second), "
        f"{empty} found the queue empty; distinct messages: {len(set(handed_out))}; "
        f"claimed twice: {len(twice)}{' ' + str(twice[:10]) if twice else ''}"
    )
    print(
        f"  in the database: {recorded.count()} claim transitions for "
        f"{recorded.values('message').distinct().count()} distinct messages; "
        f"{owned.count()} of the claimed messages owned by a claimer"
    )
    print(f"  no message claimed twice: {'yes' if not twice else 'NO'}")
    with CaptureQueriesContext(connection) as statements:
        message_claim_next(queue=Queue.NURSING, by=claimers[0])
    print(f"  statements for one more claim: {len(statements)}")


# --- The run ------------------------------------------------------------------------


def _throwaway_database() -> str:
    return throwaway_database("triage")


def main() -> None:
    rng = random.Random(OPTIONS.seed)
    # The test client needs "testserver" in ALLOWED_HOSTS, as under the test runner.
    setup_test_environment()
    original = _throwaway_database()
    try:
        loaded = load(rng)
        counts = dict(Message.objects.values_list("queue").annotate(n=Count("pk")))
        nursing = queue_messages(Queue.NURSING)
        print(
            f"loaded {OPTIONS.patients:,} patients in {loaded['patients_seconds']:.1f} s and "
            f"{sum(counts.values()):,} open messages in {loaded['messages_seconds']:.1f} s, "
            f"{loaded['events']:,} events in {loaded['events_seconds']:.1f} s "
            f"(analyzed in {loaded['analyze_seconds']:.1f} s)"
        )
        print(
            "  by queue: "
            + ", ".join(f"{queue} {counts.get(queue, 0):,}" for queue in Queue.values)
            + f"; nursing: {nursing.filter(urgent=True).count()} urgent, "
            f"{nursing.filter(status=MessageStatus.CLAIMED).count()} claimed already",
            flush=True,
        )
        time_queue_page(loaded["nurses"][0])
        time_claims(loaded["nurses"])
        print(
            "\ntargets: queue page p95 < 100 ms; take-next p95 < 50 ms with 8 claimers "
            "(figures only, nothing asserted)"
        )
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
