"""Bulk import of support activities, converter pledges and survey responses from CSV or XLSX (docs/support-import.md).

Rules (the same as every import): the header is checked before anything else; every row is parsed and checked
(including that every URN is a known school) before anything is written; the write is one transaction (all or
nothing) with an audit event; re-importing the same file changes nothing (natural keys). The first error stops
the import with a message naming the file, row (spreadsheet row number, header = row 1), column and value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction

from audit.kinds import EventKind
from audit.services import record
from schoolpartners.params import CONTROL, is_id
from schoolpartners.types import Actor
from schools.models import School
from support.models import ConverterPledge, Source, SupportType, SurveyResponse
from support.services import ActivityData, SupportError, _save_activity

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


def _rows(path: Path) -> Iterator[list[str]]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            yield [
                ""
                if v is None
                else (
                    v.date().isoformat()
                    if isinstance(v, dt.datetime)
                    else v.isoformat()
                    if isinstance(v, dt.date)
                    else str(int(v))
                    if isinstance(v, float) and v.is_integer()
                    else str(v)
                )
                for v in row
            ]
        wb.close()
        return
    if path.suffix.lower() != ".csv":
        raise ImportFailed(path.name, "only .csv and .xlsx files can be imported")
    text = path.read_bytes().decode("utf-8-sig")
    yield from csv.reader(io.StringIO(text))


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


def import_file(
    path: str | Path, actor: Actor | None = None, display_name: str | None = None
) -> ImportReport:
    """Check the whole file, then write it in one transaction. Raises ImportFailed (nothing written)."""
    path = Path(path)
    name = display_name or path.name
    try:
        it = _rows(path)
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
            if not any(c.strip() for c in raw):
                continue
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
    with transaction.atomic():
        for n, value in parsed:
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
    return rep


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
