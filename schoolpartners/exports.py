"""Generic table export: rows of dicts + a column spec -> a CSV (streamed) or XLSX download.

Every table in the service offers CSV and XLSX links built on this module::

    columns = [Column("urn", "URN"), Column("name", "School name")]
    return export_response(rows, columns, "schools", fmt)   # fmt is "csv" or "xlsx"

`rows` may be any iterable (a generator over a queryset `.iterator()` keeps memory flat for big exports).
A column may take its value with `get` (a callable on the row) instead of the row key. Text is defused (a
cell starting like a formula is prefixed with `'`) and cleaned of control characters XLSX cannot hold, so no
stored text can break an export.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.http import Http404, HttpResponse, StreamingHttpResponse

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (so an XLSX file) cannot hold: openpyxl raises IllegalCharacterError on them.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# Bidirectional controls (a cell that displays in another order than it reads) and line/paragraph separators.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SEPARATORS = re.compile("[\u2028\u2029]")


def clean_text(text: str) -> str:
    """`text` without the characters a spreadsheet cannot hold (control characters but tab and line breaks), without
    bidirectional controls, and with U+2028/U+2029 as plain line breaks (issue 18: none reaches an export)."""
    return _SEPARATORS.sub("\n", _INVISIBLE.sub("", _ILLEGAL.sub("", text)))


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    get: Callable[[Mapping[str, Any]], Any] | None = None

    def value(self, row: Mapping[str, Any]) -> Any:
        return self.get(row) if self.get is not None else row.get(self.key)


ColumnSpec = Sequence[Column | tuple[str, str]]


def _columns(spec: ColumnSpec) -> list[Column]:
    return [c if isinstance(c, Column) else Column(c[0], c[1]) for c in spec]


def _cell(value: Any) -> Any:
    """A value as a spreadsheet cell: numbers and dates stay typed, None is empty, text is defused."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float | dt.date | dt.datetime):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value
    text = clean_text(str(value))  # before the formula check: "\x07=1+1" must not become "=1+1"
    # A text cell starting like a formula is prefixed so spreadsheet programs do not evaluate it.
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv_text(value: Any) -> str:
    cell = _cell(value)
    if cell is None:
        return ""
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() and abs(cell) < 1e15 else repr(cell)
    if isinstance(cell, dt.datetime | dt.date):
        return cell.isoformat()
    return str(cell)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterable[Mapping[str, Any]], columns: list[Column]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([c.label for c in columns])  # BOM so Excel reads UTF-8
    for row in rows:
        yield writer.writerow([_csv_text(c.value(row)) for c in columns])


def safe_base(name: str) -> str:
    return _SAFE_NAME.sub("-", name).strip("-") or "export"


def filename_for(name: str, fmt: str) -> str:
    return f"{safe_base(name)}.{fmt}"


def csv_lines(rows: Iterable[Mapping[str, Any]], spec: ColumnSpec) -> Iterator[str]:
    """The CSV file's lines (with the BOM), for writing an export to a file."""
    return _csv_lines(rows, _columns(spec))


def csv_response(rows: Iterable[Mapping[str, Any]], spec: ColumnSpec, name: str) -> StreamingHttpResponse:
    """The CSV download, streamed. The first row is read before the answer starts, so a query that cannot run (the
    database is down) raises in the view (503) instead of a 200 that stops mid-file (issue 18, row 8)."""
    columns = _columns(spec)
    it = iter(rows)
    first = list(itertools.islice(it, 1))
    response = StreamingHttpResponse(
        _csv_lines(itertools.chain(first, it), columns), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename_for(name, "csv")}"'
    return response


def write_xlsx(
    fh: IO[bytes], rows: Iterable[Mapping[str, Any]], spec: ColumnSpec, sheet: str = "Data"
) -> None:
    """Write the XLSX workbook to the binary file `fh` (openpyxl's write-only mode: rows are not kept)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    columns = _columns(spec)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=(_SAFE_NAME.sub(" ", sheet).strip() or "Data")[:31])
    bold = Font(bold=True)
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=clean_text(c.label))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([_cell(c.value(row)) for c in columns])
    wb.save(fh)


def xlsx_bytes(rows: Iterable[Mapping[str, Any]], spec: ColumnSpec, sheet: str = "Data") -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, rows, spec, sheet=sheet)
    return buffer.getvalue()


def xlsx_response(
    rows: Iterable[Mapping[str, Any]], spec: ColumnSpec, name: str, sheet: str = "Data"
) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(rows, spec, sheet=sheet), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename_for(name, "xlsx")}"'
    return response


def export_response(
    rows: Iterable[Mapping[str, Any]], spec: ColumnSpec, name: str, fmt: str, sheet: str | None = None
) -> HttpResponse | StreamingHttpResponse:
    """The download for `fmt` ("csv" or "xlsx"); 404 for any other format."""
    if fmt == "csv":
        return csv_response(rows, spec, name)
    if fmt == "xlsx":
        return xlsx_response(rows, spec, name, sheet=sheet or name)
    raise Http404(f"unknown export format {fmt!r}")
