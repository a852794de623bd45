"""Timestamps are read at C speed on PostgreSQL, and read exactly as Django reads them."""

import datetime as dt

import pytest
from django.db import connection
from psycopg.pq import Format

from portal_adoption.timestamps import TIMESTAMPTZ_OID

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's loader"),
]

# Text PostgreSQL sends for timestamptz, with the edges: no fraction, a short
# fraction, the first and last years, an offset other than UTC, and values
# fromisoformat cannot read.
SAMPLES = [
    "2026-11-03 14:05:06.123456+00",
    "2026-11-03 14:05:06+00",
    "2026-11-03 14:05:06.5+00",
    "2026-03-08 07:00:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2026-11-03 09:05:06-05",
    "1883-11-18 12:00:00-04:56:02",
    "0044-03-15 12:00:00+00 BC",
    "infinity",
    "-infinity",
]


def _loader():
    connection.ensure_connection()
    return connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


def _djangos_loader():
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class DjangosLoader(BaseTzLoader):
        timezone = connection.timezone

    return DjangosLoader(TIMESTAMPTZ_OID)


def _reading(loader, text: str):
    try:
        return ("value", loader.load(text.encode()))
    except Exception as error:  # compared by type: the same refusal either way
        return ("error", type(error))


def test_every_new_postgresql_connection_reads_timestamps_with_the_iso_loader():
    assert getattr(_loader(), "reads_iso", False)


@pytest.mark.parametrize("text", SAMPLES)
def test_a_timestamp_reads_the_same_as_djangos_own_loader(text):
    ours = _loader()(TIMESTAMPTZ_OID)
    theirs = _djangos_loader()
    assert _reading(ours, text) == _reading(theirs, text)
    if _reading(theirs, text)[0] == "value":
        assert ours.load(text.encode()).tzinfo is theirs.load(text.encode()).tzinfo


def test_timestamps_read_from_the_database_are_utc_and_exact():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT '2026-11-03 09:05:06.000123-05'::timestamptz, "
            "'0001-01-01 00:00:00+00'::timestamptz, NULL::timestamptz"
        )
        first, earliest, missing = cursor.fetchone()
    assert first == dt.datetime(2026, 11, 3, 14, 5, 6, 123, tzinfo=dt.UTC)
    assert first.tzinfo is dt.UTC
    assert earliest == dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    assert missing is None
