"""The nightly rollup reads on two connections at once, and writes what one would."""

import pytest
from django.db import connection

from messaging.models import ResponseTally, ResultsEducationMonth
from metrics import compute
from metrics.models import MonthlyRollup
from metrics.services import rollup_month
from portal_adoption import db
from tests.conftest import requires_postgres
from tests.metrics.test_figures import JANUARY, build_practice


def written(month) -> dict:
    """Everything the month's rollup wrote: the dashboard's rows and the reports'."""
    return {
        "dashboard": [
            (r.scope_kind, r.scope_id, r.figures)
            for r in MonthlyRollup.objects.filter(month=month).order_by("scope_kind", "scope_id")
        ],
        "response_times": [
            (
                r.kind,
                r.day,
                r.key,
                r.received,
                r.replied,
                r.micros,
                r.within_target,
                r.by_phone,
                bytes(r.durations),
                r.cells,
            )
            for r in ResponseTally.objects.filter(month=month).order_by("kind", "day", "key")
        ],
        "results_education": list(
            ResultsEducationMonth.objects.filter(month=month).values(
                "messaged_viewed",
                "messaged_same_day",
                "not_messaged_viewed",
                "not_messaged_same_day",
            )
        ),
    }


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_month_read_on_two_connections_is_the_month_read_on_one(settings, monkeypatch):
    build_practice()
    settings.ROLLUP_READ_CONNECTIONS = 1
    rollup_month(JANUARY)
    on_one = written(JANUARY)
    assert on_one["dashboard"] and on_one["response_times"]

    backends = []
    in_own_transaction = db._in_own_transaction

    def noted(work, prepare=None):
        connection.ensure_connection()
        backends.append(connection.connection.info.backend_pid)
        return in_own_transaction(work, prepare)

    monkeypatch.setattr(db, "_in_own_transaction", noted)
    settings.ROLLUP_READ_CONNECTIONS = 2
    rollup_month(JANUARY)

    # The results' tallies and the response-time report's arrivals ran on one other
    # connection.
    connection.ensure_connection()
    assert len(backends) == 2
    assert len(set(backends)) == 1
    assert connection.connection.info.backend_pid not in backends
    assert written(JANUARY) == on_one


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_read_that_fails_on_the_second_connection_leaves_the_month_as_it_was(
    settings, monkeypatch
):
    build_practice()
    settings.ROLLUP_READ_CONNECTIONS = 2
    rollup_month(JANUARY)
    before = written(JANUARY)

    def broken(*args, **kwargs):
        raise RuntimeError("the results' read failed")

    monkeypatch.setattr(compute, "_results_released_tallies", broken)
    with pytest.raises(RuntimeError, match="results' read failed"):
        rollup_month(JANUARY)

    assert written(JANUARY) == before
