"""Reading a feed CSV file: UTF-8, a header row, comma separated (activity-feed.md)."""

import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from django.utils.translation import gettext as _

from patients.feed import (
    EVENT_FIELDS,
    EVENT_REQUIRED,
    PATIENT_FIELDS,
    PATIENT_REQUIRED,
    UNSTORABLE,
)
from patients.feed_import import FeedFileInvalid, MalformedRecord
from patients.rules import FieldError

# A single value longer than this is not a feed value but a broken file.
csv.field_size_limit(1_000_000)


def patient_rows(stream: BinaryIO) -> Iterator[tuple[int, dict]]:
    return _rows(stream, PATIENT_FIELDS, PATIENT_REQUIRED)


def event_rows(stream: BinaryIO) -> Iterator[tuple[int, dict]]:
    return _rows(stream, EVENT_FIELDS, EVENT_REQUIRED)


def _rows(stream: BinaryIO, known: tuple, required: tuple) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each row; the header is checked before any row.

    Bytes that are not UTF-8 are read as lone surrogates (surrogateescape), so
    a bad byte in one value rejects that record, with the reason, like a NUL
    does; the records around it are imported.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = _header(reader, known, required)
        for values in reader:
            if not values or values == [""]:
                continue
            if len(values) != len(header):
                yield reader.line_num, _malformed(values, header)
                continue
            yield reader.line_num, dict(zip(header, values, strict=True))
    except csv.Error as error:
        raise FeedFileInvalid(
            _(
                "The file is not valid CSV at line %(line)d (%(problem)s): check the quotes "
                "on that line."
            )
            % {"line": reader.line_num, "problem": error}
        ) from None
    finally:
        text.detach()


def _header(reader, known: tuple, required: tuple) -> list[str]:
    header = next(reader, None)
    if not header or header == [""]:
        raise FeedFileInvalid(
            _("The file is empty: its first line must be the header, e.g. %(header)s.")
            % {"header": ",".join(known)}
        )
    header = [name.strip() for name in header]
    if UNSTORABLE.search("".join(header)):
        raise FeedFileInvalid(
            _(
                "The header row is not UTF-8 text, or holds a NUL: save the file as "
                "“CSV UTF-8” and send it again."
            )
        )
    problems = []
    missing = [name for name in required if name not in header]
    if missing:
        problems.append(_("required columns missing: %(names)s") % {"names": ", ".join(missing)})
    unknown = [name for name in header if name not in known]
    if unknown:
        problems.append(_("unknown columns: %(names)s") % {"names": ", ".join(unknown)})
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        problems.append(_("repeated columns: %(names)s") % {"names": ", ".join(repeated)})
    if problems:
        raise FeedFileInvalid(
            _("The header row is not right (%(problems)s). The columns are: %(known)s.")
            % {"problems": "; ".join(problems), "known": ",".join(known)}
        )
    return header


def _malformed(values: list[str], header: list[str]) -> MalformedRecord:
    error = FieldError(
        "line",
        _(
            "this line has %(found)d values but the header has %(expected)d columns: check for "
            "a missing or extra comma, or quote values that contain commas."
        )
        % {"found": len(values), "expected": len(header)},
    )
    return MalformedRecord([error], {"values": values})
