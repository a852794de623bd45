"""The training status rule (program/selectors/training.py), every boundary pinned."""

import datetime as dt

import pytest

from portal_adoption.roles import Role
from program.models.training import TrainingModule
from program.selectors.training import Standing, add_months, training_status

TODAY = dt.date(2026, 6, 15)


def module(roles=(Role.NURSE,), months=12, since=None, active=True):
    return TrainingModule(
        key="m",
        title="Module",
        required_roles=[r.value for r in roles],
        role_required_since={r.value: since.isoformat() for r in roles} if since else {},
        refresher_months=months,
        active=active,
    )


def status(m, *, roles=(Role.NURSE,), joined_on=dt.date(2020, 1, 1), completed_on=None):
    return training_status(
        module=m, roles=roles, joined_on=joined_on, completed_on=completed_on, today=TODAY
    )


@pytest.mark.parametrize(
    ("days_since_joining", "standing"),
    [(0, Standing.DUE), (30, Standing.DUE), (31, Standing.OVERDUE)],
)
def test_a_new_hire_who_never_took_a_module_is_due_for_30_days_then_overdue(
    days_since_joining, standing
):
    joined = TODAY - dt.timedelta(days=days_since_joining)
    result = status(module(), joined_on=joined)
    assert result.standing == standing
    assert result.due_by == joined + dt.timedelta(days=30)


@pytest.mark.parametrize(
    ("days_required", "standing"), [(30, Standing.DUE), (31, Standing.OVERDUE)]
)
def test_grace_starts_when_the_module_became_required_for_a_long_serving_nurse(
    days_required, standing
):
    m = module(since=TODAY - dt.timedelta(days=days_required))
    assert status(m, joined_on=dt.date(2015, 1, 1)).standing == standing


def test_grace_starts_at_joining_when_the_person_joined_after_the_module_became_required():
    m = module(since=dt.date(2020, 1, 1))
    assert status(m, joined_on=TODAY - dt.timedelta(days=31)).standing == Standing.OVERDUE
    assert status(m, joined_on=TODAY - dt.timedelta(days=30)).standing == Standing.DUE


@pytest.mark.parametrize(
    ("refresher_on", "standing"),
    [
        (TODAY - dt.timedelta(days=1), Standing.OVERDUE),  # passed
        (TODAY, Standing.DUE),  # the refresher date is today: due, not yet overdue
        (TODAY + dt.timedelta(days=30), Standing.DUE),
        (TODAY + dt.timedelta(days=31), Standing.TRAINED),
    ],
)
def test_a_completion_is_renewed_by_its_refresher_date(refresher_on, standing):
    completed = add_months(refresher_on, -12)
    assert add_months(completed, 12) == refresher_on
    result = status(module(months=12), completed_on=completed)
    assert result.standing == standing
    assert result.refresher_on == refresher_on


def test_the_quarterly_refresher_done_three_months_ago_today_is_due():
    result = status(module(months=3), completed_on=dt.date(2026, 3, 15))
    assert (result.standing, result.refresher_on) == (Standing.DUE, TODAY)
    assert status(module(months=3), completed_on=dt.date(2026, 3, 14)).standing == Standing.OVERDUE


def test_a_module_without_refresher_stays_trained_for_good():
    result = status(module(months=None), completed_on=dt.date(2001, 1, 1))
    assert result.standing == Standing.TRAINED
    assert result.refresher_on is None
    assert result.current


def test_a_module_is_not_required_of_other_roles_nor_when_deactivated():
    assert status(module(), roles=(Role.BILLING,)).standing == Standing.NOT_REQUIRED
    assert status(module(active=False)).standing == Standing.NOT_REQUIRED


def test_a_person_due_for_a_refresher_still_counts_as_trained_but_not_once_it_passed():
    assert status(module(), completed_on=add_months(TODAY, -12)).current
    overdue = status(module(), completed_on=add_months(TODAY, -12) - dt.timedelta(days=1))
    assert not overdue.current


def test_the_shown_sentence_names_the_refresher_date():
    result = status(module(), completed_on=dt.date(2025, 12, 1))
    assert result.explanation == "Completed on Dec. 1, 2025; refresher due on Dec. 1, 2026."


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2027, 11, 30), 3, dt.date(2028, 2, 29)),
        (dt.date(2026, 11, 15), 2, dt.date(2027, 1, 15)),
    ],
)
def test_a_refresher_on_the_31st_falls_on_the_last_day_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected
