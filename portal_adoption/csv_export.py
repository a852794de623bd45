"""The one CSV writer: every CSV file the application produces is written here.

A spreadsheet runs a cell that starts with =, +, -, @, a tab or a carriage
return as a formula (CSV or formula injection): a patient named
=HYPERLINK("http://…") or a chart note starting with =cmd|… in an export
would run when a manager opens the file. So a text cell starting with one of
those gets a leading apostrophe, which spreadsheets show as text. Numbers,
and text that is only a number (-12.50), are written as they are: they
cannot be formulas, and figures must stay figures.

Nothing else in the application may call csv.writer (a test walks the source
and every CSV download of the URL conf with hostile cells).
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.functional import Promise

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")
CONTENT_TYPE = "text/csv; charset=utf-8"


def csv_cell(value: Any) -> Any:
    """The value as it is safe to write in a cell."""
    if isinstance(value, Promise):
        value = str(value)
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


class CsvWriter:
    """csv.writer with every cell made safe."""

    def __init__(self, out):
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class _Echo:
    """A file that hands back what is written to it, to stream one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    CsvWriter(out).writerows(rows)
    return out.getvalue()


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = CsvWriter(_Echo())
    for row in rows:
        yield writer.writerow(row)


def csv_download(rows: Iterable[Iterable[Any]], *, filename: str) -> HttpResponse:
    """A CSV file to download, written whole (small files)."""
    response = HttpResponse(csv_text(rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_streaming_download(rows: Iterable[Iterable[Any]], *, filename: str):
    """A CSV file to download, streamed row by row (files of any size)."""
    response = StreamingHttpResponse(csv_lines(rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
