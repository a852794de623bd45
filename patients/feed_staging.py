"""The event import's set-based checks on PostgreSQL: a staging table and a few statements.

A batch of event records goes to the server as text, into a temporary staging
table, in one COPY. The server then does what Python used to do a record at a
time (patients.feed_import explains the whole import):

1. `stage_unsure` runs the record checks of patients.feed.parse_event that a
   set can run (required values, lengths, the type's rules for channel,
   object_id, reply_to, appointment_type, amount, score and due_date, times
   and dates in their windows). It is deliberately narrow: it passes only
   values that Python reads exactly the same way (times written
   2026-01-14T09:05:00-05:00 or ...Z, amounts like 25.00, no space around a
   value), and answers the ordinals of every other record. Those go through
   parse_event, which accepts them or words every reason; this module never
   words a reason, so each message is the one the per-record path gives.
2. `stage_judge` finds, for the records that passed, a repeated event_id in
   the batch (the same record again, or different values), a patient not on
   the roster, and an event_id stored already (the same event, or which
   fields differ), and puts the events to write in `import_event_new`.
3. `staged_events_insert` moves `import_event_new` into the event log.

Rows of the staging table carry the record's ordinal in its batch, and
`trusted` when Python read the record already (then its values are written as
Python read them: stripped, the time in UTC, the amount as a plain number).
"""

import re
from datetime import UTC, datetime

from django.db import connection

from patients.feed import EVENT_FIELDS, MAX_LENGTHS
from patients.models import ActivityEvent, AppointmentType, EventType, Patient
from patients.rules import (
    AMOUNT_LIMIT,
    AMOUNT_TYPES,
    DUE_DATE_TYPES,
    RESPONSE_TYPES,
    TYPE_RULES,
    EventData,
    _window_now,
)
from patients.services import EVENT_CONTENT_FIELDS

STAGE = "import_event_stage"
NEW = "import_event_new"
RULES = "import_event_rule"

# A line of the staging COPY in text format: these characters would need
# escaping (or cannot be sent at all); a record holding one is read by Python.
COPY_UNSAFE = re.compile("[\x00\ud800-\udfff\\\\\n\r]")
TABS_IN_LINE = len(EVENT_FIELDS) - 1
EMPTY_VALUES = ("",) * len(EVENT_FIELDS)

# What str.strip() removes: a value that starts or ends with one of these is
# read by Python (which strips it) rather than compared as it is.
_SPACES = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x10000)) if c.isspace())
EDGE_SPACE = f"(^|\\u0001)[{_SPACES}]|[{_SPACES}]($|\\u0001)"

_YEAR = "(19[0-9]{2}|2[01][0-9]{2})"  # inside every window's possible years
_DAY = f"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DATE_PATTERN = f"^{_DAY}$"
TIME_PATTERN = (
    f"^{_DAY}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{{1,6}})?"
    "(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])$"
)
# Below AMOUNT_LIMIT by its number of digits, at most two decimals.
_AMOUNT_DIGITS = len(str(int(AMOUNT_LIMIT))) - 1
AMOUNT_PATTERN = f"^[0-9]{{1,{_AMOUNT_DIGITS}}}(\\.[0-9]{{1,2}})?$"

STAGE_COLUMNS = ("ordinal", "trusted", *EVENT_FIELDS)
TYPED_COLUMNS = (
    "event_id",
    "patient_external_id",
    "type",
    "occurred_at",
    "channel",
    "object_id",
    "reply_to",
    "appointment_type",
    "amount",
    "score",
    "due_date",
)


def _real_day(column: str) -> str:
    """SQL: the YYYY-MM-DD at the start of `column` (already matched) is a day of the calendar."""
    year = f"substr({column}, 1, 4)::int"  # mod(), not %: the statement has parameters
    day = f'substr({column}, 9, 2) COLLATE "C"'
    return (
        f"({day} <= '28' OR {day} <= CASE substr({column}, 6, 2) "
        f"WHEN '02' THEN CASE WHEN mod({year}, 4) = 0 "
        f"AND (mod({year}, 100) <> 0 OR mod({year}, 400) = 0) "
        "THEN '29' ELSE '28' END "
        "WHEN '04' THEN '30' WHEN '06' THEN '30' WHEN '09' THEN '30' WHEN '11' THEN '30' "
        "ELSE '31' END)"
    )


def stage_create() -> None:
    """The import's temporary tables (dropped with the transaction)."""
    with connection.cursor() as cursor:
        for table in (STAGE, NEW, RULES):
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        stage_text = ", ".join(f"{name} text NOT NULL" for name in EVENT_FIELDS)
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE} (ordinal integer NOT NULL, "
            f"trusted boolean NOT NULL, {stage_text}) ON COMMIT DROP"
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE {NEW} (ordinal integer NOT NULL, patient_id bigint NOT NULL, "
            "event_id text, patient_external_id text, type text, occurred_at timestamptz, "
            "channel text, object_id text, reply_to text, appointment_type text, "
            "amount numeric, score smallint, due_date date) ON COMMIT DROP"
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE {RULES} (type text PRIMARY KEY, channels text[], "
            "channel_required boolean, needs_object_id boolean, reply_ok boolean, "
            "amount_type boolean, score_type boolean, due_date_type boolean, "
            "appointment_ok boolean) ON COMMIT DROP"
        )
        cursor.executemany(
            f"INSERT INTO {RULES} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    str(kind),
                    sorted(rule.channels),
                    rule.channel_required,
                    rule.needs_object_id,
                    kind in RESPONSE_TYPES,
                    kind in AMOUNT_TYPES,
                    kind == EventType.SURVEY_RESPONSE,
                    kind in DUE_DATE_TYPES,
                    kind == EventType.APPOINTMENT_BOOKED,
                )
                for kind, rule in TYPE_RULES.items()
            ],
        )


def plain_line(ordinal: int, raw) -> str | None:
    """The record as a line of the staging COPY, or None when Python must read it first.

    Only a record of text values, every field known, nothing to escape.
    """
    if type(raw) is not dict or not _FIELD_SET.issuperset(raw):
        return None
    try:
        line = "\t".join(map(raw.get, EVENT_FIELDS, EMPTY_VALUES))
    except TypeError:  # a value that is not text (a JSON number, null, ...)
        return None
    if line.count("\t") != TABS_IN_LINE or COPY_UNSAFE.search(line):
        return None
    return f"{ordinal}\tf\t{line}\n"


_FIELD_SET = frozenset(EVENT_FIELDS)


def trusted_row(ordinal: int, data: EventData) -> tuple:
    """A record Python read whole, as text the server reads back to the same values."""
    return (
        ordinal,
        True,
        data.event_id,
        data.patient_external_id,
        data.type,
        data.occurred_at.astimezone(UTC).isoformat(),
        data.channel,
        data.object_id,
        data.reply_to,
        data.appointment_type,
        "" if data.amount is None else format(data.amount, "f"),
        "" if data.score is None else str(data.score),
        "" if data.due_date is None else data.due_date.isoformat(),
    )


def stage_load(lines: list[str], trusted: list[tuple]) -> None:
    """The batch into the (emptied) staging table, in one COPY."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {STAGE}, {NEW}")
        if not lines and not trusted:
            return
        statement = f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            if lines:
                copy.write("".join(lines))
            for row in trusted:
                copy.write_row(row)


def stage_unsure() -> list[int]:
    """Ordinals of the staged records these checks cannot pass: Python reads them."""
    occurred_from, occurred_until = _window_now("occurred_at").utc_bounds()
    due = _window_now("due_date")
    sql = f"""
        SELECT s.ordinal FROM {STAGE} s LEFT JOIN {RULES} r ON r.type = s.type
        WHERE NOT s.trusted AND NOT CASE
            WHEN r.type IS NULL THEN false
            WHEN s.event_id = '' OR s.patient_external_id = '' THEN false
            WHEN char_length(s.event_id) > %(event_id_max)s
              OR char_length(s.patient_external_id) > %(patient_max)s
              OR char_length(s.object_id) > %(object_id_max)s
              OR char_length(s.reply_to) > %(reply_to_max)s THEN false
            WHEN concat_ws(E'\\x01', s.event_id, s.patient_external_id, s.object_id, s.reply_to)
                 ~ %(edge)s THEN false
            WHEN CASE WHEN s.channel = '' THEN r.channel_required
                      ELSE s.channel <> ALL (r.channels) END THEN false
            WHEN s.object_id = '' AND r.needs_object_id THEN false
            WHEN s.reply_to <> '' AND NOT r.reply_ok THEN false
            WHEN s.appointment_type <> ''
                 AND NOT (r.appointment_ok AND s.appointment_type = ANY (%(appointment_types)s))
                 THEN false
            WHEN CASE WHEN s.amount = '' THEN r.amount_type
                      WHEN NOT r.amount_type OR s.amount !~ %(amount)s THEN true
                      ELSE s.amount::numeric <= 0 END THEN false
            WHEN CASE WHEN s.score = '' THEN r.score_type
                      ELSE NOT r.score_type OR s.score !~ '^[1-5]$' END THEN false
            WHEN CASE WHEN s.due_date = '' THEN false
                      WHEN NOT r.due_date_type OR s.due_date !~ %(date)s THEN true
                      WHEN NOT {_real_day("s.due_date")} THEN true
                      ELSE s.due_date::date NOT BETWEEN %(due_from)s AND %(due_until)s END
                 THEN false
            WHEN s.occurred_at !~ %(time)s THEN false
            WHEN NOT {_real_day("s.occurred_at")} THEN false
            ELSE s.occurred_at::timestamptz >= %(occurred_from)s
             AND s.occurred_at::timestamptz < %(occurred_until)s
        END
        ORDER BY s.ordinal
    """
    params = {
        "event_id_max": MAX_LENGTHS["event_id"],
        "patient_max": MAX_LENGTHS["patient_external_id"],
        "object_id_max": MAX_LENGTHS["object_id"],
        "reply_to_max": MAX_LENGTHS["reply_to"],
        "edge": EDGE_SPACE,
        "appointment_types": list(AppointmentType.values),
        "amount": AMOUNT_PATTERN,
        "date": DATE_PATTERN,
        "due_from": due.earliest,
        "due_until": due.latest,
        "time": TIME_PATTERN,
        "occurred_from": occurred_from,
        "occurred_until": occurred_until,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def stage_settle(refused: list[int], trusted: list[tuple]) -> None:
    """After Python read the unsure records: drop the refused, restage the accepted as read."""
    with connection.cursor() as cursor:
        ordinals = refused + [row[0] for row in trusted]
        if ordinals:
            cursor.execute(f"DELETE FROM {STAGE} WHERE ordinal = ANY (%s)", [ordinals])
        if trusted:
            statement = f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                for row in trusted:
                    copy.write_row(row)


# What the judgement answers of a record that is not written.
SAME_AS_EARLIER = "same"  # a repeat of an earlier record of the batch: unchanged
REPEAT = "repeat"  # detail: the earlier record's ordinal
UNKNOWN_PATIENT = "unknown"  # detail: the patient_external_id
STORED = "stored"  # detail: the fields that differ (comma separated), "" when none


def stage_judge() -> list[tuple[int, str, str | None, str]]:
    """(ordinal, outcome, detail, event_id) of every staged record not to be written.

    The others go to import_event_new, with their patient's id. One index
    lookup per event_id in the log, whatever the planner thinks of the table
    (see patients.feed_import._LOOKUP_SQL).
    """
    content = ", ".join(f"t.{name}" for name in ("patient_external_id", *EVENT_CONTENT_FIELDS))
    earlier = content.replace("t.", "f.")
    differing = ", ".join(
        [
            "CASE WHEN x.patient_id <> f.patient_id THEN 'patient_external_id' END",
            *(
                f"CASE WHEN x.{name} IS DISTINCT FROM f.{name} THEN '{name}' END"
                for name in EVENT_CONTENT_FIELDS
            ),
        ]
    )
    typed = ", ".join(TYPED_COLUMNS)
    sql = f"""
        WITH typed AS MATERIALIZED (
            SELECT s.ordinal, s.event_id, s.patient_external_id, s.type,
                   s.occurred_at::timestamptz AS occurred_at, s.channel, s.object_id,
                   s.reply_to, s.appointment_type, NULLIF(s.amount, '')::numeric AS amount,
                   NULLIF(s.score, '')::smallint AS score, NULLIF(s.due_date, '')::date AS due_date,
                   min(s.ordinal) OVER (PARTITION BY s.event_id) AS first
            FROM {STAGE} s
        ),
        firsts AS MATERIALIZED (
            SELECT t.*, p.id AS patient_id
            FROM typed t LEFT JOIN {Patient._meta.db_table} p
                 ON p.external_id = t.patient_external_id
            WHERE t.ordinal = t.first
        ),
        stored AS MATERIALIZED (
            SELECT f.ordinal, x.*
            FROM firsts f CROSS JOIN LATERAL (
                SELECT e.patient_id, {", ".join(f"e.{n}" for n in EVENT_CONTENT_FIELDS)}
                FROM {ActivityEvent._meta.db_table} e WHERE e.event_id = f.event_id LIMIT 1
            ) x
            WHERE f.patient_id IS NOT NULL
        ),
        new AS (
            INSERT INTO {NEW} (ordinal, patient_id, {typed})
            SELECT f.ordinal, f.patient_id, {", ".join(f"f.{n}" for n in TYPED_COLUMNS)}
            FROM firsts f
            WHERE f.patient_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM stored x WHERE x.ordinal = f.ordinal)
        )
        SELECT t.ordinal,
               CASE WHEN ({content}) IS NOT DISTINCT FROM ({earlier})
                    THEN '{SAME_AS_EARLIER}' ELSE '{REPEAT}' END,
               f.ordinal::text, t.event_id
        FROM typed t JOIN typed f ON f.ordinal = t.first
        WHERE t.ordinal <> t.first
        UNION ALL
        SELECT f.ordinal, '{UNKNOWN_PATIENT}', f.patient_external_id, f.event_id
        FROM firsts f WHERE f.patient_id IS NULL
        UNION ALL
        SELECT f.ordinal, '{STORED}', array_to_string(array_remove(ARRAY[{differing}], NULL), ','),
               f.event_id
        FROM stored x JOIN firsts f ON f.ordinal = x.ordinal
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def staged_events_insert(*, source: str, recorded_at: datetime) -> int:
    """THE INSERT: the batch's new events (import_event_new) into the event log, in file order.

    Returns how many were written. After it, import_event_new still holds
    them (with patient_id) until the next batch is staged.
    """
    columns = [name for name in TYPED_COLUMNS if name != "patient_external_id"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ActivityEvent._meta.db_table}
                (patient_id, {", ".join(columns)}, source, recorded_at)
            SELECT patient_id, {", ".join(columns)}, %s, %s FROM {NEW} ORDER BY ordinal
            """,
            [source, recorded_at],
        )
        return cursor.rowcount
