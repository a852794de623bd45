"""Benchmark: every list and report page, dashboard, export and API call, served by gunicorn.

    DATABASE_URL=postgres://... .venv/bin/python bench/pages.py                # 20,000 and 100,000
    DATABASE_URL=postgres://... .venv/bin/python bench/pages.py --sizes 2000,20000

For each size: a throwaway database (pam_bench_pages_<size>_<pid> on the
server of DATABASE_URL) is migrated and filled by the demo's own loaders
(`demo_data --patients N`, `demo_program`, `rollup_metrics --all`), with one
login per role (`demo_staff_ensure`: a password, and a recovery code for the
roles with a second step). Then:

1. queries per page, in this process: each page once through the test client
   under CaptureQueriesContext (after a first request that warms the caches),
   signed in as the role that opens it;
2. gunicorn (2 workers, the Procfile's app) on that database; each role signs
   in over HTTP (the sign-in form, then the recovery code for manager and
   administrator), and every page is timed: --requests in a row by 1 user,
   then --users at once (threads, each with the role's session), --rounds each.

The pages come from the access matrix (tests/portal_adoption/test_role_access.py
PAGES): every GET whose URL names nothing or a patient, a message, a queue, a
month or a chart. Each is opened by the first role of ROLE_ORDER allowed to.

It prints, for the smallest and the largest size, each page's query count,
p50 with 1 user and p95 with --users at once, and the ratios. A page whose
query count grows with the data is flagged: that is a bug. Nothing is asserted.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from page_table import PageFigures, compare, flagged, percentile, table
from throwaway import setup_django, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {None, "patient", "message", "nursing", "nursing-noon", "month", "chart"}
# Account pages (password, language, two-step set-up) are not what a practice's size changes.
SKIPPED = {
    "account_language",
    "password_change",
    "two_factor",
    "two_factor_setup",
    "two_factor_verify",
    "api_docs",
}


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument(
        "--sizes",
        default="20000,100000",
        type=lambda text: [int(part) for part in text.split(",")],
        help="patients, comma-separated (default 20000,100000)",
    )
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--requests", type=int, default=20, help="requests in a row, 1 user")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="requests per user at once")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated URL names (default: all)")
    return parser.parse_args()


OPTIONS = _options()
setup_django(OPTIONS.database_url)
sys.path.insert(0, str(ROOT))

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_static.models import StaticDevice  # noqa: E402

from messaging.models import Message, MessageStatus  # noqa: E402
from patients.demo import demo_staff_ensure, practice_today  # noqa: E402
from patients.models import ActivityEvent, Patient  # noqa: E402
from portal_adoption.models import User  # noqa: E402
from portal_adoption.roles import Role  # noqa: E402
from tests.portal_adoption.test_role_access import PAGES  # noqa: E402

ROLE_ORDER = (
    Role.FRONT_DESK,
    Role.NURSE,
    Role.PROVIDER,
    Role.BILLING,
    Role.MANAGER,
    Role.ADMINISTRATOR,
)


def pages() -> list[tuple[str, str | None, Role]]:
    only = {name for name in OPTIONS.only.split(",") if name}
    chosen = []
    for name, page in PAGES.items():
        if page.method != "get" or page.target not in TARGETS or name in SKIPPED:
            continue
        if only and name not in only:
            continue
        role = next((role for role in ROLE_ORDER if role in page.allowed), None)
        if role is not None:
            chosen.append((name, page.target, role))
    return chosen


def url_for(name: str, target: str | None, patient: Patient, message: Message) -> str:
    last_month = practice_today().replace(day=1) - timedelta(days=1)
    if target is None:
        url = reverse(name)
    elif target == "nursing":
        url = reverse(name, kwargs={"queue": "nursing"})
    elif target == "nursing-noon":
        url = reverse(name, kwargs={"queue": "nursing", "checkpoint": "noon"})
    elif target == "chart":
        url = reverse(name, kwargs={"figure": "enrollment_rate"})
    elif target == "month":
        url = reverse(name, kwargs={"month": f"{last_month:%Y-%m}"})
    elif target == "message":
        url = reverse(name, kwargs={"pk": message.pk})
    else:
        url = reverse(name, kwargs={"pk": patient.pk})
    if name in ("metrics:export_pdf", "metrics:export_csv", "metrics:chart"):
        url += f"?month={last_month:%Y-%m}"
    if name == "api_communications":
        url += f"?patient={patient.external_id}"
    return url


def load(size: int) -> dict:
    """The demo practice at `size` patients; one login per role."""
    started = time.perf_counter()
    call_command(
        "demo_data", f"--patients={size}", f"--months={OPTIONS.months}", "--no-logins",
        stdout=StringIO(),
    )  # fmt: skip
    call_command("demo_program", stdout=StringIO())
    # What autovacuum does minutes after a load in production (it is off on some
    # benchmark servers): without statistics the planner takes the fresh tables
    # for empty, and a nested loop over 20,000 patients took the outreach page to 30 s.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    call_command("rollup_metrics", "--all", stdout=StringIO())
    logins = {login.role: login for login in demo_staff_ensure(passwords=True)}
    print(
        f"  loaded in {time.perf_counter() - started:.0f} s: {Patient.objects.count():,} patients, "
        f"{ActivityEvent.objects.count():,} events, {Message.objects.count():,} messages "
        f"({Message.objects.exclude(status=MessageStatus.CLOSED).count():,} open)",
        flush=True,
    )
    return logins


def count_queries(chosen, urls) -> dict[str, tuple[int, int]]:
    """(queries, status) per page, through the test client in this process."""
    clients = {}
    for role in ROLE_ORDER:
        user = User.objects.get(username=_username(role))
        client = Client()
        client.force_login(user)
        device = StaticDevice.objects.filter(user=user).first()
        if device is not None:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        clients[role] = client
    counts = {}
    for name, _target, role in chosen:
        client = clients[role]
        client.get(urls[name])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(urls[name])
        counts[name] = (len(queries), response.status_code)
    return counts


def _username(role: Role) -> str:
    return {
        Role.FRONT_DESK: "frontdesk",
        Role.NURSE: "nurse",
        Role.PROVIDER: "provider",
        Role.BILLING: "billing",
        Role.MANAGER: "manager",
        Role.ADMINISTRATOR: "admin",
    }[role]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(database_name: str) -> tuple[subprocess.Popen, str]:
    """gunicorn on the throwaway database, as the Procfile runs it; its base URL."""
    parts = urlsplit(OPTIONS.database_url)
    url = urlunsplit(parts._replace(path=f"/{database_name}"))
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url, DEBUG="false", PAM_TESTING="true")
    env["ALLOWED_HOSTS"] = "127.0.0.1"
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "portal_adoption.wsgi",
            f"--bind=127.0.0.1:{port}",
            f"--workers={OPTIONS.workers}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _attempt in range(300):
        try:
            requests.get(f"{base}{reverse('login')}", timeout=30)
            return server, base
        except requests.RequestException:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not answer")


def sign_in(base: str, login) -> requests.Session:
    """The sign-in form, then the recovery code for a role with a second step."""
    session = requests.Session()
    session.get(f"{base}{reverse('login')}")
    answer = session.post(
        f"{base}{reverse('login')}",
        data={
            "username": login.username,
            "password": login.password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}{reverse('login')}"},
    )
    if login.recovery_code:
        verify = f"{base}{reverse('two_factor_verify')}"
        session.get(verify)
        answer = session.post(
            verify,
            data={"code": login.recovery_code, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": verify},
        )
    home = session.get(f"{base}/", allow_redirects=False)
    if home.status_code != 200:
        raise RuntimeError(f"{login.username} did not sign in ({answer.status_code})")
    return session


def _get(session: requests.Session, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = session.get(url, allow_redirects=False)
    return (time.perf_counter() - started) * 1000, response.status_code


def at_once(session: requests.Session, url: str) -> tuple[list[float], set[int]]:
    """--users threads released together, each with the session's cookies, --rounds GETs each."""
    many: list[float] = []
    statuses: set[int] = set()
    lock = threading.Lock()
    barrier = threading.Barrier(OPTIONS.users)

    def user():
        mine = requests.Session()
        mine.cookies.update(session.cookies)
        barrier.wait()
        results = [_get(mine, url) for _ in range(OPTIONS.rounds)]
        with lock:
            many.extend(ms for ms, _status in results)
            statuses.update(status for _ms, status in results)

    threads = [threading.Thread(target=user) for _ in range(OPTIONS.users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return many, statuses


def time_pages(base: str, chosen, urls, sessions) -> dict[str, tuple]:
    timings = {}
    for name, _target, role in chosen:
        url = base + urls[name]
        session = sessions[role]
        _get(session, url)  # warm-up: a first drawing, a cold cache
        one = [_get(session, url)[0] for _ in range(OPTIONS.requests)]
        many, statuses = at_once(session, url)
        timings[name] = (one, many, max(statuses))
        print(
            f"  {name:<42} p50 {percentile(one, 0.5):8.1f} ms, "
            f"{OPTIONS.users} at once p95 {percentile(many, 0.95):8.1f} ms",
            flush=True,
        )
    return timings


def run_size(size: int, chosen) -> dict[str, PageFigures]:
    print(f"\n{size:,} patients", flush=True)
    original = throwaway_database(f"pages_{size}")
    database_name = connection.settings_dict["NAME"]
    server = None
    try:
        logins = load(size)
        patient = Patient.objects.order_by("pk").first()
        # An open nursing message nobody holds: the nurse who opens it may see it.
        message = (
            Message.objects.exclude(status=MessageStatus.CLOSED)
            .filter(queue="nursing", owner__isnull=True, escalated_to__isnull=True)
            .order_by("pk")
            .first()
        )
        urls = {name: url_for(name, target, patient, message) for name, target, _r in chosen}
        counts = count_queries(chosen, urls)
        connections.close_all()
        server, base = serve(database_name)
        sessions = {role: sign_in(base, logins[role]) for role in ROLE_ORDER}
        timings = time_pages(base, chosen, urls, sessions)
        figures = {}
        for name, (one, many, status) in timings.items():
            queries, in_process_status = counts[name]
            figures[name] = PageFigures(
                queries=queries,
                one_p50=percentile(one, 0.5),
                one_p95=percentile(one, 0.95),
                many_p50=percentile(many, 0.5),
                many_p95=percentile(many, 0.95),
                status=max(status, in_process_status),
            )
        return figures
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        connections.close_all()
        connection.creation.destroy_test_db(original, verbosity=0)


def main() -> None:
    setup_test_environment()
    chosen = pages()
    print(f"{len(chosen)} pages, {OPTIONS.workers} gunicorn workers, sizes {OPTIONS.sizes}")
    by_size = {size: run_size(size, chosen) for size in OPTIONS.sizes}
    small, large = min(OPTIONS.sizes), max(OPTIONS.sizes)
    comparisons = compare(by_size[small], by_size[large])
    print()
    print(table(comparisons, (small, large), OPTIONS.users))
    bad = flagged(comparisons)
    print(f"\nflagged ({len(bad)}): " + (", ".join(row.page for row in bad) or "none"))


if __name__ == "__main__":
    main()
