"""Database helpers that must work the same on PostgreSQL and SQLite."""

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import connection, connections, migrations, transaction
from django.db.models import (
    BooleanField,
    Count,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import RowNumber

APPEND_ONLY_SQL = {
    "postgresql": {
        "forward": [
            """
            CREATE OR REPLACE FUNCTION pam_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: rows cannot be changed or deleted',
                    TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """,
            """
            CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION pam_refuse_change()
            """,
        ],
        "backward": ["DROP TRIGGER IF EXISTS {table}_append_only ON {table}"],
    },
    "sqlite": {
        "forward": [
            """
            CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be changed'); END
            """,
            """
            CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be deleted'); END
            """,
        ],
        "backward": [
            "DROP TRIGGER IF EXISTS {table}_no_update",
            "DROP TRIGGER IF EXISTS {table}_no_delete",
        ],
    },
}


def append_only(table: str) -> migrations.RunPython:
    """A migration step that makes a table refuse UPDATE and DELETE.

    Audit rows and portal events are evidence: the database itself, not
    only the application, must keep them from being rewritten.
    """
    return migrations.RunPython(
        _run_statements(APPEND_ONLY_SQL, table, "forward"),
        _run_statements(APPEND_ONLY_SQL, table, "backward"),
    )


def append_only_suspended(table: str) -> migrations.RunPython:
    """The reverse of append_only: for a migration that must rewrite stored rows.

    Only a migration does this, run by the tables' owner, and it puts the
    triggers back with append_only() in the same migration.
    """
    return migrations.RunPython(
        _run_statements(APPEND_ONLY_SQL, table, "backward"),
        _run_statements(APPEND_ONLY_SQL, table, "forward"),
    )


REFUSE_TRUNCATE_SQL = {
    "postgresql": {
        "forward": [
            """
            CREATE OR REPLACE FUNCTION pam_refuse_truncate() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: it cannot be truncated', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """,
            """
            CREATE TRIGGER {table}_no_truncate
            BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION pam_refuse_truncate()
            """,
        ],
        "backward": ["DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"],
    },
    # SQLite has no TRUNCATE. Its "DELETE FROM t" without WHERE skips row
    # triggers only on tables without any, so the no_delete trigger refuses it.
    "sqlite": {"forward": [], "backward": []},
}


def refuse_truncate(table: str) -> migrations.RunPython:
    """A migration step that makes an append-only table refuse TRUNCATE as well.

    TRUNCATE fires no row trigger: it needs a statement-level trigger of its own.
    """
    return migrations.RunPython(
        _run_statements(REFUSE_TRUNCATE_SQL, table, "forward"),
        _run_statements(REFUSE_TRUNCATE_SQL, table, "backward"),
    )


def append_only_trigger_names(table: str) -> tuple[str, ...]:
    """The PostgreSQL triggers that keep `table` append-only (checked by checks.py)."""
    return (f"{table}_append_only", f"{table}_no_truncate")


def _run_statements(sql_by_vendor: dict, table: str, direction: str):
    def apply(apps, schema_editor):
        statements = sql_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise NotImplementedError(
                f"append-only triggers are written for PostgreSQL and SQLite, "
                f"not {schema_editor.connection.vendor}"
            )
        for sql in statements[direction]:
            # No parameters: the PL/pgSQL body has a literal "%" placeholder.
            schema_editor.execute(sql.format(table=table), params=None)

    return apply


def medians(queryset: QuerySet, value, group: str | None = None) -> dict:
    """The median of `value` in each `group` of the queryset (one key, None, without a group).

    Portable across PostgreSQL and SQLite: window functions number the rows
    of each group in order of the value, and only the one or two middle
    rows of each group come back from the database (rows (n+1)/2 to
    (n+2)/2, integer division); their mean is the median.
    """
    partition = [F(group)] if group else None
    ranked = (
        queryset.annotate(
            _value=value,
            _group=F(group) if group else Value(None, output_field=IntegerField()),
            _rank=Window(RowNumber(), partition_by=partition, order_by=[F("_value").asc()]),
            _size=Window(Count("pk"), partition_by=partition),
        )
        .filter(_rank__gte=(F("_size") + 1) / 2, _rank__lte=(F("_size") + 2) / 2)
        .order_by()
    )
    middles: dict = {}
    for key, middle in ranked.values_list("_group", "_value"):
        middles.setdefault(key, []).append(middle)
    return {key: _mean(values) for key, values in middles.items()}


def _mean(values: list):
    """The mean of one or two numbers or durations."""
    total = values[0]
    for value in values[1:]:
        total += value
    return total / len(values)


T = TypeVar("T")
Submit = Callable[[Callable[[], T]], Future[T]]


@contextmanager
def second_connection(prepare: Callable[[], None] | None = None) -> Iterator[Submit]:
    """`submit(work) -> Future`: reads run on one more database connection, in order,
    while the caller goes on with its own reads on its connection.

    For a nightly job made of independent reads, such as one month's rollup:
    PostgreSQL answers the two connections' queries on two cores. Each work
    runs in a transaction of its own on the second connection (a thread of its
    own, closed on leaving), so it sees committed rows only, never the
    caller's uncommitted writes: the caller must hold none that they should see.
    `prepare` runs first in each of those transactions (session settings).

    With ROLLUP_READ_CONNECTIONS at 1, or on SQLite, each work runs at once, on
    the caller's connection, and its future is already done: the same results.
    """
    if settings.ROLLUP_READ_CONNECTIONS < 2 or connection.vendor != "postgresql":
        yield run_here
        return
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="second-connection")
    try:
        yield lambda work: executor.submit(_in_own_transaction, work, prepare)
    finally:
        executor.submit(connections.close_all)  # the thread's connection, after its works
        executor.shutdown(wait=True)


def run_here(work: Callable[[], T]) -> Future[T]:
    """`submit` without a second connection: runs `work` now, on this connection."""
    done: Future[T] = Future()
    try:
        done.set_result(work())
    except Exception as error:
        done.set_exception(error)
    return done


def _in_own_transaction(work: Callable[[], T], prepare: Callable[[], None] | None = None) -> T:
    with transaction.atomic():
        if prepare is not None:
            prepare()
        return work()


# Values per `__in` query off PostgreSQL: well inside SQLite's parameter limit.
IN_BATCH = 2000


def value_batches(values: Sequence[T]) -> list[Sequence[T]]:
    """`values` in batches for `one_of`: all at once on PostgreSQL, else IN_BATCH each."""
    if connection.vendor == "postgresql":
        return [values] if values else []
    return [values[first : first + IN_BATCH] for first in range(0, len(values), IN_BATCH)]


class _EqualsAny(Func):
    """`expression = ANY(%s)` with the values as one array parameter (PostgreSQL)."""

    output_field = BooleanField()

    def __init__(self, expression, values: Sequence[str]):
        super().__init__(expression)
        self.values = list(values)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"{sql} = ANY(%s)", (*params, self.values)


def one_of(field: str, values: Sequence[str]) -> Q | _EqualsAny:
    """A filter: `field` is one of `values` (text). On PostgreSQL the list is one array
    parameter (`= ANY(%s)`): tens of thousands of ids cost one placeholder, not
    one each, which Django would otherwise build and send. Elsewhere a plain IN
    (batch with value_batches)."""
    if connection.vendor == "postgresql":
        return _EqualsAny(F(field), values)
    return Q(**{f"{field}__in": values})
