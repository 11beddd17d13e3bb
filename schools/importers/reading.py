"""Reading pack files: bytes (optionally .xz or .gz, with bounded decompression), strict decoding, tables of
text, and vectorised value parsing.

Nothing here touches the database. Every structural problem raises `StructuralError`, which names the file,
the line number (1 = header), the column and the offending value, so the whole file can be refused before
anything is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from schoolpartners import decompress

# Suppression / missing-value codes used by DfE (and EES symbols in newer files). They are missing values,
# never zero: the value becomes NULL and the code is kept in `note` where a Result row is stored.
CODES = frozenset(
    {"SUPP", "NP", "NE", "NA", "LOWCOV", "X", "SUPPMAT", "NELIG", "Z", "C", "U", ":", "NOT AVAIL"}
)


class StructuralError(Exception):
    """A file-level problem: the whole file is refused and nothing is written."""

    def __init__(
        self, file: str, line: int | str | None, column: str | None, value: object, problem: str
    ) -> None:
        self.file, self.line, self.column, self.value, self.problem = file, line, column, value, problem
        where = [file]
        if isinstance(line, int):
            where.append(f"line {line}")
        elif line:
            where.append(line)  # e.g. "record 12" in a JSON list
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {problem} (value {value!r})")


@dataclass
class Source:
    """One input file, decompressed. `name` is the file name without a trailing .xz or .gz."""

    path: Path
    name: str
    data: bytes
    sha256: str

    @classmethod
    def open(cls, path: Path) -> Source:
        """Read `path`, decompressing .xz/.gz within the caps of schoolpartners.decompress (a decompression bomb is
        refused after a few megabytes, as a StructuralError: the file is bad input, a job does not retry it)."""
        name = decompress.plain_name(path.name)
        try:
            raw = decompress.read(path)
        except decompress.DecompressionLimit as exc:
            raise StructuralError(path.name, None, None, "", str(exc).removeprefix(f"{path.name}: ")) from exc
        except ValueError as exc:
            raise StructuralError(
                path.name, None, None, path.read_bytes()[:16], str(exc).removeprefix(f"{path.name}: ")
            ) from exc
        return cls(path=path, name=name, data=raw, sha256=hashlib.sha256(raw).hexdigest())


@dataclass
class Table:
    """A file read as text cells (no type conversion yet). Row i of `df` is on line `line_of(i)`."""

    source: Source
    df: pd.DataFrame
    text: str = ""
    encoding: str = "utf-8"
    _lines: list[int] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.source.name

    def line_of(self, i: int) -> int:
        """Physical line number (1-based, header = 1) of data row position i; exact even with quoted newlines."""
        if not self.text:
            return i + 2
        if self._lines is None:
            lines = []
            reader = csv.reader(io.StringIO(self.text))
            start = 1
            for row in reader:
                if row:
                    lines.append(start)
                start = reader.line_num + 1
            self._lines = lines[1:]
        return self._lines[i] if i < len(self._lines) else i + 2

    def error(self, i: int, column: str, problem: str) -> StructuralError:
        value = self.df[column].iat[i] if column in self.df.columns else ""
        return StructuralError(self.name, self.line_of(i), column, value, problem)


# ---------------------------------------------------------------- decoding


def _locate(data: bytes, offset: int, header: list[str] | None) -> tuple[int, str | None, str]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    end = len(data) if end < 0 else end
    idx = data[start:offset].count(b",")
    column = header[idx] if header and idx < len(header) else (f"field {idx + 1}")
    fs = data.rfind(b",", start, offset) + 1 or start
    fe = data.find(b",", offset, end)
    fe = end if fe < 0 else fe
    return line, column, repr(data[max(fs, start) : fe].rstrip(b"\r"))[2:-1]


def decode(src: Source) -> tuple[str, str]:
    """Decode strictly: UTF-8 (with or without BOM), else Windows-1252. Anything else is refused."""
    data = src.data
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise StructuralError(
            src.name, 1, "(header)", data[:8].decode("latin-1"), "empty file: no header row"
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise StructuralError(
            src.name, 1, None, data[:2], "UTF-16 text is not supported; save the file as UTF-8 CSV"
        )
    header_guess = None
    first_nl = data.find(b"\n")
    try:
        header_guess = next(
            csv.reader([data[: first_nl if first_nl > 0 else len(data)].decode("cp1252", "replace")])
        )
        header_guess = [h.lstrip("\ufeff").lstrip("ï»¿") for h in header_guess]
    except (StopIteration, csv.Error):
        header_guess = None
    # Binary junk: NUL or other C0 control bytes never occur in the official CSV files.
    m = re.search(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]", data)
    if m:
        line, column, value = _locate(data, m.start(), header_guess)
        raise StructuralError(
            src.name,
            line,
            column,
            value,
            f"binary data (control byte 0x{data[m.start()]:02x}); not a text file",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            line, column, value = _locate(data, exc.start + 3, header_guess)
            raise StructuralError(
                src.name,
                line,
                column,
                value,
                f"invalid UTF-8 byte 0x{data[exc.start + 3]:02x} in a file with a UTF-8 BOM",
            ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf_exc:
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as exc:
            line, column, value = _locate(data, exc.start, header_guess)
            raise StructuralError(
                src.name,
                line,
                column,
                value,
                f"undecodable byte 0x{data[exc.start]:02x}: the file is neither UTF-8 nor Windows-1252",
            ) from utf_exc


# ---------------------------------------------------------------- tables

_FIELDS_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def header_of(src: Source) -> list[str]:
    """The header row of a CSV file (decoded), or the keys of a JSON list, for kind detection."""
    if src.name.lower().endswith(".json"):
        try:
            obj = json.loads(src.data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            return []
        return list(obj[0].keys()) if isinstance(obj, list) and obj and isinstance(obj[0], dict) else []
    if src.name.lower().endswith(".xlsx"):
        return xlsx_header(src)
    if not src.data.removeprefix(b"\xef\xbb\xbf").strip():
        decode(src)  # raises the "empty file" error
    nl = src.data.find(b"\n")
    head = src.data[: nl if nl >= 0 else len(src.data)].removeprefix(b"\xef\xbb\xbf")
    try:
        first = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            first = head.decode("cp1252")
        except UnicodeDecodeError:
            decode(src)  # raises the located encoding error
            raise
    try:
        return [h.strip() for h in next(csv.reader([first.rstrip("\r")]))]
    except (StopIteration, csv.Error):
        return []


def check_header(name: str, header: list[str], required: list[str] | list[list[str]]) -> dict[str, str]:
    """Check required columns (each item: a name or a list of aliases). Returns {canonical: actual header}."""
    seen: set[str] = set()
    for i, h in enumerate(header):
        if h in seen:
            raise StructuralError(name, 1, h, h, f"duplicate column name (column {i + 1})")
        seen.add(h)
    found: dict[str, str] = {}
    missing = []
    for item in required:
        aliases = [item] if isinstance(item, str) else item
        hit = next((a for a in aliases if a in seen), None)
        if hit is None:
            missing.append(aliases[0] if len(aliases) == 1 else "/".join(aliases))
        else:
            found[aliases[0]] = hit
    if missing:
        raise StructuralError(
            name, 1, missing[0], ",".join(header)[:200], f"missing required column(s) {', '.join(missing)}"
        )
    return found


def read_csv(src: Source, required: list[str] | list[list[str]]) -> tuple[Table, dict[str, str]]:
    """Read a CSV as strings. Header checked before any data is read; ragged rows are refused."""
    text, encoding = decode(src)
    first = text.split("\n", 1)[0].rstrip("\r")
    header = [h.strip() for h in next(csv.reader([first]))]
    cols = check_header(src.name, header, required)
    _check_field_counts(src.name, text, header)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            skipinitialspace=False,
        )
    except pd.errors.ParserError as exc:
        m = _FIELDS_RE.search(str(exc))
        if m:
            want, line, saw = (int(g) for g in m.groups())
            bad = text.split("\n")[line - 1].rstrip("\r") if line - 1 < len(text.split("\n")) else ""
            raise StructuralError(
                src.name,
                line,
                f"(after {header[-1]!r})",
                bad[:120],
                f"row has {saw} fields, the header has {want}",
            ) from exc
        raise StructuralError(src.name, None, None, "", f"unreadable CSV ({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise StructuralError(src.name, None, None, "", "empty file") from exc
    df.columns = [c.strip() for c in df.columns]
    table = Table(src, df, text, encoding)
    if df.empty:
        raise StructuralError(src.name, 2, None, "", "no data rows after the header")
    return table, cols


def _check_field_counts(name: str, text: str, header: list[str]) -> None:
    """Refuse a row with fewer or more fields than the header (pandas would silently pad a short row)."""
    n = len(header)
    lines = text.split("\n")
    quoted = '"' in text
    if quoted and any(line.count('"') % 2 for line in lines):
        # A quoted field spans lines: count fields record by record with the csv module.
        reader = csv.reader(io.StringIO(text))
        next(reader, None)
        start = 2
        for row in reader:
            if row and len(row) != n:
                _field_error(name, start, header, row, n)
            start = reader.line_num + 1
        return
    for i, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line:
            continue
        cnt = line.count(",") + 1
        if cnt != n or (quoted and '"' in line):
            row = next(csv.reader([line])) if '"' in line else line.split(",")
            if len(row) != n:
                _field_error(name, i, header, row, n)


def _field_error(name: str, line: int, header: list[str], row: list[str], n: int) -> None:
    value = ",".join(row)[:120]
    if len(row) < n:
        raise StructuralError(
            name, line, header[len(row)], value, f"truncated row: {len(row)} fields, the header has {n}"
        )
    raise StructuralError(
        name, line, f"(after {header[-1]!r})", value, f"row has {len(row)} fields, the header has {n}"
    )


def xlsx_header(src: Source) -> list[str]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(src.data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any failure means "not a workbook"
        return []
    ws = wb.worksheets[0]
    for row in ws.iter_rows(max_row=1, values_only=True):
        return [str(v).strip() if v is not None else "" for v in row]
    return []


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def read_xlsx(src: Source, required: list[str] | list[list[str]]) -> tuple[Table, dict[str, str]]:
    """Read the first sheet of a workbook as text cells (openpyxl, read-only), like the CSV conversion did."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(src.data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        raise StructuralError(
            src.name, None, None, src.data[:16], f"not a readable .xlsx workbook ({exc.__class__.__name__})"
        ) from exc
    ws = wb["england"] if "england" in wb.sheetnames else wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    try:
        header = [_cell_text(v).strip() for v in next(rows)]
    except StopIteration as exc:
        raise StructuralError(src.name, None, None, "", "empty workbook") from exc
    while header and header[-1] == "":
        header.pop()
    cols = check_header(src.name, header, required)
    n = len(header)
    data = []
    for r in rows:
        cells = [_cell_text(v) for v in r[:n]]
        if not any(cells):
            continue
        data.append(cells + [""] * (n - len(cells)))
    wb.close()
    df = pd.DataFrame(data, columns=header, dtype=object)
    return Table(src, df), cols


def read_json_records(src: Source, required: list[str]) -> tuple[Table, list[dict[str, object]]]:
    try:
        text = src.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StructuralError(
            src.name, None, None, src.data[exc.start : exc.start + 4], "JSON must be UTF-8"
        ) from exc
    if not text.strip():
        raise StructuralError(src.name, None, None, "", "empty file")
    try:
        obj = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise StructuralError(
            src.name,
            line,
            None,
            text[getattr(exc, "pos", 0) : getattr(exc, "pos", 0) + 20],
            f"invalid JSON ({exc})",
        ) from exc
    if not isinstance(obj, list) or not all(isinstance(o, dict) for o in obj):
        raise StructuralError(src.name, None, None, type(obj).__name__, "expected a JSON list of objects")
    for i, o in enumerate(obj):
        for k in required:
            if k not in o:
                raise StructuralError(src.name, f"record {i + 1}", k, None, f"record {i + 1} lacks key {k!r}")
    return Table(src, pd.DataFrame()), obj


# ---------------------------------------------------------------- values


def blank_or_code(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    st = s.fillna("").astype(str).str.strip()
    is_blank = st == ""
    is_code = st.str.upper().isin(CODES)
    return is_blank, is_code


def numbers(
    table: Table, column: str, *, integer: bool = False, series: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """Parse a column: "44.98%" -> 44.98, codes/blank -> NaN. Returns (values, notes) where notes holds the code.

    A cell that is neither blank, a code nor a number is a structural error naming line, column and value.
    """
    raw = table.df[column] if series is None else series
    # Parse each distinct cell text once (columns repeat values a lot), then spread back to the rows.
    codes_idx, uniq = pd.factorize(raw.fillna(""), use_na_sentinel=False)
    u = pd.Series(uniq, dtype=object).astype(str).str.strip()
    is_blank = u == ""
    upper = u.str.upper()
    is_code = upper.isin(CODES)
    t = u.str.replace(",", "", regex=False)
    t = t.where(~t.str.endswith("%"), t.str[:-1])
    num = pd.to_numeric(t.where(~(is_blank | is_code), None), errors="coerce").astype(float)
    bad = num.isna() & ~is_blank & ~is_code
    if integer:
        bad |= num.notna() & ((num % 1) != 0)
    if bad.any():
        bad_rows = bad.to_numpy()[codes_idx]
        i = int(np.flatnonzero(bad_rows)[0])
        raise StructuralError(
            table.name,
            table.line_of(i),
            column,
            u.iat[codes_idx[i]],
            "not a whole number" if integer else "not a number",
        )
    notes = upper.where(is_code, "").str.replace("NOT AVAIL", "NOTAVAIL", regex=False)
    return (
        pd.Series(num.to_numpy()[codes_idx], index=raw.index),
        pd.Series(notes.to_numpy()[codes_idx], index=raw.index, dtype=object),
    )


def dates(table: Table, column: str, fmt: str) -> pd.Series:
    """Parse a date column with one strict format ("%Y%m%d", "%d-%m-%Y", "%Y-%m-%d"). Blank -> None. ISO strings out."""
    s = table.df[column].fillna("").astype(str).str.strip()
    is_blank = s == ""
    d = pd.to_datetime(s.where(~is_blank, None), format=fmt, errors="coerce")
    bad = d.isna() & ~is_blank
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise StructuralError(
            table.name,
            table.line_of(i),
            column,
            s.iat[i],
            f"not a valid date (expected {fmt.replace('%', '')})",
        )
    return d.dt.strftime("%Y-%m-%d").where(~is_blank, None)


def urns(table: Table, column: str, *, unique: bool, drop: pd.Series | None = None) -> pd.Series:
    """Parse the URN column as integers (structural error if not), optionally refusing duplicates."""
    series = None if drop is None else table.df[column].where(~drop, "")
    values, notes = numbers(table, column, integer=True, series=series)
    missing = values.isna()
    if drop is not None:
        missing &= ~drop
    if missing.any():
        i = int(np.flatnonzero(missing.to_numpy())[0])
        raise StructuralError(table.name, table.line_of(i), column, table.df[column].iat[i], "missing URN")
    if unique:
        v = values if drop is None else values.where(~drop)
        dup = v.duplicated(keep="first") & v.notna()
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            first = int(np.flatnonzero((v == v.iat[i]).to_numpy())[0])
            raise StructuralError(
                table.name,
                table.line_of(i),
                column,
                table.df[column].iat[i],
                f"duplicate URN (first on line {table.line_of(first)}); this file has one row per URN",
            )
    return values.astype("Int64")


_YEAR_PAIR = re.compile(r"(20\d\d)[-_](?:20)?(\d\d)(?!\d)")
_YEAR_ONE = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
_DATE = re.compile(r"(20\d\d)-?(\d\d)-?(\d\d)")


def year_from_name(name: str) -> int | None:
    """Year the academic year ends: '2018-19' -> 2019, '2024-25' -> 2025, 'ks2_perf_2016' -> 2016."""
    m = _YEAR_PAIR.search(name)
    if m:
        start, end = int(m.group(1)), int(m.group(2))
        if (start + 1) % 100 == end:
            return start + 1
    m = _YEAR_ONE.search(name)
    if m:
        return int(m.group(1))
    return None


def date_from_name(name: str) -> dt.date | None:
    for m in _DATE.finditer(name):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return None
