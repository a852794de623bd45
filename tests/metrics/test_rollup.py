"""The rollup tables: whole months, every scope, idempotent, locked, kept fresh."""

import datetime as dt
import importlib
import json
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from metrics import compute, services
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
from patients import selectors as patient_selectors
from patients.models import ActivityEvent, Channel, EventType, Location, ObjectFirsts, Provider
from portal_adoption.models import NightlyFailure
from tests.conftest import requires_postgres
from tests.factories import ActivityEventFactory, PatientFactory
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
    assert rollup_all(today=FEB_10).months == HISTORY
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

    assert rollup_nightly(today=FEB_11).months == [JANUARY, FEBRUARY]
    assert practice_row(JANUARY)["phone_calls"] == 5
    assert practice_row(FEBRUARY)["phone_calls_change"] == pytest.approx((1 - 5) / 5 * 100)
    assert not StaleMonth.objects.exists()


def test_the_nightly_run_finds_late_events_by_itself(practice):
    rollup_all(today=FEB_10)
    d = practice["patients"][3]
    late_event(d, EventType.PHONE_CALL, local(12, 15, year=2025), channel=Channel.PHONE)

    # December, and January, whose figures "as of the end of the month" may depend on it.
    assert rollup_nightly(today=FEB_11).months == [DECEMBER, JANUARY, FEBRUARY]
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
    assert rollup_stale(today=FEB_10).months == [NOVEMBER, DECEMBER, JANUARY]
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

    assert f"{current:%Y-%m}" in result["months"]
    assert result["failed"] == 0
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
    # The current month, last; on the 1st the month just ended comes first
    # ("2 month(s) (2026-11 … 2026-12)").
    assert f"{practice_today():%Y-%m})" in out.getvalue()


@pytest.mark.parametrize(
    "value",
    ["2026-13", "January", "2026-1-5", "26-01", "", "0000-01", "\uff12\uff10\uff12\uff16-01"],
)
def test_a_bad_month_names_the_option_and_the_format(db, value):
    with pytest.raises(CommandError, match=r"--month .*YYYY-MM, for example 2026-01"):
        call_command("rollup_metrics", "--month", value)


def test_a_future_month_is_refused(db):
    with pytest.raises(CommandError, match="--month cannot be after the current month"):
        call_command("rollup_metrics", "--month", "2100-01")


@pytest.mark.parametrize("value", ["0001-01", "9999-12"])
def test_a_month_at_the_edge_of_the_calendar_is_refused_with_the_window(db, value):
    with pytest.raises(CommandError, match="--month must be between 1900-01-01 and 2199-12-31"):
        call_command("rollup_metrics", "--month", value)


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_a_night_at_the_edge_of_the_calendar_is_refused_with_the_window(db, value):
    with pytest.raises(CommandError, match=r"--night must be a date .* between 1900-01-01"):
        call_command("rollup_metrics", "--night", value)
    with pytest.raises(CommandError, match=r"--date must be a date .* between 1900-01-01"):
        call_command("nightly", "--date", value)


def test_month_and_all_together_are_refused(db):
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("rollup_metrics", "--month", "2026-01", "--all")


# --- A poisoned row never stops the night (issue 10, finding 2(b)) --------------------
#
# Rows stored before the feed checked times (or written around it, as here with
# the ORM) can hold times at the edge of the calendar: year 0001 is year 0 in
# New York, and 9999-12-31T23:59:59-12:00 is year 10000 in UTC. SQLite cannot
# even store the last two, so they run on PostgreSQL only.

POISONED_TIMES = [
    pytest.param("0001-01-01T00:00:00+00:00", id="year-1-utc"),
    pytest.param("0001-01-01T00:00:00+14:00", id="year-1-plus-14", marks=requires_postgres),
    pytest.param("9999-12-31T23:59:59-12:00", id="year-9999-minus-12", marks=requires_postgres),
]


def poison(patient, when: str) -> None:
    """Events of every kind the rollup reads, at `when`, stored straight with the ORM."""
    at = dt.datetime.fromisoformat(when)
    for number, type_ in enumerate(
        [
            EventType.PORTAL_ACTIVATED,
            EventType.APP_INSTALLED,
            EventType.LOGIN,
            EventType.RECORD_VIEWED,
            EventType.RESULT_RELEASED,
            EventType.RESULT_VIEWED,
            EventType.SURVEY_RESPONSE,
        ]
    ):
        ActivityEventFactory(
            patient=patient,
            type=type_,
            occurred_at=at,
            object_id="r-poison" if "result" in type_ else "",
            score=5 if type_ == EventType.SURVEY_RESPONSE else None,
            event_id=f"poison-{patient.pk}-{number}",
        )
    # A patient message in year 0001 that a January reply answers: the reply's
    # pairing reads the message's time.
    ActivityEventFactory(
        patient=patient,
        type=EventType.MESSAGE_FROM_PATIENT,
        occurred_at=at,
        object_id="msg-poison",
        event_id=f"poison-{patient.pk}-message",
    )


def reply_to_the_poisoned_message(patient):
    late_event(patient, EventType.MESSAGE_TO_PATIENT, local(1, 9, 10), reply_to="msg-poison")


@pytest.mark.parametrize("when", POISONED_TIMES)
def test_events_outside_the_window_count_for_nothing_and_stop_no_rollup(practice, when):
    a, n = practice["patients"][0], practice["patients"][-1]
    reply_to_the_poisoned_message(a)
    rollup_all(today=FEB_10)
    without_poison = rows()

    poison(a, when)
    poison(n, when.replace("00:00:00", "00:00:01"))  # N: no location, never enrolled

    for command in (["--all"], [], ["--month", "2026-01"], ["--night", "2026-02-10"]):
        call_command("rollup_metrics", *command, stdout=StringIO(), stderr=StringIO())
    assert rollup_all(today=FEB_10).failures == []
    assert nightly_rollup.apply().get()["failed"] == 0
    assert [row for row in rows() if row[0] <= FEBRUARY] == without_poison
    assert not NightlyFailure.objects.exists()


def fail_in(month_that_fails: dt.date):
    """month_tallies that raises for one month, as a poisoned row or a bug would."""
    real = services.month_tallies

    def month_tallies(month, **kwargs):
        if month.replace(day=1) == month_that_fails:
            raise OverflowError("date value out of range")
        return real(month, **kwargs)

    return month_tallies


def test_a_month_that_fails_is_recorded_and_the_other_months_are_done(practice, monkeypatch):
    rollup_all(today=FEB_10)
    before = rows(DECEMBER)
    MonthlyRollup.objects.exclude(month=DECEMBER).delete()
    monkeypatch.setattr(services, "month_tallies", fail_in(DECEMBER))

    run = rollup_all(today=FEB_10)

    assert run.months == [month for month in HISTORY if month != DECEMBER]
    assert MonthlyRollup.objects.values("month").distinct().count() == len(HISTORY)
    assert rows(DECEMBER) == before  # the failed month keeps its figures
    assert StaleMonth.objects.filter(month=DECEMBER).exists()  # and is tried again
    (failure,) = run.failures
    assert failure == NightlyFailure.objects.get()
    assert (failure.job, failure.night, failure.month) == ("rollup", FEB_10, DECEMBER)
    assert (failure.error_class, failure.message) == ("OverflowError", "date value out of range")
    assert failure.step == "computing the figures of 2025-12"

    monkeypatch.undo()
    assert rollup_nightly(today=FEB_11).months == [DECEMBER, FEBRUARY]
    assert not StaleMonth.objects.exists()


@pytest.mark.parametrize(
    "options", [[], ["--all"], ["--month", "2025-12"]], ids=["nightly-set", "all", "month"]
)
def test_the_command_does_every_other_month_then_exits_non_zero_saying_how_many_failed(
    practice, monkeypatch, options
):
    current = practice_today().replace(day=1)
    failing = DECEMBER if options else current
    monkeypatch.setattr(services, "month_tallies", fail_in(failing))
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match=r"^1 step\(s\) failed and were skipped"):
        call_command("rollup_metrics", *options, stdout=out, stderr=err)

    assert f"Failed: computing the figures of {failing:%Y-%m}: OverflowError" in err.getvalue()
    assert NightlyFailure.objects.get().month == failing
    if options == ["--all"]:
        done = MonthlyRollup.objects.values_list("month", flat=True).distinct()
        assert set(done) == set(months_between(dt.date(2025, 3, 1), current)) - {DECEMBER}


def test_the_nightly_task_records_a_failed_month_and_finishes_the_others(practice, monkeypatch):
    current = practice_today().replace(day=1)
    StaleMonth.objects.create(month=JANUARY)
    monkeypatch.setattr(services, "month_tallies", fail_in(JANUARY))

    result = nightly_rollup.apply().get()

    assert result["failed"] == 1
    assert f"{current:%Y-%m}" in result["months"]
    assert MonthlyRollup.objects.filter(month=current).count() == SCOPES
    assert NightlyFailure.objects.get().month == JANUARY


def _first_time_without_window(event_type: str, object_field: str = "object_id") -> Subquery:
    return Subquery(
        ObjectFirsts.objects.filter(
            type=event_type, object_id=OuterRef(object_field), patient_id=OuterRef("patient_id")
        ).values("first_at")[:1]
    )


@requires_postgres
def test_a_poisoned_row_that_slips_past_the_window_fails_only_its_month(practice, monkeypatch):
    """Were the window ever missed, the guard still holds: January fails, December is done."""
    a = practice["patients"][0]
    reply_to_the_poisoned_message(a)
    poison(a, "0001-01-01T00:00:00+14:00")
    monkeypatch.setattr(compute, "plausible_events", ActivityEvent.objects.order_by)
    # The message's first time is read from ObjectFirsts, whose trigger keeps no
    # time before 1900: missed there too, the poisoned time reaches the rollup.
    # Copied as stored: Python cannot write that time (year 0 in UTC) itself.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ObjectFirsts._meta.db_table} (type, object_id, patient_id, first_at) "
            f"SELECT type, object_id, patient_id, occurred_at FROM {ActivityEvent._meta.db_table} "
            "WHERE event_id = %s",
            [f"poison-{a.pk}-message"],
        )
    # The response pairs are read by patients.selectors.first_responses_in, for the
    # dashboard and the response-time report alike.
    monkeypatch.setattr(patient_selectors, "plausible_events", ActivityEvent.objects.order_by)
    monkeypatch.setattr(patient_selectors, "object_first_time", _first_time_without_window)
    StaleMonth.objects.create(month=DECEMBER)
    StaleMonth.objects.create(month=JANUARY)

    run = rollup_stale(today=FEB_10)

    assert run.months == [DECEMBER]
    (failure,) = run.failures
    assert (failure.month, failure.error_class) == (JANUARY, "DataError")
    assert "patient data" in failure.message  # the database's own text is not kept
    assert StaleMonth.objects.filter(month=JANUARY).exists()


def test_a_time_limit_ends_the_run_rather_than_counting_as_a_failed_month(practice, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    def out_of_time(month, **kwargs):
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(services, "month_tallies", out_of_time)
    with pytest.raises(SoftTimeLimitExceeded):
        rollup_all(today=FEB_10)
    assert not NightlyFailure.objects.exists()


# Every rollup row of the hand-built practice as `rollup_metrics --all` wrote it on
# 10 February 2026 before issue 11 (one response time, the four new figures), by
# "YYYY-MM scope" with locations and providers by code.
FIGURES_BEFORE_ISSUE_11 = Path(__file__).with_name("rollup_figures_before_issue11.json")
ISSUE_11_FIGURES = {
    "responses_by_phone",
    "after_hours_avg_response_hours",
    "after_hours_median_response_hours",
    "annual_exam_self_scheduled_share",
}


def test_rollup_all_keeps_every_existing_figure_on_data_without_the_new_fields(db):
    """No appointment types, no call that answers a message: the one response-time
    definition and the new figures change nothing that was there, in any month or scope."""
    with time_machine.travel(dt.datetime(2026, 2, 10, 12, tzinfo=dt.UTC), tick=False):
        build_practice()
        call_command("rollup_metrics", "--all", stdout=StringIO())
    codes = {
        ScopeKind.LOCATION: dict(Location.objects.values_list("pk", "code")),
        ScopeKind.PROVIDER: dict(Provider.objects.values_list("pk", "code")),
    }
    stored = {}
    for row in MonthlyRollup.objects.all():
        scope = row.scope_kind
        if scope != ScopeKind.PRACTICE:
            scope = f"{scope}:{codes[scope][row.scope_id]}"
        stored[f"{row.month:%Y-%m} {scope}"] = row.figures
    before = json.loads(FIGURES_BEFORE_ISSUE_11.read_text())

    assert sorted(stored) == sorted(before)  # 12 months x 6 scopes
    for key, figures in before.items():
        assert {name: stored[key][name] for name in figures} == figures, key
        assert set(stored[key]) - set(figures) == ISSUE_11_FIGURES, key
        assert stored[key]["responses_by_phone"] == 0, key
        assert stored[key]["annual_exam_self_scheduled_share"] is None, key


def test_upgrading_marks_every_rolled_up_month_for_the_next_night(practice):
    """The release's migration: months rolled up before it get the new figures that night."""
    from django.apps import apps

    upgrade = importlib.import_module("metrics.migrations.0003_recompute_every_month_for_issue_11")
    rollup_all(today=FEB_10)
    StaleMonth.objects.all().delete()
    MonthlyRollup.objects.update(figures={"panel": 9})  # as an older release wrote them

    upgrade.mark_every_rolled_up_month(apps, None)

    assert sorted(StaleMonth.objects.values_list("month", flat=True)) == HISTORY
    assert rollup_nightly(FEB_10).months == HISTORY
    assert practice_row(DECEMBER)["responses_by_phone"] == 0
    assert "after_hours_avg_response_hours" in practice_row(DECEMBER)


# --- After `rollup_metrics --all`, the night recomputes only what is stale -------------

JUNE_15_NOON = dt.datetime(2026, 6, 15, 16, tzinfo=dt.UTC)  # 12:00 in New York
MARCH = dt.date(2026, 3, 1)


def a_practice_loaded_just_now():
    """Like `make run`: half a year of events, all recorded (and the roster changed) in
    the minutes before the rollup."""
    patients = [PatientFactory(registered_on=dt.date(2025, 12, 1)) for _ in range(3)]
    for month in range(1, 7):
        for patient in patients:
            late_event(patient, EventType.PORTAL_ACTIVATED, local(month, 2))
            late_event(patient, EventType.PHONE_CALL, local(month, 3), channel=Channel.PHONE)
    return patients


def test_the_night_after_rebuilding_every_month_recomputes_only_the_current_month(db):
    with time_machine.travel(JUNE_15_NOON):
        a_practice_loaded_just_now()
        call_command("rollup_metrics", "--all", stdout=StringIO())
        assert MonthlyRollup.objects.values("month").distinct().count() == 6

        assert nightly_rollup() == {"months": ["2026-06"], "failed": 0}
        assert not StaleMonth.objects.exists()


def test_a_late_event_in_march_recomputes_march_and_the_months_after_it_only(db):
    with time_machine.travel(JUNE_15_NOON):
        patients = a_practice_loaded_just_now()
        call_command("rollup_metrics", "--all", stdout=StringIO())
        nightly_rollup()
        assert practice_row(MARCH)["phone_calls"] == 3

        late_event(patients[0], EventType.PHONE_CALL, local(3, 20), channel=Channel.PHONE)

        # March, and April and May, whose "as of the end of the month" figures may
        # depend on it; then the current month, as every night. Not January or February.
        assert nightly_rollup()["months"] == ["2026-03", "2026-04", "2026-05", "2026-06"]
        assert practice_row(MARCH)["phone_calls"] == 4
        assert nightly_rollup()["months"] == ["2026-06"]


def test_an_import_still_open_during_the_rollup_is_found_the_next_night(db):
    """Events stamped before the rollup started but committed after it (an import
    whose transaction was open) are not lost: the hour before the run is looked at
    again when something in it appeared since."""
    with time_machine.travel(JUNE_15_NOON) as traveller:
        patients = a_practice_loaded_just_now()
        call_command("rollup_metrics", "--all", stdout=StringIO())
        # Recorded ten minutes before the rollup started, visible only now.
        late_event(
            patients[0],
            EventType.PHONE_CALL,
            local(3, 20),
            channel=Channel.PHONE,
            recorded_at=timezone.now() - dt.timedelta(minutes=10),
        )
        traveller.shift(dt.timedelta(minutes=1))

        # The whole hour counts as late again: here, the load of every month too.
        assert MARCH.strftime("%Y-%m") in nightly_rollup()["months"]
        assert practice_row(MARCH)["phone_calls"] == 4
        assert nightly_rollup()["months"] == ["2026-06"]
