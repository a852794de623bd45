"""The rollup tables: whole months, every scope, idempotent, locked, kept fresh."""

import datetime as dt
import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from metrics import services
from metrics.compute import month_figures
from metrics.models import MonthlyRollup, ScopeKind, StaleMonth
from metrics.services import (
    months_between,
    practice_today,
    rollup_all,
    rollup_month,
    rollup_nightly,
    rollup_stale,
    stale_months_mark,
)
from metrics.tasks import nightly_rollup
from patients.models import Channel, EventType
from tests.conftest import requires_postgres
from tests.factories import ActivityEventFactory
from tests.metrics.test_figures import DECEMBER, JANUARY, build_practice, local

FEBRUARY = dt.date(2026, 2, 1)
NOVEMBER = dt.date(2025, 11, 1)
FEB_10, FEB_11 = dt.date(2026, 2, 10), dt.date(2026, 2, 11)
# The earliest event of the practice is E's activation on 1 March 2025.
HISTORY = [dt.date(2025, month, 1) for month in range(3, 13)] + [JANUARY, FEBRUARY]
SCOPES = 1 + 3 + 2  # the practice, three locations (one empty), two providers


@pytest.fixture(autouse=True)
def new_york(settings):
    settings.PRACTICE_TIME_ZONE = "America/New_York"
    settings.PRACTICE_COUNTRY = "US"


@pytest.fixture
def practice(db):
    return build_practice()


def rows(month=None):
    queryset = MonthlyRollup.objects.order_by("month", "scope_kind", "scope_id")
    if month:
        queryset = queryset.filter(month=month)
    return [(r.month, r.scope_kind, r.scope_id, r.figures) for r in queryset]


def practice_row(month) -> dict:
    return MonthlyRollup.objects.get(month=month, scope_kind=ScopeKind.PRACTICE).figures


def late_event(patient, type_, when, **fields):
    """An event imported now (recorded_at defaults to the present)."""
    return ActivityEventFactory(patient=patient, type=type_, occurred_at=when, **fields)


def test_a_month_has_a_row_per_scope_with_the_figures_of_month_figures(practice):
    assert rollup_month(JANUARY) == SCOPES

    expected = [(JANUARY, ScopeKind.PRACTICE, 0, month_figures(JANUARY))]
    expected += [
        (JANUARY, ScopeKind.LOCATION, place.pk, month_figures(JANUARY, location_id=place.pk))
        for place in (practice["north"], practice["south"], practice["empty"])
    ]
    expected += [
        (JANUARY, ScopeKind.PROVIDER, doctor.pk, month_figures(JANUARY, provider_id=doctor.pk))
        for doctor in (practice["one"], practice["two"])
    ]
    assert sorted(rows(), key=lambda r: (r[1], r[2])) == sorted(
        expected, key=lambda r: (r[1], r[2])
    )
    assert practice_row(JANUARY)["panel"] == 9
    assert practice_row(JANUARY)["satisfaction"] == 4.3


def test_running_twice_gives_the_same_rows(practice):
    rollup_month(JANUARY)
    first = rows()
    rollup_month(JANUARY)
    assert rows() == first
    assert MonthlyRollup.objects.count() == SCOPES


def test_a_run_that_fails_half_way_leaves_the_month_as_it_was(practice, monkeypatch):
    rollup_month(JANUARY)
    before = rows()

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(MonthlyRollup.objects, "bulk_create", crash)
    with pytest.raises(RuntimeError):
        rollup_month(JANUARY)
    assert rows() == before  # the delete was rolled back with the rest
    monkeypatch.undo()
    rollup_month(JANUARY)
    assert rows() == before


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_never_interleave_and_leave_the_same_rows(monkeypatch):
    build_practice()
    rollup_month(JANUARY)
    expected = rows()
    spans, failures = [], []
    compute = services.month_tallies

    def slow_compute(*args, **kwargs):
        began = time.monotonic()
        result = compute(*args, **kwargs)
        time.sleep(0.3)  # without the lock, the other run would compute meanwhile
        spans.append((began, time.monotonic()))
        return result

    monkeypatch.setattr(services, "month_tallies", slow_compute)
    barrier = threading.Barrier(2)

    def work():
        try:
            barrier.wait()
            rollup_month(JANUARY)
        except Exception as error:  # collected, asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    (_first_began, first_ended), (second_began, _second_ended) = sorted(spans)
    assert first_ended <= second_began
    assert rows() == expected


def test_all_rebuilds_every_month_from_the_earliest_event(practice):
    assert rollup_all(today=FEB_10) == HISTORY
    assert MonthlyRollup.objects.count() == len(HISTORY) * SCOPES
    assert practice_row(JANUARY)["phone_calls"] == 4
    assert practice_row(DECEMBER)["phone_calls"] == 5


def test_a_late_event_marks_its_month_and_the_next_night_recomputes_it(practice):
    rollup_all(today=FEB_10)
    d = practice["patients"][3]
    late_event(d, EventType.PHONE_CALL, local(1, 20), channel=Channel.PHONE)

    assert stale_months_mark(since=timezone.now() - dt.timedelta(minutes=5), today=FEB_10) == [
        JANUARY
    ]
    assert list(StaleMonth.objects.values_list("month", flat=True)) == [JANUARY]
    assert practice_row(JANUARY)["phone_calls"] == 4  # not yet

    assert rollup_nightly(today=FEB_11) == [JANUARY, FEBRUARY]
    assert practice_row(JANUARY)["phone_calls"] == 5
    assert practice_row(FEBRUARY)["phone_calls_change"] == pytest.approx((1 - 5) / 5 * 100)
    assert not StaleMonth.objects.exists()


def test_the_nightly_run_finds_late_events_by_itself(practice):
    rollup_all(today=FEB_10)
    d = practice["patients"][3]
    late_event(d, EventType.PHONE_CALL, local(12, 15, year=2025), channel=Channel.PHONE)

    # December, and January, whose figures "as of the end of the month" may depend on it.
    assert rollup_nightly(today=FEB_11) == [DECEMBER, JANUARY, FEBRUARY]
    assert practice_row(DECEMBER)["phone_calls"] == 6
    assert practice_row(JANUARY)["phone_calls_change"] == pytest.approx((4 - 6) / 6 * 100)


def test_a_rollup_by_hand_does_not_hide_late_events_from_the_nightly_run(practice):
    rollup_all(today=FEB_10)
    d = practice["patients"][3]
    late_event(d, EventType.PHONE_CALL, local(12, 15, year=2025), channel=Channel.PHONE)

    call_command("rollup_metrics", "--month", "2026-01", stdout=StringIO())

    # January was recomputed; December stays marked for the night.
    assert DECEMBER in set(StaleMonth.objects.values_list("month", flat=True))
    assert JANUARY not in set(StaleMonth.objects.values_list("month", flat=True))
    rollup_stale()
    assert practice_row(DECEMBER)["phone_calls"] == 6


def test_a_late_activation_changes_the_months_after_it_too(practice):
    rollup_all(today=FEB_10)
    d = practice["patients"][3]
    late_event(d, EventType.PORTAL_ACTIVATED, local(11, 20, year=2025))

    assert stale_months_mark(since=timezone.now() - dt.timedelta(minutes=5), today=FEB_10) == [
        NOVEMBER,
        DECEMBER,
        JANUARY,
    ]
    assert rollup_stale(today=FEB_10) == [NOVEMBER, DECEMBER, JANUARY]
    assert practice_row(JANUARY)["enrolled"] == 6
    assert practice_row(NOVEMBER)["new_enrollments"] == 2  # I and now D


def test_a_view_recorded_today_marks_the_month_the_result_was_released(practice):
    rollup_all(today=FEB_10)
    d = practice["patients"][3]
    late_event(d, EventType.RESULT_VIEWED, local(2, 10, 9), object_id="r6")  # this month

    assert stale_months_mark(since=timezone.now() - dt.timedelta(minutes=5), today=FEB_10) == [
        JANUARY
    ]
    rollup_stale(today=FEB_10)
    assert practice_row(JANUARY)["viewed_before_contact_share"] == pytest.approx(4 / 5)


def test_a_patient_moved_on_the_roster_marks_the_whole_history(practice):
    rollup_all(today=FEB_10)
    i = practice["patients"][9]
    i.location = practice["south"]
    i.save()

    marked = stale_months_mark(since=timezone.now() - dt.timedelta(minutes=5), today=FEB_10)
    assert marked == HISTORY[:-1]  # every month before the current one


def test_the_nightly_task_takes_no_arguments_and_returns_the_months(db):
    current = practice_today().replace(day=1)

    result = nightly_rollup.apply().get()

    assert f"{current:%Y-%m}" in result
    assert MonthlyRollup.objects.filter(month=current, scope_kind=ScopeKind.PRACTICE).exists()


def test_the_command_prints_a_summary_with_counts(practice):
    out = StringIO()
    call_command("rollup_metrics", "--month", "2026-01", stdout=out)
    line = out.getvalue().strip()
    assert line.startswith(f"Rolled up 1 month(s) (2026-01): {SCOPES} scope rows in ")
    assert line.endswith(" s")
    assert "\n" not in line


def test_the_command_rebuilds_everything_with_all(practice):
    out = StringIO()
    call_command("rollup_metrics", "--all", stdout=out)
    months = len(months_between(dt.date(2025, 3, 1), practice_today()))
    assert MonthlyRollup.objects.values("month").distinct().count() == months
    assert f"Rolled up {months} month(s) (2025-03 … " in out.getvalue()
    assert f"{months * SCOPES} scope rows" in out.getvalue()


def test_the_command_without_options_runs_the_nightly_set(practice):
    out = StringIO()
    call_command("rollup_metrics", stdout=out)
    assert f"({practice_today():%Y-%m})" in out.getvalue()


@pytest.mark.parametrize("value", ["2026-13", "January", "2026-1-5", "26-01", ""])
def test_a_bad_month_names_the_option_and_the_format(db, value):
    with pytest.raises(CommandError, match=r"--month .*YYYY-MM, for example 2026-01"):
        call_command("rollup_metrics", "--month", value)


def test_a_future_month_is_refused(db):
    with pytest.raises(CommandError, match="--month cannot be after the current month"):
        call_command("rollup_metrics", "--month", "2999-01")


def test_month_and_all_together_are_refused(db):
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("rollup_metrics", "--month", "2026-01", "--all")
