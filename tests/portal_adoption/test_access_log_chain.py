"""The access log is tamper-evident: a hash chain that verify_access_log walks.

A superuser (or the tables' owner) can switch the append-only triggers off;
these tests do exactly that, change or remove a row, and expect
`manage.py verify_access_log` to name that row and no other.
"""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory

from portal_adoption.access_chain import GENESIS_HASH, entry_digest
from portal_adoption.models import AccessAction, AccessLogEntry, AccessLogPatient, AccessOutcome
from portal_adoption.roles import Role
from portal_adoption.services import access_log_record, access_log_record_list
from tests.conftest import requires_postgres
from tests.factories import PatientFactory, staff

ACCESS_LOG = AccessLogEntry._meta.db_table
EVENT_LOG = "patients_activityevent"
LISTED = AccessLogPatient._meta.db_table


def a_request(user, path="/patients/1/"):
    request = RequestFactory().get(path, REMOTE_ADDR="10.1.2.3")
    request.user = user
    return request


def logged_reads(user, count: int) -> list[AccessLogEntry]:
    return [
        access_log_record(
            request=a_request(user, f"/patients/{n}/"),
            action=AccessAction.VIEW,
            resource="patient",
            object_id=n,
        )
        for n in range(1, count + 1)
    ]


def verify(*args) -> str:
    out = StringIO()
    call_command("verify_access_log", *args, stdout=out)
    return out.getvalue()


def verify_fails(*args) -> str:
    with pytest.raises(CommandError) as broken:
        verify(*args)
    return str(broken.value)


def behind_the_triggers(sql: str, params=()) -> None:
    """What a superuser can do: switch the triggers off, change the table, switch them on."""
    with connection.cursor() as cursor:
        settle_deferred_checks(cursor)
        cursor.execute(f"ALTER TABLE {ACCESS_LOG} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE {ACCESS_LOG} ENABLE TRIGGER USER")


def settle_deferred_checks(cursor) -> None:
    """The test's own inserts leave deferred foreign-key checks, which block ALTER and TRUNCATE."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_each_row_is_chained_to_the_one_before(nurse):
    first, second, third = logged_reads(nurse, 3)
    assert [e.chain_position for e in (first, second, third)] == [1, 2, 3]
    assert first.entry_hash == entry_digest(first, GENESIS_HASH)
    assert third.entry_hash == entry_digest(third, second.entry_hash)
    assert "All 3 rows of the access log are intact" in verify()


def test_an_empty_log_is_intact(db):
    assert "All 0 rows of the access log are intact" in verify()


def test_a_row_written_around_the_chain_is_refused(nurse):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessLogEntry.objects.create(
            user=nurse, action=AccessAction.VIEW, outcome=AccessOutcome.ALLOWED, resource="x"
        )


@requires_postgres
def test_verify_names_the_one_row_a_superuser_changed_behind_the_triggers(nurse):
    entries = logged_reads(nurse, 5)
    changed = entries[2]
    behind_the_triggers(f"UPDATE {ACCESS_LOG} SET username = 'someone' WHERE id = %s", [changed.pk])

    message = verify_fails()
    assert f"Row {changed.pk} (position 3)" in message
    assert "was changed after it was written" in message
    listed = StringIO()
    with pytest.raises(CommandError, match="1 broken links in 5 rows"):
        call_command("verify_access_log", "--all", stdout=listed)
    assert listed.getvalue().count("Row ") == 1


@requires_postgres
def test_verify_names_the_gap_where_a_superuser_deleted_a_row(nurse):
    entries = logged_reads(nurse, 5)
    behind_the_triggers(f"DELETE FROM {ACCESS_LOG} WHERE id = %s", [entries[2].pk])

    message = verify_fails()
    assert f"Row {entries[3].pk} (position 4)" in message
    assert "positions 3 to 3 are missing: rows were deleted" in message


@requires_postgres
def test_a_changed_row_with_a_recomputed_hash_breaks_the_link_after_it(nurse):
    entries = logged_reads(nurse, 4)
    forged = AccessLogEntry.objects.get(pk=entries[1].pk)
    forged.username = "someone"
    forged_hash = entry_digest(forged, entries[0].entry_hash)
    behind_the_triggers(
        f"UPDATE {ACCESS_LOG} SET username = 'someone', entry_hash = %s WHERE id = %s",
        [forged_hash, forged.pk],
    )

    assert f"Row {entries[2].pk} (position 3)" in verify_fails()


@requires_postgres
def test_a_head_kept_from_an_earlier_run_shows_rows_removed_from_the_end(nurse):
    logged_reads(nurse, 3)
    head = verify().split("Head: ")[1].split(" ")[0]
    assert verify("--expect", head)
    behind_the_triggers(f"DELETE FROM {ACCESS_LOG} WHERE chain_position = 3")
    logged_reads(nurse, 1)  # the next row takes position 3 again: the chain itself looks fine

    assert "is no longer in it" in verify_fails("--expect", head)


@requires_postgres
@pytest.mark.parametrize("table", [ACCESS_LOG, LISTED, EVENT_LOG])
def test_truncate_is_refused_on_the_append_only_tables(nurse, table):
    logged_reads(nurse, 1)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        settle_deferred_checks(cursor)
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AccessLogEntry.objects.count() == 1


def test_listing_many_patients_takes_the_same_few_queries_as_listing_one(
    nurse, django_assert_max_num_queries
):
    patients = PatientFactory.create_batch(40)
    request = a_request(nurse, "/patients/")
    # A savepoint, the lock, the chain's head, one INSERT and one for the listed patients.
    with django_assert_max_num_queries(6):
        access_log_record_list(request=request, resource="patient", patients=patients)
    entry = AccessLogEntry.objects.get()
    assert entry.listed_patients.count() == 40
    assert "All 1 rows" in verify()


@requires_postgres
def test_a_patient_removed_from_a_logged_list_breaks_its_link(nurse):
    patients = PatientFactory.create_batch(3)
    access_log_record_list(
        request=a_request(nurse, "/patients/"), resource="patient", patients=patients
    )
    logged_reads(nurse, 1)
    listing = AccessLogEntry.objects.get(action=AccessAction.LIST)
    with connection.cursor() as cursor:
        settle_deferred_checks(cursor)
        cursor.execute(f"ALTER TABLE {LISTED} DISABLE TRIGGER USER")
        cursor.execute(f"DELETE FROM {LISTED} WHERE patient_id = %s", [patients[0].pk])
        cursor.execute(f"ALTER TABLE {LISTED} ENABLE TRIGGER USER")
    assert f"Row {listing.pk} (position 1)" in verify_fails()


def test_the_patients_of_a_logged_list_cannot_be_changed(nurse):
    patients = PatientFactory.create_batch(2)
    access_log_record_list(
        request=a_request(nurse, "/patients/"), resource="patient", patients=patients
    )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLogPatient.objects.filter(patient=patients[0]).delete()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_many_requests_logging_at_once_make_one_unbroken_chain():
    nurse = staff("nora", Role.NURSE)
    patients = PatientFactory.create_batch(5)
    threads, writes, failures = 8, 15, []
    start = threading.Barrier(threads)

    def work(n):
        try:
            start.wait()
            for i in range(writes):
                request = a_request(nurse, f"/patients/{n}/{i}/")
                if i % 3 == 0:
                    access_log_record_list(request=request, resource="patient", patients=patients)
                else:
                    access_log_record(request=request, action="view", resource="patient")
        except Exception as error:  # reported below
            failures.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert failures == []
    expected = threads * writes  # a list is one row, whatever its length
    assert f"All {expected} rows of the access log are intact" in verify()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_rows_stored_before_the_upgrade_are_chained_by_the_migration():
    before, after = (
        ("portal_adoption", "0005_business_calendar"),
        (
            "portal_adoption",
            "0006_access_log_hash_chain",
        ),
    )
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ACCESS_LOG} (occurred_at, username, action, outcome, resource, "
            "object_id, method, path, ip_address) VALUES "
            "(now() - interval '2 days', 'nora', 'view', 'allowed', 'patient', '7', 'GET', "
            "'/patients/7/', '2001:0db8::0001'), "
            "(now() - interval '1 day', '', 'view', 'denied', 'home', '', 'GET', '/', NULL)"
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([after])
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # and on through later migrations

    stored = list(AccessLogEntry.objects.order_by("id"))
    assert [e.chain_position for e in stored] == [1, 2]
    assert "All 2 rows of the access log are intact" in verify()
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.filter(pk=stored[0].pk).update(username="edited")
