"""Benchmark: the monthly PDF download, stored against drawn per request, 1 and 16 users.

    DATABASE_URL=postgres://... .venv/bin/python bench/pdf.py
    .venv/bin/python bench/pdf.py --database-url sqlite:///var/bench-pdf.sqlite3

Creates, migrates and drops its own database (pam_bench_pdf_<pid> on the
server of --database-url, default $DATABASE_URL). The PDF reads the rollups
only, so the data is 24 months of practice rollups (the figures of the worked
example with some noise); the number of patients behind them does not matter.

Every request goes through the whole view (metrics:export_pdf) with the Django
test client, signed in as a manager, in this process; the 16 "users" are 16
threads, each with its own client and database connection. The phases:

(a) drawn: each download finds no stored copy (the rows are deleted first), so
    matplotlib draws it: what every download cost before issue 15;
(b) stored: the same download served from the StoredDrawing row;
(c) 16 users at once, nothing stored yet: how many drawings, and the waits;
(d) 16 users at once, stored, --rounds downloads each;
(e) 16 users at once the old way: exports.dashboard_pdf in each thread, the
    ceiling (d) replaces;
and one chart (metrics:chart) drawn against stored.

Figures are p50 / p95 / max in milliseconds and the ratios between phases of
the same run; nothing is asserted.
"""

import argparse
import math
import os
import random
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as day_time

from throwaway import setup_django, throwaway_database


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--drawn", type=int, default=8, help="downloads in phase (a)")
    parser.add_argument("--stored", type=int, default=100, help="downloads in phase (b)")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="downloads per user in (d)")
    parser.add_argument("--seed", type=int, default=15)
    return parser.parse_args()


OPTIONS = _options()
setup_django(OPTIONS.database_url)

from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from metrics import exports  # noqa: E402
from metrics.models import MonthlyRollup, StoredDrawing  # noqa: E402
from metrics.selectors import month_shift, scope_resolve  # noqa: E402
from portal_adoption.models import User  # noqa: E402
from portal_adoption.roles import Role  # noqa: E402
from portal_adoption.services import staff_set_roles  # noqa: E402

MONTH = date(2026, 10, 1)
FIGURES = {
    "panel": 5000,
    "enrolled": 3400,
    "enrollment_rate": 0.68,
    "new_enrollments": 124,
    "active_users": 1530,
    "active_user_rate": 0.45,
    "multi_feature_users": 612,
    "multi_feature_share": 0.4,
    "app_install_rate": 0.34,
    "messages_received": 892,
    "messages_sent": 876,
    "messages_per_active_user": 1.155,
    "appointments_self_scheduled": 234,
    "self_scheduled_share": 0.29,
    "results_viewed": 456,
    "same_day_view_share": 0.82,
    "viewed_before_contact_share": 0.61,
    "portal_payments": "23450.00",
    "portal_payment_share": 0.18,
    "phone_calls": 2200,
    "phone_calls_change": -12.0,
    "avg_response_hours": 4.2,
    "median_response_hours": 3.1,
    "response_within_target_share": 0.91,
    "responses_by_phone": 41,
    "after_hours_avg_response_hours": 19.5,
    "after_hours_median_response_hours": 15.2,
    "annual_exam_self_scheduled_share": 0.22,
    "satisfaction": 4.7,
}


def load(rng: random.Random) -> User:
    rows = []
    for back in range(24):
        month = month_shift(MONTH, -back)
        figures = {
            key: value * rng.uniform(0.85, 1.05) if isinstance(value, float) else value
            for key, value in FIGURES.items()
        }
        computed = timezone.make_aware(datetime.combine(month + timedelta(days=35), day_time(3)))
        rows.append(
            MonthlyRollup(
                month=month,
                scope_kind="practice",
                scope_id=0,
                figures=figures,
                computed_at=computed,
            )
        )
    MonthlyRollup.objects.bulk_create(rows)
    manager = User.objects.create(username="maria", first_name="Maria")
    manager.set_unusable_password()
    manager.save(update_fields=["password"])
    staff_set_roles(user=manager, roles=[Role.MANAGER])
    return manager


def signed_in(manager: User) -> Client:
    """A manager's client past both sign-in steps (as tests/conftest.py does it)."""
    client = Client()
    client.force_login(manager)
    device, _created = TOTPDevice.objects.get_or_create(
        user=manager, name="Bench phone", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def figures(label: str, milliseconds: list[float]) -> tuple[float, float]:
    ms = sorted(milliseconds)
    p50, p95 = _percentile(ms, 0.50), _percentile(ms, 0.95)
    print(f"  {label:<44}{len(ms):>6}{p50:>10.1f}{p95:>10.1f}{ms[-1]:>10.1f}", flush=True)
    return p50, p95


def timed_get(client: Client, url: str, params: dict) -> float:
    started = time.perf_counter()
    response = client.get(url, params)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed


def at_once(users: int, work) -> list[float]:
    """`work()` in `users` threads released together; every latency it returns."""
    barrier = threading.Barrier(users)
    latencies: list[float] = []
    lock = threading.Lock()

    def run():
        try:
            barrier.wait()
            mine = work()
            with lock:
                latencies.extend(mine)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def main() -> None:
    setup_test_environment()
    original = throwaway_database("pdf")
    try:
        manager = load(random.Random(OPTIONS.seed))
        client = signed_in(manager)
        cookies = client.cookies
        url = reverse("metrics:export_pdf")
        params = {"month": f"{MONTH:%Y-%m}"}
        drawings_made = []
        real = exports.dashboard_pdf

        def counted(month, scope=None):
            drawings_made.append(month)
            return real(month, scope)

        exports.dashboard_pdf = counted
        print(f"  {'':<44}{'count':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")

        def fresh_download():
            StoredDrawing.objects.all().delete()
            return timed_get(client, url, params)

        drawn = figures(
            "(a) drawn per request, 1 user", [fresh_download() for _ in range(OPTIONS.drawn)]
        )
        stored = figures(
            "(b) stored, 1 user",
            [timed_get(client, url, params) for _ in range(OPTIONS.stored)],
        )

        def user_client() -> Client:
            mine = Client()
            mine.cookies.load({name: morsel.value for name, morsel in cookies.items()})
            return mine

        StoredDrawing.objects.all().delete()
        drawings_made.clear()
        first = figures(
            f"(c) {OPTIONS.users} users at once, nothing stored",
            at_once(OPTIONS.users, lambda: [timed_get(user_client(), url, params)]),
        )
        first_drawings = len(drawings_made)
        crowd = figures(
            f"(d) {OPTIONS.users} users at once, stored, x{OPTIONS.rounds}",
            at_once(
                OPTIONS.users,
                lambda: [timed_get(c, url, params) for c in [user_client()] * OPTIONS.rounds],
            ),
        )
        scope = scope_resolve()

        def old_way() -> list[float]:
            started = time.perf_counter()
            real(MONTH, scope)
            return [(time.perf_counter() - started) * 1000]

        old = figures(
            f"(e) {OPTIONS.users} users at once, drawn each (old)", at_once(OPTIONS.users, old_way)
        )

        chart_url = reverse("metrics:chart", kwargs={"figure": "enrollment_rate"})

        def fresh_chart():
            StoredDrawing.objects.filter(kind="chart").delete()
            return timed_get(client, chart_url, params)

        chart_drawn = figures("chart drawn per request, 1 user", [fresh_chart() for _ in range(20)])
        chart_stored = figures(
            "chart stored, 1 user", [timed_get(client, chart_url, params) for _ in range(100)]
        )
        print()
        print(
            f"  stored / drawn, 1 user:      p50 {stored[0] / drawn[0]:.3f}, "
            f"p95 {stored[1] / drawn[1]:.3f}"
        )
        print(f"  16 at once, stored / old:    p95 {crowd[1] / old[1]:.4f}")
        print(
            f"  16 at once, first / old:     p95 {first[1] / old[1]:.3f} "
            f"({first_drawings} drawing(s) for {OPTIONS.users} users)"
        )
        print(f"  chart stored / drawn, 1 user: p50 {chart_stored[0] / chart_drawn[0]:.3f}")
        print("\ntargets: stored PDF p95 < 100 ms; 16 users do not queue behind matplotlib")
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
