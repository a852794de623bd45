"""The event import's checks on PostgreSQL, run on a batch at once: a staging table.

Python used to check event records one at a time. Now (patients.feed_import
runs the import):

1. `plain_line`: each record of text values is matched whole against one
   compiled expression of its shape (PLAIN_LINE) and becomes one line of a
   COPY into the temporary staging table. Any other record (a JSON number, a
   space around a value, a NUL, a time written another way) is read by
   parse_event at once, and staged as read (`trusted`) or refused.
2. `stage_unsure`: the server checks the rest of what parse_event checks on
   the whole batch (the type and its rules for channel, object_id, reply_to,
   appointment_type, amount, score and due_date; real calendar days; the
   date windows) and answers the ordinals of the records that fail. Those
   go through parse_event, which words every reason: this module never words
   one, so each message is the one of the per-record path.
   It also says whether the batch's event_ids are all new: none appears
   twice in the batch, none is in the log already.
3. `staged_new_insert` writes such a batch (the usual first import of a
   file): no probe of the key table and no comparison with an earlier
   record, only the patients to find. Any other batch goes to
   `staged_events_insert`: one statement finds a repeated event_id in the
   batch (the same record again, or different values), a patient not on the
   roster and an event_id stored already (the same event, or which fields
   differ), and writes the new events.

Everything these checks pass, parse_event would accept with the same values;
what they cannot vouch for goes to parse_event. The SQLite path (a first run)
still checks record by record, with the same results (tests/patients).
"""

import re
from datetime import UTC, datetime

from django.db import DatabaseError, IntegrityError, connection

from patients.feed import EVENT_FIELDS, MAX_LENGTHS
from patients.models import (
    FIRSTS_COLUMNS,
    ActivityEvent,
    AppointmentType,
    EventKey,
    EventType,
    Patient,
    PatientFirsts,
)
from patients.rules import (
    AMOUNT_LIMIT,
    AMOUNT_TYPES,
    DUE_DATE_TYPES,
    RESPONSE_TYPES,
    TYPE_RULES,
    EventData,
    _window_now,
)
from patients.services import EVENT_CONTENT_FIELDS, patient_firsts_keep_earlier
from portal_adoption.dates import event_window

STAGE = "import_event_stage"
RULES = "import_event_rule"

EMPTY_VALUES = ("",) * len(EVENT_FIELDS)

# The shape of a record the server can check, as one line of the staging COPY
# (text format, tab separated): one compiled expression for the whole line,
# which measured about twice as fast as PostgreSQL's string functions and
# regular expressions for the same checks. What it lets through, Python reads
# exactly the same way (no space around a value, which Python would strip;
# no character the COPY would need escaped, or cannot send; times written
# 2026-01-14T09:05:00-05:00 or ...Z, with at most six decimals; amounts like
# 25.00; every length within its column). The server checks everything else.
_EDGE = r"[^\s\\\x00\ud800-\udfff]"  # \s is what str.strip() removes
_INSIDE = r"[^\t\n\r\\\x00\ud800-\udfff]"


def _text(limit: int, *, required: bool) -> str:
    value = f"{_EDGE}(?:{_INSIDE}{{0,{limit - 2}}}{_EDGE})?"
    return value if required else f"(?:{value})?"


_YEAR = "(?:19[0-9]{2}|2[01][0-9]{2})"  # inside every window's possible years
_DAY = f"{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_TIME = (
    f"{_DAY}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{{1,6}})?"
    "(?:Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])"
)
# Below AMOUNT_LIMIT by its number of digits, at most two decimals.
_AMOUNT = f"(?:[0-9]{{1,{len(str(int(AMOUNT_LIMIT))) - 1}}}(?:\\.[0-9]{{1,2}})?)?"
_WORD = "[a-z_]{0,32}"  # a type, channel or appointment_type: the server knows which
_SHAPES = {
    "event_id": _text(MAX_LENGTHS["event_id"], required=True),
    "patient_external_id": _text(MAX_LENGTHS["patient_external_id"], required=True),
    "type": _WORD,
    "occurred_at": _TIME,
    "channel": _WORD,
    "object_id": _text(MAX_LENGTHS["object_id"], required=False),
    "reply_to": _text(MAX_LENGTHS["reply_to"], required=False),
    "appointment_type": _WORD,
    "amount": _AMOUNT,
    "score": "[1-5]?",
    "due_date": f"(?:{_DAY})?",
}
PLAIN_LINE = re.compile("\t".join(_SHAPES[name] for name in EVENT_FIELDS))

STAGE_COLUMNS = ("ordinal", "trusted", *EVENT_FIELDS)
# The staged columns, typed by the insert: the feed's own fields, in its order.
TYPED_COLUMNS = EVENT_FIELDS


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
        for table in (STAGE, RULES):
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        stage_text = ", ".join(f"{name} text NOT NULL" for name in EVENT_FIELDS)
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE} (ordinal integer NOT NULL, "
            f"trusted boolean NOT NULL, {stage_text}) ON COMMIT DROP"
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

    Only a record of text values, every field known, of the PLAIN_LINE shape.
    """
    if type(raw) is not dict or not _FIELD_SET.issuperset(raw):
        return None
    try:
        line = "\t".join(map(raw.get, EVENT_FIELDS, EMPTY_VALUES))
    except TypeError:  # a value that is not text (a JSON number, null, ...)
        return None
    if PLAIN_LINE.fullmatch(line) is None:
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
        cursor.execute(f"TRUNCATE {STAGE}")
        if not lines and not trusted:
            return
        statement = f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            if lines:
                copy.write("".join(lines))
            for row in trusted:
                copy.write_row(row)


def stage_unsure() -> tuple[list[int], bool]:
    """Ordinals of the staged records the server's checks do not pass (Python reads
    them), and whether each event_id appears once in the batch (then
    staged_new_insert may write it: it finds the stored ones as it writes).

    The records of PLAIN_LINE's shape are checked here for the rest of what
    parse_event checks: the type and its rules (channel, object_id, reply_to,
    appointment_type, amount, score, due_date), real calendar days, and the
    windows of occurred_at and due_date.
    """
    occurred_from, occurred_until = _window_now("occurred_at").utc_bounds()
    due = _window_now("due_date")
    sql = f"""
        SELECT s.ordinal FROM {STAGE} s LEFT JOIN {RULES} r ON r.type = s.type
        WHERE NOT s.trusted AND NOT CASE
            WHEN r.type IS NULL THEN false
            WHEN CASE WHEN s.channel = '' THEN r.channel_required
                      ELSE s.channel <> ALL (r.channels) END THEN false
            WHEN s.object_id = '' AND r.needs_object_id THEN false
            WHEN s.reply_to <> '' AND NOT r.reply_ok THEN false
            WHEN s.appointment_type <> ''
                 AND NOT (r.appointment_ok AND s.appointment_type = ANY (%(appointment_types)s))
                 THEN false
            WHEN CASE WHEN s.amount = '' THEN r.amount_type
                      WHEN NOT r.amount_type THEN true
                      ELSE s.amount::numeric <= 0 END THEN false
            WHEN (s.score <> '') <> r.score_type THEN false
            WHEN s.due_date <> '' AND NOT (
                     r.due_date_type AND {_real_day("s.due_date")}
                     AND s.due_date COLLATE "C" BETWEEN %(due_from)s AND %(due_until)s
                 ) THEN false
            WHEN NOT {_real_day("s.occurred_at")} THEN false
            ELSE s.occurred_at::timestamptz >= %(occurred_from)s
             AND s.occurred_at::timestamptz < %(occurred_until)s
        END
        UNION ALL
        SELECT {_REPEATED} WHERE EXISTS (
            SELECT FROM {STAGE} s GROUP BY s.event_id HAVING count(*) > 1
        )
        ORDER BY 1
    """
    params = {
        "appointment_types": list(AppointmentType.values),
        "due_from": due.earliest.isoformat(),
        "due_until": due.latest.isoformat(),
        "occurred_from": occurred_from,
        "occurred_until": occurred_until,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ordinals = [row[0] for row in cursor.fetchall()]
    if ordinals and ordinals[0] == _REPEATED:
        return ordinals[1:], False
    return ordinals, True


_REPEATED = -1  # not an ordinal: an event_id repeats in the batch


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


# What staged_events_insert answers of a record it does not write.
SAME_AS_EARLIER = "same"  # a repeat of an earlier record of the batch: unchanged
REPEAT = "repeat"  # detail: the earlier record's ordinal
UNKNOWN_PATIENT = "unknown"  # detail: the patient_external_id
STORED = "stored"  # detail: the fields that differ (comma separated), "" when none
_WRITTEN = "written"  # detail: how many were written
_VANISHED = "vanished"  # not written for its event_id, yet not found by it either
_STORED_MEANWHILE = "an event_id of the import was stored by another writer meanwhile"


def staged_events_insert(
    *, source: str, recorded_at: datetime
) -> tuple[int, list[tuple[int, str, str | None, str]]]:
    """THE INSERT of the event import on PostgreSQL: the staged batch's new events into the log.

    One statement judges the staged records (all of them passed the checks)
    and writes the new ones, in file order. A record is new when it is the
    first of its event_id in the batch, its patient is on the roster, and
    its event_id is not in the log. Returns how many were written, and
    (ordinal, outcome, detail, event_id) of every other record. The same
    statement folds the written events into the patients' firsts (as
    patients.services.patient_firsts_record does for the other writers): the
    rows stay on the server, and only patients whose firsts move are written.

    The log is partitioned by month (patients/partitions.py): its unique key
    is the key table EventKey. Each event_id is probed there (one index, not
    one per month), and a stored event is read by (event_id, occurred_at),
    which reads one partition; each probe is a LATERAL ... LIMIT 1, since a
    plain join may read a whole table instead. The key table's trigger
    refuses an event_id another writer stored after the probe (a unique
    violation): then the import fails whole, as when an event vanishes.
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
    columns = [name for name in TYPED_COLUMNS if name != "patient_external_id"]
    sql = f"""
        WITH typed AS MATERIALIZED (
            SELECT s.ordinal, s.patient_external_id, {_TYPED_VALUES}, p.id AS patient_id,
                   min(s.ordinal) OVER (PARTITION BY s.event_id COLLATE "C") AS first
            FROM {STAGE} s LEFT JOIN LATERAL ({_PATIENT_OF_RECORD}) p ON true
        ),
        firsts AS MATERIALIZED (
            SELECT * FROM typed t WHERE t.ordinal = t.first
        ),
        keyed AS MATERIALIZED (
            SELECT f.ordinal, k.occurred_at AS stored_at
            FROM firsts f LEFT JOIN LATERAL (
                SELECT k.occurred_at FROM {EventKey._meta.db_table} k
                WHERE k.event_id = f.event_id LIMIT 1
            ) k ON true
            WHERE f.patient_id IS NOT NULL
        ),
        written AS (
            INSERT INTO {ActivityEvent._meta.db_table}
                (patient_id, {", ".join(columns)}, source, recorded_at)
            SELECT f.patient_id, {", ".join(f"f.{n}" for n in columns)}, %s, %s
            FROM firsts f JOIN keyed kd ON kd.ordinal = f.ordinal
            WHERE kd.stored_at IS NULL
            ORDER BY f.ordinal
            RETURNING event_id, patient_id, type, occurred_at
        ),
        firsts_kept AS (
            {_firsts_upsert()}
        ),
        stored AS MATERIALIZED (
            SELECT kd.ordinal, x.*
            FROM keyed kd JOIN firsts f ON f.ordinal = kd.ordinal LEFT JOIN LATERAL (
                SELECT e.patient_id, {", ".join(f"e.{n}" for n in EVENT_CONTENT_FIELDS)}
                FROM {ActivityEvent._meta.db_table} e
                WHERE e.event_id = f.event_id AND e.occurred_at = kd.stored_at LIMIT 1
            ) x ON true
            WHERE kd.stored_at IS NOT NULL
        )
        SELECT -1, '{_WRITTEN}', count(*)::text, '' FROM written
        UNION ALL
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
        SELECT f.ordinal,
               CASE WHEN x.patient_id IS NULL THEN '{_VANISHED}' ELSE '{STORED}' END,
               array_to_string(array_remove(ARRAY[{differing}], NULL), ','), f.event_id
        FROM stored x JOIN firsts f ON f.ordinal = x.ordinal
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, [source, recorded_at, event_window().utc_bounds()[0]])
            rows = cursor.fetchall()
    except IntegrityError as error:
        if _constraint(error) != f"{EventKey._meta.db_table}_pkey":
            raise
        # The key table's trigger: another writer stored one of these event_ids
        # after this statement looked for it.
        raise DatabaseError(_STORED_MEANWHILE) from error
    if any(row[1] == _VANISHED for row in rows):
        # Another writer stored one of these event_ids while this statement ran:
        # nothing to compare it with, so the import fails whole (and can be run again).
        raise DatabaseError(_STORED_MEANWHILE)
    written = next(int(row[2]) for row in rows if row[1] == _WRITTEN)
    return written, [row for row in rows if row[1] != _WRITTEN]


# The roster patient a staged record `s` names: one probe of the unique external_id
# index per record (LIMIT 1 keeps the planner from turning it into a plain join). A
# join hashes the whole roster for every batch instead, which grows with the roster.
_PATIENT_OF_RECORD = f"""SELECT p.id FROM {Patient._meta.db_table} p
    WHERE p.external_id = s.patient_external_id LIMIT 1"""

# The staged columns (text) as the log's types, in TYPED_COLUMNS' order but the patient's.
_TYPED_VALUES = """s.event_id, s.type, s.occurred_at::timestamptz AS occurred_at, s.channel,
    s.object_id, s.reply_to, s.appointment_type, NULLIF(s.amount, '')::numeric AS amount,
    NULLIF(s.score, '')::smallint AS score, NULLIF(s.due_date, '')::date AS due_date"""


def staged_new_insert(*, source: str, recorded_at: datetime) -> tuple[int, list[tuple]]:
    """The insert of a batch whose records all passed the server's checks and whose
    event_ids each appear once in it (stage_unsure): the answer of
    staged_events_insert, in a leaner statement that looks nothing up first.

    The batch's keys go into the key table as one set, ON CONFLICT DO NOTHING,
    and only the events whose key was new go into the log, while the log's key
    trigger stands aside (KEYS_WRITTEN: it would write each key again, row by
    row). So an event_id stored already (by an earlier import or batch, or by
    another writer a moment ago) is never written twice, and is judged after,
    with a record whose patient is not on the roster: the stored ones by
    staged_events_insert, as in any batch that repeats a stored event_id.
    """
    columns = [name for name in TYPED_COLUMNS if name != "patient_external_id"]
    sql = f"""
        WITH staged AS MATERIALIZED (
            SELECT s.ordinal, p.id AS patient_id, {_TYPED_VALUES}
            FROM {STAGE} s JOIN LATERAL ({_PATIENT_OF_RECORD}) p ON true
        ),
        keyed AS (
            INSERT INTO {EventKey._meta.db_table} (event_id, occurred_at)
            SELECT st.event_id, st.occurred_at FROM staged st ORDER BY st.ordinal
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
        ),
        written AS (
            INSERT INTO {ActivityEvent._meta.db_table}
                (patient_id, {", ".join(columns)}, source, recorded_at)
            SELECT st.patient_id, {", ".join(f"st.{name}" for name in columns)}, %s, %s
            FROM staged st JOIN keyed k ON k.event_id = st.event_id
            ORDER BY st.ordinal
            RETURNING event_id, patient_id, type, occurred_at
        ),
        firsts_kept AS (
            {_firsts_upsert()}
        )
        SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM {STAGE}),
               CASE WHEN (SELECT count(*) FROM keyed) < (SELECT count(*) FROM staged) THEN (
                   SELECT array_agg(st.ordinal ORDER BY st.ordinal) FROM staged st
                   WHERE NOT EXISTS (SELECT FROM keyed k WHERE k.event_id = st.event_id)
               ) END
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [KEYS_WRITTEN])
        cursor.execute(sql, [source, recorded_at, event_window().utc_bounds()[0]])
        written, staged, stored = cursor.fetchone()
        cursor.execute("SELECT set_config(%s, 'off', true)", [KEYS_WRITTEN])
    stored = stored or []
    others = _unknown_patients() if written + len(stored) < staged else []
    if stored:
        more, judged = _stored_judged(stored, source=source, recorded_at=recorded_at)
        written, others = written + more, sorted(others + judged)
    if written + len(others) != staged:
        raise DatabaseError(_ROSTER_CHANGED)
    return written, others


# What the log's key trigger reads (migration 0018): "on" only while
# staged_new_insert's statement writes the keys itself. LOCAL to the transaction.
KEYS_WRITTEN = "pam.event_keys_written"


def _unknown_patients() -> list[tuple]:
    """(ordinal, UNKNOWN_PATIENT, patient_external_id, event_id) of each staged record
    whose patient is not on the roster."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.ordinal, '{UNKNOWN_PATIENT}', s.patient_external_id, s.event_id
            FROM {STAGE} s WHERE NOT EXISTS (
                SELECT FROM {Patient._meta.db_table} p
                WHERE p.external_id = s.patient_external_id
            )
            ORDER BY s.ordinal
            """
        )
        return cursor.fetchall()


def _stored_judged(ordinals: list[int], *, source: str, recorded_at: datetime):
    """The staged records whose event_id was stored already, judged against the
    stored events by staged_events_insert (the rest of the batch is written)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {STAGE} WHERE ordinal <> ALL (%s)", [ordinals])
    return staged_events_insert(source=source, recorded_at=recorded_at)


_ROSTER_CHANGED = "the roster changed while the import wrote a batch"


def _constraint(error: IntegrityError) -> str | None:
    """The name of the constraint the database says `error` broke."""
    diagnostic = getattr(error.__cause__, "diag", None)
    return getattr(diagnostic, "constraint_name", None)


def _firsts_upsert() -> str:
    """The data-modifying step of the insert that keeps the patients' firsts:
    each written patient's earliest time per column, from the types that count
    (FIRSTS_COLUMNS) and on or after the event window's first day (the
    statement's third parameter), upserted in patient order (no deadlock
    between two imports)."""
    table = connection.ops.quote_name(PatientFirsts._meta.db_table)
    by_column: dict[str, list[str]] = {}
    for event_type, column in FIRSTS_COLUMNS.items():
        by_column.setdefault(column, []).append(str(event_type))
    earliest = ", ".join(
        f"min(w.occurred_at) FILTER (WHERE w.type IN ({', '.join(repr(t) for t in types)}))"
        for types in by_column.values()
    )
    counted = ", ".join(repr(str(t)) for t in FIRSTS_COLUMNS)
    return f"""
        INSERT INTO {table} (patient_id, {", ".join(by_column)})
        SELECT w.patient_id, {earliest}
        FROM written w
        WHERE w.type IN ({counted}) AND w.occurred_at >= %s
        GROUP BY w.patient_id
        ORDER BY w.patient_id
        {patient_firsts_keep_earlier(table)}
    """
