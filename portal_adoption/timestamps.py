"""Reading PostgreSQL timestamps at C speed.

Django reads every `timestamp with time zone` through psycopg's Python loader
(its own subclass sets the time zone): about 4 microseconds a value, which a
month's rollup pays some 100,000 times (the first responses, the month's
messages). Python's `datetime.fromisoformat` reads PostgreSQL's ISO text in
a twentieth of that. `use_iso_timestamps` puts a loader on each new
connection that tries it first, and hands anything it does not read exactly
as Django would (an offset other than UTC, "infinity", BC dates, another
DateStyle) to Django's own loader, so what comes back is the same value of
the same type in every case.
"""

import datetime as dt

from psycopg.adapt import Loader
from psycopg.postgres import types
from psycopg.pq import Format

TIMESTAMPTZ_OID = types["timestamptz"].oid


def iso_loader(django_loader: type[Loader]) -> type[Loader]:
    """A subclass of Django's timestamptz loader that parses with fromisoformat."""

    class IsoTimestampLoader(django_loader):
        def load(self, data):
            try:
                moment = dt.datetime.fromisoformat(str(data, "ascii"))
            except ValueError:
                return super().load(data)
            # Django's loader reads the session's zone (UTC, as Django sets it) and
            # then sets its own; any other offset goes its way.
            if moment.tzinfo is not dt.UTC:
                return super().load(data)
            return moment if self.timezone is dt.UTC else moment.replace(tzinfo=self.timezone)

    IsoTimestampLoader.__name__ = f"Iso{django_loader.__name__}"
    return IsoTimestampLoader


def use_iso_timestamps(sender, connection, **kwargs) -> None:
    """connection_created: the ISO loader on a new PostgreSQL connection."""
    if connection.vendor != "postgresql":
        return
    adapters = connection.connection.adapters
    django_loader = adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if django_loader is None or getattr(django_loader, "reads_iso", False):
        return
    loader = iso_loader(django_loader)
    loader.reads_iso = True
    adapters.register_loader(TIMESTAMPTZ_OID, loader)
