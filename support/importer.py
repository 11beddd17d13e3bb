"""Bulk import of support activities, converter pledges and survey responses from CSV or XLSX (docs/support-import.md).

Rules (the same as every import): the header is checked before anything else; every row is parsed and checked
(including that every URN is a known school) before anything is written; the write is one transaction (all or
nothing) with an audit event; re-importing the same file changes nothing (natural keys). The first error stops
the import with a message naming the file, row (spreadsheet row number, header = row 1), column and value.
"""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from audit.kinds import EventKind
from audit.services import record
from schoolpartners import decompress
from schoolpartners.params import CONTROL, is_id
from schoolpartners.types import Actor
from schools.models import School
from support.models import ConverterPledge, Source, SupportType, SurveyResponse
from support.services import ActivityData, SupportError, _save_activity

MAX_FIELD = 131_072  # characters in one cell (the csv module's default limit)
# One character more than a cell may hold, so the reader hands an over-long cell to the importer's own check,
# which names its row and column (the csv module's error names neither). Process-wide, and only ever raised.
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD + 1))

KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required columns, optional columns)
    "activities": (
        ("recipient_urn", "support_type", "start_date"),
        ("provider_urns", "system_leader", "end_date", "days", "outcome"),
    ),
    "pledges": (("academy_urn", "supported_urn", "pledge_date"), ("note",)),
    "survey": (("urn", "survey_year", "supports_others"), ("support_types", "supported_before_conversion")),
}


MAX_DAYS = Decimal(10) ** 6  # days are stored with 7 digits, one after the point (the form's bound too)


class ImportFailed(Exception):
    def __init__(self, file: str, message: str, row: int | None = None, column: str = "", value: Any = None):
        self.file, self.row, self.column, self.value = file, row, column, value
        where = file
        if row is not None:
            where += f", row {row}"
        if column:
            where += f", column {column}"
        if value is not None:
            where += f", value {str(value)!r}"
        super().__init__(f"{where}: {message}")


@dataclass
class ImportReport:
    file: str
    kind: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def check_archive(path: Path, name: str) -> None:
    """Refuse an XLSX whose zip declares more than SUPPORT_IMPORT_MAX_UNZIPPED_BYTES or a member compressed
    more than SUPPORT_IMPORT_MAX_ZIP_RATIO times (a zip bomb), from the zip's directory alone - before openpyxl
    decompresses anything (schoolpartners.decompress.check_zip: zipfile never inflates a member past its
    declared size, so the check bounds what is unpacked while it streams)."""
    try:
        decompress.check_zip(
            path,
            name,
            max_bytes=settings.SUPPORT_IMPORT_MAX_UNZIPPED_BYTES,
            max_ratio=settings.SUPPORT_IMPORT_MAX_ZIP_RATIO,
        )
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed(name, f"cannot be read: not an XLSX workbook ({exc})") from exc
    except decompress.DecompressionLimit as exc:
        raise ImportFailed(name, str(exc).removeprefix(f"{name}: ")) from exc


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _xlsx_rows(path: Path, name: str) -> Iterator[list[str]]:
    """The first worksheet's rows, streamed by openpyxl's read-only reader - but without its dimension scan:
    a sheet with no `<dimension>` element is otherwise parsed whole when it is opened (a 3-million-row sheet:
    minutes), and a wrong one silently drops rows."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class UnsizedSheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            pass

    reader = ExcelReader(str(path), read_only=True, data_only=True)
    try:
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            (sheet, rel)
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        ]
        if not sheets:
            raise ImportFailed(name, "the workbook has no worksheet")
        sheet, rel = sheets[0]
        ws = UnsizedSheet(reader.wb, sheet.name, rel.target, reader.shared_strings)
        for row in ws.iter_rows(values_only=True):
            yield [_cell(v) for v in row]
    finally:
        reader.archive.close()


def _rows(path: Path, name: str = "") -> Iterator[list[str]]:
    """The file's rows as lists of strings, streamed (never the whole file in memory)."""
    name = name or path.name
    if path.suffix.lower() == ".xlsx":
        check_archive(path, name)
        yield from _xlsx_rows(path, name)
        return
    if path.suffix.lower() != ".csv":
        raise ImportFailed(name, "only .csv and .xlsx files can be imported")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise ImportFailed(
                        name,
                        f"a field is longer than {MAX_FIELD:,} characters "
                        "(the largest a cell may hold); nothing was saved",
                        row=start,
                    ) from exc
                raise ImportFailed(name, f"is not a well-formed CSV file: {exc}", row=start) from exc
            yield row


def detect_kind(header: list[str], file: str) -> str:
    cols = set(header)
    for kind, (required, _) in KINDS.items():
        if set(required) <= cols:
            return kind
    raise ImportFailed(
        file,
        "the header matches no import kind; expected the columns of one of: "
        + "; ".join(f"{k}: {', '.join(r)}" for k, (r, _) in KINDS.items()),
        row=1,
    )


def _check_header(header: list[str], kind: str, file: str) -> None:
    required, optional = KINDS[kind]
    for i, col in enumerate(header, start=1):
        if col not in required and col not in optional:
            raise ImportFailed(
                file,
                f"unknown column (allowed: {', '.join((*required, *optional))})",
                row=1,
                column=f"{i} ({col or 'empty'})",
                value=col,
            )
    dup = [c for c in header if header.count(c) > 1]
    if dup:
        raise ImportFailed(file, "duplicate column", row=1, column=dup[0])


class _Row:
    def __init__(self, file: str, n: int, values: dict[str, str]):
        self.file, self.n, self.v = file, n, values

    def fail(self, col: str, msg: str) -> ImportFailed:
        return ImportFailed(self.file, msg, row=self.n, column=col, value=self.v.get(col, ""))

    def text(self, col: str) -> str:
        value = (self.v.get(col) or "").strip()
        if CONTROL.search(value):
            raise self.fail(col, "contains control characters (such as NUL); remove them")
        return value

    def required(self, col: str) -> str:
        t = self.text(col)
        if not t:
            raise self.fail(col, "a value is required")
        return t

    def urn(self, col: str) -> int:
        t = self.required(col)
        if not is_id(t):
            raise self.fail(col, "is not a URN (digits only)")
        return int(t)

    def urns(self, col: str) -> list[int]:
        parts = [p.strip() for p in self.text(col).replace(",", ";").split(";") if p.strip()]
        if any(not is_id(p) for p in parts):
            raise self.fail(col, "is not a list of URNs separated by ';'")
        return [int(p) for p in parts]

    def date(self, col: str, required: bool = True) -> dt.date | None:
        t = self.required(col) if required else self.text(col)
        if not t:
            return None
        try:
            return dt.date.fromisoformat(t)
        except ValueError:
            raise self.fail(col, "is not a date (YYYY-MM-DD)") from None

    def number(self, col: str) -> Decimal | None:
        t = self.text(col)
        if not t:
            return None
        try:
            d = Decimal(t)
        except InvalidOperation:
            raise self.fail(col, "is not a number") from None
        if not d.is_finite():
            raise self.fail(col, "is not a number")
        if d < 0:
            raise self.fail(col, "must not be negative")
        if d >= MAX_DAYS:
            raise self.fail(col, f"must be less than {MAX_DAYS}")
        return d

    def yes_no(self, col: str, required: bool = True) -> bool | None:
        t = (self.required(col) if required else self.text(col)).lower()
        if not t:
            return None
        if t in ("yes", "y", "true", "1"):
            return True
        if t in ("no", "n", "false", "0"):
            return False
        raise self.fail(col, "is not yes or no")

    def choice(self, col: str) -> str:
        t = self.required(col)
        if t not in SupportType.values:
            raise self.fail(col, f"is not a support type ({', '.join(SupportType.values)})")
        return t


def _parse(kind: str, row: _Row) -> tuple[Any, list[tuple[str, int]]]:
    """(parsed value, [(column, urn) to check exist])."""
    if kind == "activities":
        data = ActivityData(
            recipient_urn=row.urn("recipient_urn"),
            support_type=row.choice("support_type"),
            start_date=row.date("start_date"),  # type: ignore[arg-type]
            provider_urns=row.urns("provider_urns"),
            system_leader=row.text("system_leader"),
            end_date=row.date("end_date", required=False),
            days=row.number("days"),
            outcome=row.text("outcome"),
            source=Source.IMPORT,
        )
        if not data.provider_urns and not data.system_leader:
            raise row.fail("provider_urns", "give provider_urns or system_leader")
        if data.end_date and data.end_date < data.start_date:
            raise row.fail("end_date", f"is before start_date {data.start_date}")
        if data.recipient_urn in data.provider_urns:
            raise row.fail("provider_urns", "includes the recipient")
        return data, [
            ("recipient_urn", data.recipient_urn),
            *(("provider_urns", u) for u in data.provider_urns),
        ]
    if kind == "pledges":
        a, s = row.urn("academy_urn"), row.urn("supported_urn")
        if a == s:
            raise row.fail("supported_urn", "is the pledging academy itself")
        return (a, s, row.date("pledge_date"), row.text("note")), [("academy_urn", a), ("supported_urn", s)]
    year_t = row.required("survey_year")
    if not (year_t.isascii() and year_t.isdigit() and 2000 <= int(year_t) <= 2100):
        raise row.fail("survey_year", "is not a year (e.g. 2014)")
    types = [t.strip() for t in row.text("support_types").split(";") if t.strip()]
    for t in types:
        if t not in SupportType.values:
            raise row.fail("support_types", f"{t!r} is not a support type ({', '.join(SupportType.values)})")
    u = row.urn("urn")
    return (
        u,
        int(year_t),
        row.yes_no("supports_others"),
        types,
        row.yes_no("supported_before_conversion", False),
    ), [("urn", u)]


Progress = Callable[[int, "int | None", str], None]
PROGRESS_EVERY = 1000  # rows


def _no_progress(done: int, total: int | None, message: str) -> None:
    pass


def import_file(
    path: str | Path,
    actor: Actor | None = None,
    display_name: str | None = None,
    progress: Progress | None = None,
    on_written: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Check the whole file, then write it in one transaction. Raises ImportFailed (nothing written).

    Limits (settings): at most SUPPORT_IMPORT_MAX_ROWS data rows (refused as soon as one more is read), cells
    of at most MAX_FIELD characters, XLSX archives that pass `check_archive`. `progress(done,
    total, message)` is called every PROGRESS_EVERY rows while checking (total unknown) and writing."""
    path = Path(path)
    name = display_name or path.name
    report_progress = progress or _no_progress
    max_rows, max_field = settings.SUPPORT_IMPORT_MAX_ROWS, MAX_FIELD
    try:
        it = _rows(path, name)
        header = [h.strip() for h in next(it, [])]
    except ImportFailed:
        raise
    except Exception as exc:  # unreadable file (not UTF-8, not a workbook)
        raise ImportFailed(name, f"cannot be read: {exc}") from exc
    if not any(header):
        raise ImportFailed(name, "the file is empty (no header row)", row=1)
    kind = detect_kind(header, name)
    _check_header(header, kind, name)
    parsed: list[tuple[int, Any]] = []
    checks: list[tuple[int, str, int]] = []
    seen: dict[Any, int] = {}
    try:
        for n, raw in enumerate(it, start=2):
            if n - 1 > max_rows:
                raise ImportFailed(
                    name,
                    f"has more than {max_rows:,} data rows (the most one import takes); nothing was saved",
                )
            if n % PROGRESS_EVERY == 0:
                report_progress(n - 1, None, f"Checking rows: {n - 1:,} read")
            if not any(c.strip() for c in raw):
                continue
            for i, cell in enumerate(raw):
                if len(cell) > max_field:
                    col = header[i] if i < len(header) else str(i + 1)
                    raise ImportFailed(
                        name,
                        f"a field is longer than {max_field:,} characters (the largest a cell may hold)",
                        row=n,
                        column=col,
                        value=cell[:40] + "...",
                    )
            if len(raw) > len(header) and any(c.strip() for c in raw[len(header) :]):
                raise ImportFailed(name, f"has {len(raw)} fields, the header has {len(header)}", row=n)
            row = _Row(name, n, dict(zip(header, raw + [""] * (len(header) - len(raw)), strict=False)))
            value, urns = _parse(kind, row)
            key = _natural_key(kind, value)
            if key in seen:
                raise ImportFailed(name, f"repeats row {seen[key]} (same natural key)", row=n)
            seen[key] = n
            parsed.append((n, value))
            checks += [(n, col, u) for col, u in urns]
    except UnicodeDecodeError as exc:
        raise ImportFailed(name, f"is not UTF-8 text: {exc}") from exc
    known = set(School.objects.filter(urn__in={u for _, _, u in checks}).values_list("urn", flat=True))
    for n, col, u in checks:
        if u not in known:
            raise ImportFailed(name, "is not a known school URN", row=n, column=col, value=u)
    rep = ImportReport(name, kind, rows=len(parsed))
    writers: dict[str, Callable[[Any, Any], str]] = {
        "activities": _write_activity,
        "pledges": _write_pledge,
        "survey": _write_survey,
    }
    writer = writers[kind]
    report_progress(0, len(parsed), f"Writing {len(parsed):,} rows")
    with transaction.atomic():
        for i, (n, value) in enumerate(parsed, start=1):
            if i % PROGRESS_EVERY == 0:
                report_progress(i, len(parsed), f"Writing rows: {i:,} of {len(parsed):,}")
            try:
                status = writer(value, actor)
            except SupportError as exc:
                raise ImportFailed(name, str(exc), row=n) from exc
            setattr(rep, status, getattr(rep, status) + 1)
        record(
            EventKind.SUPPORT_IMPORT,
            actor=actor,
            object_type="support.import",
            object_id=name,
            data={
                "kind": kind,
                "rows": rep.rows,
                "inserted": rep.inserted,
                "updated": rep.updated,
                "unchanged": rep.unchanged,
            },
        )
        if on_written is not None:
            on_written(rep)
    return rep


def should_run_as_job(path: Path) -> bool:
    """Is this (already size-checked) file large enough to import in a background job rather than the
    request? Over SUPPORT_IMPORT_JOB_BYTES, or over SUPPORT_IMPORT_JOB_ROWS lines (CSV; for XLSX, about 200
    unpacked bytes a row)."""
    if path.stat().st_size > settings.SUPPORT_IMPORT_JOB_BYTES:
        return True
    rows = settings.SUPPORT_IMPORT_JOB_ROWS
    if path.suffix.lower() == ".csv":
        lines = 0
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                lines += chunk.count(b"\n")
        return lines - 1 > rows
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        return False  # the import itself answers the clear error
    return unpacked > rows * 200


def _natural_key(kind: str, value: Any) -> Any:
    if kind == "activities":
        from support.services import provider_key

        return (
            value.recipient_urn,
            value.support_type,
            value.start_date,
            provider_key(value.provider_urns, value.system_leader),
        )
    if kind == "pledges":
        return value[:3]
    return value[:2]


def _write_activity(data: ActivityData, actor: Actor | None) -> str:
    return _save_activity(data, actor)[1]


def _write_pledge(value: tuple[int, int, dt.date, str], actor: Actor | None) -> str:
    a, s, d, note = value
    obj = ConverterPledge.objects.filter(academy_id=a, supported_id=s, pledge_date=d).first()
    if obj is None:
        ConverterPledge.objects.create(academy_id=a, supported_id=s, pledge_date=d, note=note)
        return "inserted"
    if obj.note != note:
        obj.note = note
        obj.save(update_fields=["note"])
        return "updated"
    return "unchanged"


def _write_survey(value: tuple[int, int, bool, list[str], bool | None], actor: Actor | None) -> str:
    u, year, yes, types, before = value
    obj = SurveyResponse.objects.filter(school_id=u, survey_year=year).first()
    vals = {"supports_others": yes, "support_types": types, "supported_before_conversion": before}
    if obj is None:
        SurveyResponse.objects.create(school_id=u, survey_year=year, **vals)
        return "inserted"
    changed = {k: v for k, v in vals.items() if getattr(obj, k) != v}
    if not changed:
        return "unchanged"
    for k, v in changed.items():
        setattr(obj, k, v)
    obj.save(update_fields=list(changed))
    return "updated"
