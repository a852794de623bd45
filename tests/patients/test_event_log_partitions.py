"""The event log partitioned by month (PostgreSQL): every event stored once, in its month,
and never rewritten, whichever partition holds it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from metrics.services import rollup_nightly
from patients.models import ActivityEvent, Channel, EventKey, EventType
from patients.partitions import (
    DEFAULT_PARTITION,
    event_partitions_ensure,
    month_partition_name,
    months_ahead,
)
from patients.selectors import event_exists, events_stored
from patients.services import EventConflict, event_record
from portal_adoption.database_roles import append_only_trigger_problems
from tests.conftest import requires_postgres
from tests.factories import PatientFactory
from tests.patients.test_event_log import MORNING, payment

LOG = ActivityEvent._meta.db_table

pytestmark = requires_postgres


def partition_of(event_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tableoid::regclass::text FROM {LOG} WHERE event_id = %s", [event_id]
        )
        return cursor.fetchone()[0]


def partition_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = %s::regclass "
            "AND inhrelid = to_regclass(%s))",
            [LOG, name],
        )
        return cursor.fetchone()[0]


def test_an_event_is_stored_in_the_partition_of_its_month(patient):
    event_record(patient=patient, data=payment(patient))
    assert partition_of("pay-1") == month_partition_name(dt.date(2026, 1, 1))


def test_an_event_of_a_month_without_a_partition_is_still_stored(patient):
    long_ago = dt.datetime(1950, 5, 2, 10, 0, tzinfo=dt.UTC)
    assert not partition_exists(month_partition_name(long_ago.date()))

    result = event_record(patient=patient, data=payment(patient, occurred_at=long_ago))

    assert result.created
    assert partition_of("pay-1") == DEFAULT_PARTITION
    assert ActivityEvent.objects.get().occurred_at == long_ago


def test_the_same_event_id_in_two_months_is_a_conflict_not_two_events(patient):
    event_record(patient=patient, data=payment(patient))
    later = MORNING + dt.timedelta(days=62)

    with pytest.raises(EventConflict) as conflict:
        event_record(patient=patient, data=payment(patient, occurred_at=later))

    assert conflict.value.fields == ["occurred_at"]
    assert ActivityEvent.objects.get().occurred_at == MORNING


def test_any_writer_storing_an_event_id_again_in_another_month_is_refused(patient):
    event_record(patient=patient, data=payment(patient))
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivityEvent.objects.create(
            event_id="pay-1",
            patient=patient,
            type=EventType.LOGIN,
            occurred_at=MORNING + dt.timedelta(days=100),
            channel=Channel.PORTAL,
            source="application",
        )
    assert ActivityEvent.objects.count() == 1


def test_a_stored_event_is_found_by_its_event_id_through_the_key_table(patient):
    stored = event_record(patient=patient, data=payment(patient)).event
    assert EventKey.objects.get().occurred_at == MORNING
    assert events_stored(["pay-1", "unknown"]) == {"pay-1": stored}
    assert event_exists("pay-1") and not event_exists("unknown")


def test_a_partition_refuses_update_delete_and_truncate(patient):
    event_record(patient=patient, data=payment(patient))
    month = month_partition_name(dt.date(2026, 1, 1))
    with connection.cursor() as cursor:
        # The foreign key's deferred check now: TRUNCATE refuses pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for statement in (
        f"UPDATE {month} SET amount = 1",
        f"DELETE FROM {month}",
        f"TRUNCATE {month}",
        f"TRUNCATE {DEFAULT_PARTITION}",
        f"TRUNCATE {LOG}",
        "DELETE FROM patients_eventkey",
        "TRUNCATE patients_eventkey",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert ActivityEvent.objects.get().amount == Decimal("45.00")
    assert EventKey.objects.count() == 1


def test_the_nightly_step_creates_next_months_partition(db):
    night = dt.date.today() + dt.timedelta(days=200)  # past the months made by the migration
    months = months_ahead(night)
    assert not partition_exists(month_partition_name(months[-1]))

    rollup_nightly(today=night)

    assert all(partition_exists(month_partition_name(month)) for month in months)
    assert append_only_trigger_problems(connection) == []
    name = month_partition_name(months[-1])
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {name}")


def test_a_month_already_holding_events_in_the_default_partition_is_left_there(patient):
    lost_month = dt.date(1960, 3, 1)
    late = dt.datetime(1960, 3, 9, 12, 0, tzinfo=dt.UTC)
    event_record(patient=patient, data=payment(patient, occurred_at=late))

    created = event_partitions_ensure(dt.date(1960, 2, 10))

    assert month_partition_name(lost_month) not in created
    assert month_partition_name(dt.date(1960, 2, 1)) in created
    assert partition_of("pay-1") == DEFAULT_PARTITION
    event_record(patient=patient, data=payment(patient, event_id="pay-2", occurred_at=late))
    assert ActivityEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_existing_events_into_monthly_partitions():
    before, after = (
        ("patients", "0012_patient_firsts"),
        ("patients", "0013_event_log_partitioned_by_month"),
    )
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    patient = PatientFactory()
    moments = {
        "old-1": "2025-03-05 10:00+00",
        "old-2": "2026-01-14 14:05+00",
        "evidence": "0001-01-01 00:00+00",
        "far-future": "9999-12-01 00:00+00",
    }
    with connection.cursor() as cursor:
        for event_id, moment in moments.items():
            cursor.execute(
                f"INSERT INTO {LOG} (event_id, patient_id, type, occurred_at, channel, "
                "object_id, reply_to, appointment_type, source, recorded_at) VALUES "
                "(%s, %s, 'login', %s, 'portal', '', '', '', 'application', now())",
                [event_id, patient.pk, moment],
            )
        cursor.execute(f"SELECT event_id, id FROM {LOG}")
        ids = dict(cursor.fetchall())

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([after])

    assert partition_of("old-1") == month_partition_name(dt.date(2025, 3, 1))
    assert partition_of("old-2") == month_partition_name(dt.date(2026, 1, 1))
    assert partition_of("evidence") == partition_of("far-future") == DEFAULT_PARTITION
    assert dict(ActivityEvent.objects.values_list("event_id", "id")) == ids
    assert EventKey.objects.count() == 4
    assert append_only_trigger_problems(connection) == []
    newer = event_record(
        patient=patient, data=payment(patient, patient_external_id=patient.external_id)
    ).event
    assert newer.pk > max(ids.values())
    with pytest.raises(EventConflict):
        event_record(
            patient=patient,
            data=payment(patient, event_id="old-1", occurred_at=MORNING),
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([before])  # and back: a plain table with the same rows and ids
    assert partition_of("old-1") == LOG
    assert ActivityEvent.objects.count() == 5
    assert ActivityEvent.objects.get(event_id="old-2").pk == ids["old-2"]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert partition_of("pay-1") == month_partition_name(dt.date(2026, 1, 1))
