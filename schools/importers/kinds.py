"""The file kinds of the data pack: how each is recognised, parsed, validated and written.

Every kind's `prepare(src, ctx)` reads and validates the whole file without writing anything (structural
errors raise `StructuralError`) and returns a `write()` closure that the runner calls inside one transaction.
Data-level problems (a URN not in the register) are row rejections counted by reason in `ctx.rejected`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import models as djm

from partnerships.models import Membership, Partnership, PartnershipResult
from schools.importers import db
from schools.importers.reading import (
    CODES,
    Source,
    StructuralError,
    Table,
    date_from_name,
    dates,
    numbers,
    read_csv,
    read_json_records,
    read_xlsx,
    urns,
    year_from_name,
)
from schools.measures import MEASURES
from schools.models import (
    CensusRecord,
    Inspection,
    LocalAuthority,
    NationalAverage,
    Phase,
    Result,
    School,
    SchoolLink,
    Status,
)

Writer = Callable[[], db.Counts]

T_SCHOOL = School._meta.db_table
T_RESULT = Result._meta.db_table
T_CENSUS = CensusRecord._meta.db_table
T_NATIONAL = NationalAverage._meta.db_table
T_INSPECTION = Inspection._meta.db_table
T_LINK = SchoolLink._meta.db_table
T_LA = LocalAuthority._meta.db_table
T_PARTNERSHIP = Partnership._meta.db_table
T_MEMBERSHIP = Membership._meta.db_table
T_PRESULT = PartnershipResult._meta.db_table


@dataclass
class Ctx:
    """Options and running totals for one file import."""

    year: int | None = None  # --year override (year the academic year ends)
    as_of: dt.date | None = None  # --as-of override for register/coordinate files
    rows_read: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    details: dict[str, object] = field(default_factory=dict)
    kind_label: str = ""


# --------------------------------------------------------------------------- helpers


def _maxlen(model: type[djm.Model]) -> dict[str, int]:
    return {
        f.column: f.max_length
        for f in model._meta.concrete_fields
        if isinstance(f, djm.CharField) and f.max_length
    }


def _clip(df: pd.DataFrame, model: type[djm.Model]) -> pd.DataFrame:
    for col, n in _maxlen(model).items():
        if col in df.columns and df[col].dtype == object:
            df[col] = [v[:n] if isinstance(v, str) and len(v) > n else v for v in df[col].tolist()]
    return df


def _char_defaults(model: type[djm.Model]) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in model._meta.concrete_fields:
        if f.primary_key and isinstance(f, djm.AutoField):
            continue
        if isinstance(f, djm.CharField | djm.TextField):
            out[f.column] = ""
        elif isinstance(f, djm.JSONField):
            out[f.column] = "{}"
        elif isinstance(f, djm.BooleanField) and not f.null:
            out[f.column] = bool(f.default) if f.default is not djm.NOT_PROVIDED else False
        else:
            out[f.column] = None
    return out


def known_schools() -> pd.DataFrame:
    return db.query_frame(f"SELECT urn, type_group FROM {T_SCHOOL}")


def reject_unknown(ctx: Ctx, urn: pd.Series, known: set[int], reason: str = "unknown URN") -> np.ndarray:
    ok = urn.isin(known).to_numpy(dtype=bool)
    n = int((~ok).sum())
    if n:
        ctx.rejected[reason] += n
    return ok


def academic_year_end(year: int) -> dt.date:
    return dt.date(year, 8, 31)


def file_year(src: Source, ctx: Ctx) -> int:
    y = ctx.year or year_from_name(src.name)
    if y is None:
        raise StructuralError(
            src.name, None, None, src.name, "cannot tell the academic year from the file name; pass --year"
        )
    return y


def _strip(s: pd.Series) -> pd.Series:
    codes, uniq = pd.factorize(s.fillna(""), use_na_sentinel=False)
    u = pd.Series(uniq, dtype=object).astype(str).str.strip().to_numpy()
    return pd.Series(u[codes], index=s.index, dtype=object)


# --------------------------------------------------------------------------- kinds registry


@dataclass
class Kind:
    name: str
    label: str
    order: int  # dependency order for --all
    required: list[str] | list[list[str]]
    prepare: Callable[[Source, Ctx], Writer]
    name_hint: re.Pattern[str] | None = None
    exts: tuple[str, ...] = (".csv",)

    def matches(self, header: list[str], filename: str) -> bool:
        if not filename.lower().endswith(self.exts):
            return False
        hs = set(header)
        for item in self.required:
            aliases = [item] if isinstance(item, str) else item
            if not any(a in hs for a in aliases):
                return False
        return self.name_hint is None or bool(self.name_hint.search(filename.lower()))


KINDS: dict[str, Kind] = {}


def kind(
    name: str,
    label: str,
    order: int,
    required: list[str] | list[list[str]],
    *,
    name_hint: str | None = None,
    exts: tuple[str, ...] = (".csv",),
) -> Callable[[Callable[[Source, Ctx], Writer]], Callable[[Source, Ctx], Writer]]:
    def deco(fn: Callable[[Source, Ctx], Writer]) -> Callable[[Source, Ctx], Writer]:
        KINDS[name] = Kind(
            name, label, order, required, fn, re.compile(name_hint) if name_hint else None, exts
        )
        return fn

    return deco


# --------------------------------------------------------------------------- local authorities

# LA codes used by 2017/18-2018/19 files but absent from the 2024/25 LA table (la_and_region_codes_meta.csv).
# Each retired LA gets the 2024/25 region of the authority that replaced it; 702/704 are outside England.
RETIRED_LAS: list[tuple[int, str, str, str]] = [
    (909, "Cumbria", "6", "North West A"),  # split 2023 into 942 Cumberland and 943 Westmorland and Furness
    (928, "Northamptonshire", "16", "East Midlands B"),  # split 2021 into 940/941 North/West Northamptonshire
    (835, "Dorset", "43", "South West A"),  # replaced 2019 by 838 Dorset (new unitary)
    (836, "Poole", "43", "South West A"),  # merged 2019 into 839 Bournemouth, Christchurch and Poole
    (837, "Bournemouth", "43", "South West A"),  # merged 2019 into 839
    (702, "Service Children's Education", "", "Outside England"),
    (704, "Overseas establishments", "", "Outside England"),
]
RETIRED_SOURCE = "schools/importers/kinds.py RETIRED_LAS"


@kind("la_codes", "LA and region codes", 10, ["LEA", "LA Name", "REGION", "REGION NAME"])
def prepare_la(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, ["LEA", "LA Name", "REGION", "REGION NAME"])
    df = table.df
    ctx.rows_read = len(df)
    codes, _n = numbers(table, "LEA", integer=True)
    blank = codes.isna()
    if blank.any():
        i = int(np.flatnonzero(blank.to_numpy())[0])
        raise table.error(i, "LEA", "missing LA code")
    dup = codes.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise table.error(i, "LEA", "duplicate LA code")
    out = pd.DataFrame(
        {
            "code": codes.astype(int),
            "name": _strip(df["LA Name"]),
            "region_code": _strip(df["REGION"]),
            "region_name": _strip(df["REGION NAME"]),
            "retired": False,
            "source": src.name,
        }
    )
    retired = pd.DataFrame(RETIRED_LAS, columns=["code", "name", "region_code", "region_name"])
    retired = retired[~retired["code"].isin(out["code"])].assign(retired=True, source=RETIRED_SOURCE)
    ctx.details["retired codes added"] = len(retired)
    frame = _clip(pd.concat([out, retired], ignore_index=True), LocalAuthority)

    def write() -> db.Counts:
        existing = db.query_frame(f"SELECT code, name, region_code, region_name, retired, source FROM {T_LA}")
        return db.sync(T_LA, ["code"], frame, existing)

    return write


def la_table() -> pd.DataFrame:
    return db.query_frame(f"SELECT code, name, region_name FROM {T_LA}")


# --------------------------------------------------------------------------- register

SHARED = ["name", "status", "phase", "gender", "la_name", "la_code", "region_name"]

SPINE_COLS = [
    "URN",
    "LA",
    "ESTAB",
    "LAESTAB",
    "SCHNAME",
    "OTHERSCHNAME",
    "STREET",
    "LOCALITY",
    "ADDRESS3",
    "TOWN",
    "POSTCODE",
    "TELNUM",
    "ICLOSE",
    "OPENDATE",
    "CLOSEDATE",
    "ISNEW",
    "MINORGROUP",
    "NFTYPE",
    "ISPRIMARY",
    "ISSECONDARY",
    "ISPOST16",
    "AGEL",
    "AGEH",
    "GENDER",
    "SIXFGENDER",
    "RELDENOM",
    "ADMPOL",
]

MINORGROUP_TYPE = {
    "academy": "academy",
    "maintained school": "maintained",
    "independent school": "independent",
    "special school": "special",
    "college": "college",
}


def type_group(minor: pd.Series, nftype: pd.Series) -> pd.Series:
    """academy / maintained / independent / special / college / other, from MINORGROUP, else NFTYPE."""
    m = minor.str.lower().map(MINORGROUP_TYPE)
    nf = nftype.str.lower()
    guess = np.select(
        [
            nf.str.contains("special"),
            nf.str.contains("independent"),
            nf.str.contains("college"),
            nf.str.contains("academy|free school|university technical|studio", regex=True),
            nf.str.contains("community|voluntary|foundation", regex=True),
        ],
        ["special", "independent", "college", "academy", "maintained"],
        default="other",
    )
    return m.fillna(pd.Series(guess, index=minor.index))


def phase_from_flags(
    pri: pd.Series, sec: pd.Series, p16: pd.Series, agel: pd.Series, ageh: pd.Series
) -> pd.Series:
    """Phase from ISPRIMARY/ISSECONDARY/ISPOST16 and the age range.

    Both flags: middle school when the range sits within 7-14 (deemed primary if it ends by 12, else deemed
    secondary), otherwise all-through. Neither flag: 16 plus if post-16 only, nursery if it ends by 5.
    """
    p, s, x = pri == 1, sec == 1, p16 == 1
    lo, hi = agel.fillna(-1), ageh.fillna(99)
    middle = p & s & (lo >= 7) & (hi <= 14)
    return pd.Series(
        np.select(
            [middle & (hi <= 12), middle, p & s, p, s, x, hi <= 5],
            [
                Phase.MIDDLE_PRIMARY,
                Phase.MIDDLE_SECONDARY,
                Phase.ALL_THROUGH,
                Phase.PRIMARY,
                Phase.SECONDARY,
                Phase.SIXTEEN_PLUS,
                Phase.NURSERY,
            ],
            default=Phase.NOT_APPLICABLE,
        ),
        index=pri.index,
    )


def _flag(table: Table, col: str) -> pd.Series:
    v, _ = numbers(table, col, integer=True)
    return v


def outward(postcode: pd.Series) -> pd.Series:
    pc = postcode.str.upper().str.strip()
    district = pc.str.split(" ").str[0].where(pc.str.contains(" "), pc.str[:-3])
    return district.where(pc.str.len() >= 5, "").fillna("").str[:5]


@kind("spine", "Register: DfE performance-tables spine", 20, SPINE_COLS, exts=(".csv", ".xlsx"))
def prepare_spine(src: Source, ctx: Ctx) -> Writer:
    reader = read_xlsx if src.name.lower().endswith(".xlsx") else read_csv
    table, _ = reader(src, SPINE_COLS)
    df = table.df
    ctx.rows_read = len(df)
    urn = urns(table, "URN", unique=True)
    la, _ = numbers(table, "LA", integer=True)
    estab, _ = numbers(table, "ESTAB", integer=True)
    laestab, _ = numbers(table, "LAESTAB", integer=True)
    agel, _ = numbers(table, "AGEL", integer=True)
    ageh, _ = numbers(table, "AGEH", integer=True)
    pri, sec, p16, isnew = (
        _flag(table, "ISPRIMARY"),
        _flag(table, "ISSECONDARY"),
        _flag(table, "ISPOST16"),
        _flag(table, "ISNEW"),
    )
    iclose, _ = numbers(table, "ICLOSE", integer=True)
    bad = iclose.notna() & ~iclose.isin([1, 2, 3])
    if bad.any():
        raise table.error(
            int(np.flatnonzero(bad.to_numpy())[0]),
            "ICLOSE",
            "ICLOSE must be 1 (open), 2 (closed) or 3 (pending closure)",
        )
    opend, closed = dates(table, "OPENDATE", "%Y-%m-%d"), dates(table, "CLOSEDATE", "%Y-%m-%d")
    s = {c: _strip(df[c]) for c in SPINE_COLS}
    postcode = s["POSTCODE"].str.upper()
    all_dates = pd.concat([opend.dropna(), closed.dropna()])
    as_of = (
        ctx.as_of
        or (dt.date.fromisoformat(all_dates.max()) if len(all_dates) else None)
        or date_from_name(src.name)
    )
    if as_of is None:
        y = year_from_name(src.name)
        as_of = dt.date(y, 1, 1) if y else dt.date.today()
    ctx.details["register as of"] = as_of.isoformat()

    def boolcol(v: pd.Series) -> pd.Series:
        return v.map({1.0: True, 0.0: False}).astype("boolean")

    frame = pd.DataFrame(
        {
            "urn": urn.astype(int),
            "name": s["SCHNAME"],
            "other_name": s["OTHERSCHNAME"],
            "la_code": la.astype("Int64"),
            "estab": estab.astype("Int64"),
            "laestab": laestab.astype("Int64"),
            "la_name": "",
            "region_name": "",
            "street": s["STREET"],
            "locality": s["LOCALITY"],
            "address3": s["ADDRESS3"],
            "town": s["TOWN"],
            "postcode": postcode,
            "postcode_district": outward(postcode),
            "telephone": s["TELNUM"],
            "status": iclose.map(
                {1.0: Status.OPEN.value, 2.0: Status.CLOSED.value, 3.0: Status.PENDING_CLOSURE.value}
            ).fillna(""),
            "open_date": opend,
            "close_date": closed,
            "is_new": boolcol(isnew),
            "minor_group": s["MINORGROUP"],
            "establishment_type": s["NFTYPE"],
            "type_group": type_group(s["MINORGROUP"], s["NFTYPE"]),
            "phase": phase_from_flags(pri, sec, p16, agel, ageh).astype(str),
            "is_primary": boolcol(pri),
            "is_secondary": boolcol(sec),
            "is_post16": boolcol(p16),
            "age_low": agel.astype("Int64"),
            "age_high": ageh.astype("Int64"),
            "gender": s["GENDER"],
            "sixth_form_gender": s["SIXFGENDER"],
            "religious_character": s["RELDENOM"],
            "admissions_policy": s["ADMPOL"],
        }
    )

    def la_by_code(f: pd.DataFrame) -> None:
        las = la_table()
        f["la_name"] = f["la_code"].map(dict(zip(las["code"], las["name"], strict=True))).fillna("")
        f["region_name"] = (
            f["la_code"].map(dict(zip(las["code"], las["region_name"], strict=True))).fillna("")
        )
        unknown_la = sorted({int(c) for c in f.loc[f["la_code"].notna() & (f["la_name"] == ""), "la_code"]})
        if unknown_la:
            ctx.details["LA codes without a LocalAuthority row"] = unknown_la[:20]

    return _register_writer(_clip(frame, School), as_of, src.name, ctx, la_by_code)


GIAS_COLS: list[list[str]] = [
    ["urn", "URN"],
    ["name", "EstablishmentName"],
    ["local_authority_name", "LA (name)"],
    ["phase_of_education", "PhaseOfEducation (name)"],
    ["gender", "Gender (name)"],
    ["status", "EstablishmentStatus (name)"],
]
GIAS_PHASE = {
    "nursery": Phase.NURSERY,
    "primary": Phase.PRIMARY,
    "middle deemed primary": Phase.MIDDLE_PRIMARY,
    "middle deemed secondary": Phase.MIDDLE_SECONDARY,
    "secondary": Phase.SECONDARY,
    "all-through": Phase.ALL_THROUGH,
    "all through": Phase.ALL_THROUGH,
    "16 plus": Phase.SIXTEEN_PLUS,
    "not applicable": Phase.NOT_APPLICABLE,
}
GIAS_STATUS = {
    "open": Status.OPEN,
    "closed": Status.CLOSED,
    "open, but proposed to close": Status.PENDING_CLOSURE,
    "open but proposed to close": Status.PENDING_CLOSURE,
    "proposed to open": Status.PROPOSED_TO_OPEN,
}


@kind("gias", "Register: GIAS establishments (basic or full export)", 30, GIAS_COLS)
def prepare_gias(src: Source, ctx: Ctx) -> Writer:
    table, cols = read_csv(src, GIAS_COLS)
    df = table.df
    ctx.rows_read = len(df)
    urn = urns(table, cols["urn"], unique=True)
    get = {k: _strip(df[v]) for k, v in cols.items()}
    phase = get["phase_of_education"].str.lower().map(GIAS_PHASE)
    bad = phase.isna() & (get["phase_of_education"] != "")
    if bad.any():
        raise table.error(
            int(np.flatnonzero(bad.to_numpy())[0]), cols["phase_of_education"], "unknown phase of education"
        )
    status = get["status"].str.lower().map(GIAS_STATUS)
    bad = status.isna() & (get["status"] != "")
    if bad.any():
        raise table.error(
            int(np.flatnonzero(bad.to_numpy())[0]), cols["status"], "unknown establishment status"
        )
    as_of = ctx.as_of or date_from_name(src.name)
    if as_of is None:
        raise StructuralError(
            src.name, None, None, src.name, "cannot tell the register date from the file name; pass --as-of"
        )
    ctx.details["register as of"] = as_of.isoformat()
    frame = pd.DataFrame(
        {
            "urn": urn.astype(int),
            "name": get["name"],
            "la_name": get["local_authority_name"],
            "la_code": pd.array([None] * len(df), dtype="Int64"),
            "region_name": "",
            "phase": phase.astype(object).fillna("").map(str),
            "gender": get["gender"],
            "status": status.astype(object).fillna("").map(str),
        }
    )

    def la_by_name(f: pd.DataFrame) -> None:
        las = la_table()
        by_name = {
            str(n).strip().lower(): (int(c), r)
            for c, n, r in zip(las["code"], las["name"], las["region_name"], strict=True)
        }
        canonical = {str(n).strip().lower(): str(n).strip() for n in las["name"]}
        # GIAS names retired authorities "Pre-LGR 2021 Northamptonshire", "Pre-LGR 2023 Cumbria".
        key = f["la_name"].str.lower().str.replace(r"^pre-lgr \d{4} ", "", regex=True)
        f["la_code"] = key.map(lambda k: by_name.get(k, (None, ""))[0]).astype("Int64")
        f["region_name"] = key.map(lambda k: by_name.get(k, (None, ""))[1])
        f["la_name"] = key.map(canonical).fillna(f["la_name"])  # one spelling per LA, as in LocalAuthority

    return _register_writer(_clip(frame, School), as_of, src.name, ctx, la_by_name)


def _blank(s: pd.Series) -> np.ndarray:
    return (s.isna() | (s.astype(object).map(lambda v: isinstance(v, str) and v == ""))).to_numpy(dtype=bool)


def _register_writer(
    frame: pd.DataFrame, as_of: dt.date, source: str, ctx: Ctx, resolve_la: Callable[[pd.DataFrame], None]
) -> Writer:
    """Merge register rows: for the SHARED fields the newest source wins (by register_as_of), whatever the
    import order; a blank value never overwrites a known one; fields only this file has are always written.
    LA names/codes and regions are looked up in LocalAuthority at write time (prepare never reads the database)."""
    frame = frame.assign(register_source=source, register_as_of=as_of.isoformat())

    def write() -> db.Counts:
        nonlocal frame
        frame = frame.copy()
        resolve_la(frame)
        cols = list(frame.columns)
        existing = db.query_frame(f"SELECT {', '.join(cols)} FROM {T_SCHOOL}")
        if existing.empty:
            merged = frame
        else:
            existing["urn"] = existing["urn"].astype(int)
            ex = existing.set_index("urn")
            inc = frame.set_index("urn")
            common = inc.index.intersection(ex.index)
            e, i = ex.loc[common], inc.loc[common].copy()
            ex_asof = pd.to_datetime(
                e["register_as_of"].astype(object).map(lambda v: None if v is None else str(v))
            )
            newer = (ex_asof.isna() | (ex_asof <= pd.Timestamp(as_of))).to_numpy(dtype=bool)
            for f in SHARED:
                if f not in i.columns:
                    continue
                iv, ev = i[f].astype(object), e[f].astype(object)
                ib, eb = _blank(iv), _blank(ev)
                take_new = np.where(newer, ~ib, eb & ~ib)
                i[f] = np.where(take_new, iv.to_numpy(), ev.to_numpy())
            for f in ("register_source", "register_as_of"):
                i[f] = np.where(
                    newer,
                    i[f].to_numpy(),
                    e[f].astype(object).map(lambda v: None if v is None else str(v)).to_numpy(),
                )
            merged = pd.concat([i, inc.loc[inc.index.difference(ex.index)]]).reset_index()
            merged["la_code"] = pd.to_numeric(merged["la_code"], errors="coerce").astype("Int64")
        counts = db.sync(T_SCHOOL, ["urn"], merged[cols], existing, insert_defaults=_char_defaults(School))
        return counts

    return write


# --------------------------------------------------------------------------- links


LINK_COLS = ["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"]


@kind("links", "GIAS predecessor/successor links", 40, LINK_COLS)
def prepare_links(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, LINK_COLS)
    df = table.df
    ctx.rows_read = len(df)
    urn = urns(table, "URN", unique=False)
    link = urns(table, "LinkURN", unique=False)
    est = dates(table, "LinkEstablishedDate", "%d-%m-%Y")
    frame = pd.DataFrame(
        {
            "urn": urn.astype(int),
            "link_urn": link.astype(int),
            "link_name": _strip(df["LinkName"]),
            "link_type": _strip(df["LinkType"]),
            "established": est,
            "source": src.name,
        }
    )
    frame = _clip(frame, SchoolLink)
    blank_type = frame["link_type"] == ""
    if blank_type.any():
        raise table.error(int(np.flatnonzero(blank_type.to_numpy())[0]), "LinkType", "missing link type")
    exact = frame.duplicated()
    ctx.details["exact duplicate rows collapsed"] = int(exact.sum())
    keyed = frame[~exact]
    dup = keyed.duplicated(["urn", "link_urn", "link_type"])
    if dup.any():
        i = int(keyed.index[np.flatnonzero(dup.to_numpy())[0]])
        raise table.error(i, "LinkURN", "duplicate key (URN, LinkURN, LinkType) with different values")

    def write() -> db.Counts:
        existing = db.query_frame(
            f"SELECT urn, link_urn, link_type, link_name, established, source FROM {T_LINK}"
        )
        return db.sync(T_LINK, ["urn", "link_urn", "link_type"], keyed, existing)

    return write


# --------------------------------------------------------------------------- coordinates

# Same-date coordinate sources are ranked so the outcome never depends on import order.
COORD_PRIORITY = [
    (re.compile(r"coords"), 3),
    (re.compile(r"secondary.*\.json|\.json$"), 2),
    (re.compile(r"ks2final"), 1),
    (re.compile(r"ks4final"), 0),
]


def coord_priority(name: str) -> int:
    return next((p for rx, p in COORD_PRIORITY if rx.search(name.lower())), -1)


def coords_writer(
    urn: pd.Series, lat: pd.Series, lon: pd.Series, source: str, as_of: dt.date, ctx: Ctx
) -> Callable[[], int]:
    """Set School coordinates from this file where it is at least as new (then as preferred) as the stored source."""
    f = pd.DataFrame({"urn": urn.astype("Int64"), "latitude": lat, "longitude": lon}).dropna()
    ok_range = f["latitude"].between(-90, 90) & f["longitude"].between(-180, 180)
    if (~ok_range).any():
        ctx.rejected["coordinates out of range"] += int((~ok_range).sum())
    f = f[ok_range].drop_duplicates("urn")
    f["urn"] = f["urn"].astype(int)

    def write() -> int:
        ex = db.query_frame(f"SELECT urn, latitude, longitude, coord_source, coord_as_of FROM {T_SCHOOL}")
        ex["urn"] = ex["urn"].astype(int)
        g = f[f["urn"].isin(set(ex["urn"]))]
        e = ex.set_index("urn").loc[g["urn"]]
        ex_date = pd.to_datetime(e["coord_as_of"].astype(object).map(lambda v: None if v is None else str(v)))
        ex_prio = e["coord_source"].fillna("").map(lambda s: coord_priority(s) if s else -2)
        mine = pd.Timestamp(as_of)
        prio = coord_priority(source)
        take = (ex_date.isna() | (ex_date < mine) | ((ex_date == mine) & (ex_prio <= prio))).to_numpy(
            dtype=bool
        )
        upd = g[take].assign(coord_source=source, coord_as_of=as_of.isoformat())
        c = db.sync(T_SCHOOL, ["urn"], upd, ex, allow_insert=False)
        ctx.details["coordinates set"] = c.updated
        ctx.details["coordinates kept from a newer or preferred source"] = int((~take).sum())
        return c.updated

    return write


@kind("coords", "School coordinates (URN, LAT, LON)", 50, ["URN", "LAT", "LON"])
def prepare_coords(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, ["URN", "LAT", "LON"])
    ctx.rows_read = len(table.df)
    urn = urns(table, "URN", unique=True)
    lat, _ = numbers(table, "LAT")
    lon, _ = numbers(table, "LON")
    as_of = ctx.as_of or academic_year_end(file_year(src, ctx))

    def write() -> db.Counts:
        known = set(known_schools()["urn"].astype(int))
        ok = reject_unknown(ctx, urn, known)
        blank = (lat.isna() | lon.isna()).to_numpy() & ok
        if blank.any():
            ctx.rejected["no coordinates"] += int(blank.sum())
        w = coords_writer(urn[ok], lat[ok], lon[ok], src.name, as_of, ctx)
        n = w()
        return db.Counts(updated=n, unchanged=int(ok.sum()) - int(blank.sum()) - n)

    return write


# --------------------------------------------------------------------------- census

CENSUS_MAP: list[tuple[list[str], str, bool]] = [  # (aliases, column, integer)
    (["NOR"], "nor", True),
    (["NORG"], "nor_girls", True),
    (["NORB"], "nor_boys", True),
    (["PNORG"], "pct_girls", False),
    (["PNORB"], "pct_boys", False),
    (["TSENELSE"], "sen_ehcp", True),
    (["PSENELSE"], "pct_sen_ehcp", False),
    (["TSENELK"], "sen_support", True),
    (["PSENELK"], "pct_sen_support", False),
    (["NUMEAL"], "eal", True),
    (["NUMENGFL"], "english_first", True),
    (["NUMUNCFL"], "language_unclassified", True),
    (["PNUMEAL"], "pct_eal", False),
    (["PNUMENGFL"], "pct_english_first", False),
    (["PNUMUNCFL", "PNUMUNCLF"], "pct_language_unclassified", False),
    (["NUMFSM"], "fsm", True),
    (["NUMFSMEVER"], "fsm_ever", True),
    (["PNUMFSMEVER"], "pct_fsm_ever", False),
]
CENSUS_REQUIRED: list[list[str]] = [["URN"], ["LA"], ["ESTAB", "Estab"], ["SCHOOLTYPE"]] + [
    a for a, _, _ in CENSUS_MAP
]


@kind("census", "School census (January)", 60, CENSUS_REQUIRED)
def prepare_census(src: Source, ctx: Ctx) -> Writer:
    table, cols = read_csv(src, CENSUS_REQUIRED)
    df = table.df
    year = file_year(src, ctx)
    nat = _strip(df["URN"]).str.upper() == "NAT"
    ctx.details["national total rows skipped"] = int(nat.sum())
    ctx.rows_read = int((~nat).sum())
    urn = urns(table, "URN", unique=True, drop=nat)
    out = pd.DataFrame({"school_id": urn, "year": year, "school_type": _strip(df["SCHOOLTYPE"])})
    for aliases, col, integer in CENSUS_MAP:
        v, _ = numbers(table, cols[aliases[0]], integer=integer)
        if integer:
            neg = v < 0
            if neg.any():
                raise table.error(int(np.flatnonzero(neg.to_numpy())[0]), cols[aliases[0]], "negative count")
        out[col] = v.astype("Int64") if integer else v
    if "NORFSMEVER" in df.columns:
        v, _ = numbers(table, "NORFSMEVER", integer=True)
        out["nor_fsm_ever"] = v.astype("Int64")
    else:
        out["nor_fsm_ever"] = pd.array([None] * len(out), dtype="Int64")
    out["source"] = src.name
    out = _clip(out[~nat.to_numpy()].copy(), CensusRecord)

    def write() -> db.Counts:
        known = set(known_schools()["urn"].astype(int))
        ok = reject_unknown(ctx, out["school_id"], known)
        rows = out[ok].copy()
        rows["school_id"] = rows["school_id"].astype(int)
        existing = db.query_frame(f"SELECT {', '.join(rows.columns)} FROM {T_CENSUS} WHERE year = %s", [year])
        return db.sync(T_CENSUS, ["school_id", "year"], rows, existing)

    return write


# --------------------------------------------------------------------------- results

BAND_LABELS = {
    1: "Well above average",
    2: "Above average",
    3: "Average",
    4: "Below average",
    5: "Well below average",
}


@dataclass(frozen=True)
class Col:
    column: str
    measure: str
    desc: str | None = None  # for progress bands: the description column


def long_results(table: Table, urn: pd.Series, year: pd.Series, cols: list[Col]) -> pd.DataFrame:
    """Wide file -> long Result rows. Blank cells give no row; a code gives value NULL with the code in note."""
    parts = []
    for c in cols:
        raw = _strip(table.df[c.column])
        v, note = numbers(table, c.column)
        if c.desc is not None:
            desc = _strip(table.df[c.desc])
            code_desc = desc.str.upper().isin(CODES)
            text = desc.where(
                ~code_desc & (desc != ""), v.map(lambda b: BAND_LABELS.get(int(b), "") if b == b else "")
            )
            keep = raw != ""
        else:
            text = pd.Series("", index=raw.index)
            keep = raw != ""
        k = keep.to_numpy(dtype=bool)
        parts.append(
            pd.DataFrame(
                {
                    "school_id": urn[k].to_numpy(),
                    "year": year[k].to_numpy(),
                    "measure": c.measure,
                    "value": v[k].to_numpy(),
                    "text": text[k].to_numpy(),
                    "note": note[k].to_numpy(),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["text"] = out["text"].astype(str).str[:60]
    return out


def national_averages(
    long: pd.DataFrame, types: pd.DataFrame, source: str, mainstream: pd.Series | None = None
) -> pd.DataFrame:
    """NationalAverage rows for each (year, measure) in the file.

    Population: schools whose register type_group is academy or maintained (state-funded mainstream; special,
    independent, college and GIAS-only schools without a type are excluded), and, when the file has RECTYPE,
    RECTYPE 1 (mainstream) rows only, with a value for the measure. Weighted by the measure's `weight_by` pupil
    count from the same file and year when the file has it; value-added measures are 0 by construction.
    """
    sfm = set(types.loc[types["type_group"].isin(["academy", "maintained"]), "urn"].astype(int))
    pop = long[long["school_id"].isin(sfm) & long["value"].notna()]
    if mainstream is not None:
        pop = pop[pop["school_id"].isin(mainstream)]
    out = []
    for (year, code), g in pop.groupby(["year", "measure"]):
        m = MEASURES.get(str(code))
        if m is None or m.unit in ("count", "band"):
            continue
        n = len(g)
        if m.national_zero:
            out.append(
                (
                    year,
                    code,
                    0.0,
                    n,
                    "0 by construction (value-added measure); schools = state-funded mainstream with a value",
                )
            )
            continue
        w = None
        if m.weight_by:
            wt = long[(long["measure"] == m.weight_by) & (long["year"] == year)][["school_id", "value"]]
            if len(wt):
                w = g.merge(wt.rename(columns={"value": "w"}), on="school_id", how="inner")
                w = w[w["w"].notna() & (w["w"] > 0)]
        if w is not None and len(w):
            value = float((w["value"] * w["w"]).sum() / w["w"].sum())
            out.append(
                (
                    year,
                    code,
                    value,
                    len(w),
                    f"mean weighted by {m.weight_by}, state-funded mainstream schools "
                    "(register type academy/maintained) with a value and a pupil count in this file",
                )
            )
        else:
            value = float(g["value"].mean())
            why = (
                "this file has no pupil counts" if m.weight_by else "no pupil weight defined for this measure"
            )
            out.append(
                (
                    year,
                    code,
                    value,
                    n,
                    f"unweighted mean ({why}), state-funded mainstream schools "
                    "(register type academy/maintained) with a value in this file",
                )
            )
    df = pd.DataFrame(out, columns=["year", "measure", "value", "schools", "method"])
    df["source"] = source
    df["method"] = df["method"].str[:200]
    return df


def results_writer(
    src: Source,
    ctx: Ctx,
    long: pd.DataFrame,
    urn_rows: pd.Series,
    mainstream_urns: pd.Series | None = None,
    coords: Callable[[set[int]], Callable[[], int]] | None = None,
) -> Writer:
    long = long.assign(source=src.name)

    def write() -> db.Counts:
        types = known_schools()
        known = set(types["urn"].astype(int))
        ok_rows = urn_rows.isin(known).to_numpy(dtype=bool)
        if (~ok_rows).any():
            ctx.rejected["unknown URN"] += int((~ok_rows).sum())
        rows = long[long["school_id"].isin(known)].copy()
        rows["school_id"] = rows["school_id"].astype(int)
        rows["year"] = rows["year"].astype(int)
        years = sorted(rows["year"].unique().tolist())
        measures = sorted(rows["measure"].unique().tolist())
        if rows.empty:
            counts = db.Counts()
        else:
            ph_y = ", ".join(["%s"] * len(years))
            ph_m = ", ".join(["%s"] * len(measures))
            existing = db.query_frame(
                f"SELECT school_id, year, measure, value, text, note, source FROM {T_RESULT} "
                f"WHERE year IN ({ph_y}) AND measure IN ({ph_m})",
                [*years, *measures],
            )
            counts = db.sync(T_RESULT, ["school_id", "year", "measure"], rows, existing)
        nat = national_averages(rows, types, src.name, mainstream_urns)
        if len(nat):
            ex = db.query_frame(f"SELECT year, measure, value, schools, method, source FROM {T_NATIONAL}")
            nc = db.sync(T_NATIONAL, ["year", "measure"], nat, ex)
            ctx.details["national averages written"] = nc.inserted + nc.updated
        ctx.details["result rows"] = len(rows)
        if coords is not None:
            coords(known)()
        return counts

    return write


KS2_PERF = [
    Col("KS2 Pupils", "TELIG"),
    Col("KS2 Boys", "BELIG"),
    Col("KS2 Girls", "GELIG"),
    Col("Reading Progress", "READPROG"),
    Col("Reading Score", "READ_AVERAGE"),
    Col("Reading Meet Std", "PTREAD_EXP"),
    Col("Reading Exceed Std", "PTREAD_HIGH"),
    Col("Reading Progress Band", "READPROG_BAND", "Reading Progress Desc"),
    Col("Writing Progress", "WRITPROG"),
    # Mislabelled in ks2_perf_*: these three "Writing" columns are the GPS test (see measures.py).
    Col("Writing Score", "GPS_AVERAGE"),
    Col("Writing Meet Std", "PTGPS_EXP"),
    Col("Writing Exceed Std", "PTGPS_HIGH"),
    Col("Writing Progress Band", "WRITPROG_BAND", "Writing Progress Desc"),
    Col("Maths Progress", "MATPROG"),
    Col("Maths Score", "MAT_AVERAGE"),
    Col("Maths Meet Std", "PTMAT_EXP"),
    Col("Maths Exceed Std", "PTMAT_HIGH"),
    Col("Maths Progress Band", "MATPROG_BAND", "Maths Progress Desc"),
    Col("Overall Meet Std", "PTRWM_EXP"),
    Col("Overall Exceed Std", "PTRWM_HIGH"),
]
KS4_PERF = [
    Col("KS4 Pupils", "TPUP"),
    Col("KS4 Boys", "BPUP"),
    Col("KS4 Girls", "GPUP"),
    Col("Progress 8", "P8MEA"),
    Col("Progress 8 Boys", "P8MEA_BOYS"),
    Col("Progress 8 Girls", "P8MEA_GIRLS"),
    Col("Attainment 8", "ATT8SCR"),
    Col("Attainment 8 Boys", "ATT8SCR_BOYS"),
    Col("Attainment 8 Girls", "ATT8SCR_GIRLS"),
    Col("Eng Maths Grade 5", "PTL2BASICS_95"),
    Col("Entering EBacc", "PTEBACC_E_PTQ_EE"),
    Col("EBacc Avg Score", "EBACCAPS"),
    Col("EBacc Avg Boys", "EBACCAPS_BOYS"),
    Col("EBacc Avg Girls", "EBACCAPS_GIRLS"),
    Col("EBacc Grade 5", "PTEBACC_95"),
    Col("Progress 8 Band", "P8_BANDING", "P8 Desc"),
]
# Before 9-1 grading (2016) the "Grade 5" columns of ks4_perf_* are A*-C measures.
KS4_PRE_2017 = {"PTL2BASICS_95": "PTL2BASICS_LL_PTQ_EE", "PTEBACC_95": "PTEBACC_PTQ_EE"}


def _perf_year(table: Table, ctx: Ctx) -> pd.Series:
    if ctx.year:
        return pd.Series(ctx.year, index=table.df.index)
    y, _ = numbers(table, "Academic Year", integer=True)
    if y.isna().any():
        i = int(np.flatnonzero(y.isna().to_numpy())[0])
        raise table.error(i, "Academic Year", "missing academic year")
    return y.astype(int)


@kind(
    "ks2_perf",
    "KS2 results (waiky8 ks2_perf_YYYY)",
    70,
    [c.column for c in KS2_PERF] + ["URN", "Academic Year"],
)
def prepare_ks2_perf(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, [c.column for c in KS2_PERF] + ["URN", "Academic Year"])
    ctx.rows_read = len(table.df)
    urn = urns(table, "URN", unique=True)
    year = _perf_year(table, ctx)
    long = long_results(table, urn, year, KS2_PERF)
    return results_writer(src, ctx, long, urn)


@kind(
    "ks4_perf",
    "KS4 results (waiky8 ks4_perf_YYYY)",
    90,
    [c.column for c in KS4_PERF] + ["URN", "Academic Year"],
)
def prepare_ks4_perf(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, [c.column for c in KS4_PERF] + ["URN", "Academic Year"])
    ctx.rows_read = len(table.df)
    urn = urns(table, "URN", unique=True)
    year = _perf_year(table, ctx)
    long = long_results(table, urn, year, KS4_PERF)
    early = long["year"] <= 2016
    long.loc[early, "measure"] = long.loc[early, "measure"].replace(KS4_PRE_2017)
    return results_writer(src, ctx, long, urn)


KS2_FINAL = [
    Col("READPROG", "READPROG"),
    Col("READPROG_DESCR", "READPROG_BAND"),
    Col("WRITPROG", "WRITPROG"),
    Col("WRITPROG_DESCR", "WRITPROG_BAND"),
    Col("MATPROG", "MATPROG"),
    Col("MATPROG_DESCR", "MATPROG_BAND"),
]
KS2_FINAL_OPTIONAL = [
    Col(c, c)
    for c in (
        "TELIG",
        "PTRWM_EXP",
        "PTRWM_HIGH",
        "READ_AVERAGE",
        "MAT_AVERAGE",
        "GPS_AVERAGE",
        "PTREAD_EXP",
        "PTREAD_HIGH",
        "PTMAT_EXP",
        "PTMAT_HIGH",
        "PTGPS_EXP",
        "PTGPS_HIGH",
    )
]
KS4_FINAL = [
    Col("P8MEA", "P8MEA"),
    Col("P8_BANDING", "P8_BANDING"),
    Col("ATT8SCR", "ATT8SCR"),
    Col("PTL2BASICS_95", "PTL2BASICS_95"),
    Col("PTEBACC_E_PTQ_EE", "PTEBACC_E_PTQ_EE"),
    Col("EBACCAPS", "EBACCAPS"),
]
KS4_FINAL_OPTIONAL = [
    Col(c, c)
    for c in (
        "TPUP",
        "BPUP",
        "GPUP",
        "PTL2BASICS_94",
        "PTEBACC_95",
        "PTEBACC_94",
        "ATT8SCR_BOYS",
        "ATT8SCR_GIRLS",
        "P8MEA_BOYS",
        "P8MEA_GIRLS",
    )
]


def _final(src: Source, ctx: Ctx, cols: list[Col], optional: list[Col]) -> Writer:
    required = ["RECTYPE", "URN"] + [c.column for c in cols]
    table, _ = read_csv(src, required)
    df = table.df
    use = cols + [c for c in optional if c.column in df.columns]
    rectype, _ = numbers(table, "RECTYPE", integer=True)
    ctx.rows_read = len(df)
    school_rows = rectype.isin([1, 2])  # DfE final files also carry LA/national rows (RECTYPE 4, 5...)
    if (~school_rows).any():
        ctx.details["non-school rows skipped (RECTYPE not 1/2)"] = int((~school_rows).sum())
    urn = urns(table, "URN", unique=True, drop=~school_rows)
    year = file_year(src, ctx)
    k = school_rows.to_numpy(dtype=bool)
    long = long_results(table, urn, pd.Series(year, index=df.index), use)
    long = long[long["school_id"].notna()]
    bands = long["measure"].str.endswith("_BAND") | (long["measure"] == "P8_BANDING")
    long.loc[bands, "text"] = long.loc[bands, "value"].map(
        lambda b: BAND_LABELS.get(int(b), "") if b == b else ""
    )
    mainstream = urn[(rectype == 1).to_numpy(dtype=bool)]
    coords = None
    if "LATITUDE" in df.columns and "LONGITUDE" in df.columns:
        lat, _ = numbers(table, "LATITUDE")
        lon, _ = numbers(table, "LONGITUDE")
        u, la, lo = urn[k], lat[k], lon[k]

        def coords(known: set[int]) -> Callable[[], int]:
            ok = u.isin(known).to_numpy(dtype=bool)
            return coords_writer(u[ok], la[ok], lo[ok], src.name, ctx.as_of or academic_year_end(year), ctx)

    return results_writer(src, ctx, long, urn[k], mainstream_urns=mainstream, coords=coords)


@kind(
    "ks2_final", "KS2 results (DfE england_ks2final)", 80, ["RECTYPE", "URN"] + [c.column for c in KS2_FINAL]
)
def prepare_ks2_final(src: Source, ctx: Ctx) -> Writer:
    return _final(src, ctx, KS2_FINAL, KS2_FINAL_OPTIONAL)


@kind(
    "ks4_final", "KS4 results (DfE england_ks4final)", 100, ["RECTYPE", "URN"] + [c.column for c in KS4_FINAL]
)
def prepare_ks4_final(src: Source, ctx: Ctx) -> Writer:
    return _final(src, ctx, KS4_FINAL, KS4_FINAL_OPTIONAL)


SECONDARY_METRICS = {
    "att8_score": "ATT8SCR",
    "l2basics_94": "PTL2BASICS_94",
    "ebacc_94": "PTEBACC_94",
    "ebacc_entry": "PTEBACC_E_PTQ_EE",
}


@kind(
    "ks4_secondary_json",
    "KS4 2024/25 secondary schools (JSON)",
    110,
    ["urn", "metrics", "latitude", "longitude"],
    exts=(".json",),
)
def prepare_secondary_json(src: Source, ctx: Ctx) -> Writer:
    table, recs = read_json_records(src, ["urn", "metrics", "latitude", "longitude"])
    ctx.rows_read = len(recs)
    year = file_year(src, ctx)
    rows: dict[str, list[object]] = {"urn": [], "lat": [], "lon": [], **{k: [] for k in SECONDARY_METRICS}}
    seen: dict[int, int] = {}

    def num(i: int, key: str, v: object) -> float | None:
        if v is None or (isinstance(v, str) and (v.strip() == "" or v.strip().upper() in CODES)):
            return None
        if isinstance(v, bool):
            raise StructuralError(src.name, f"record {i + 1}", key, v, "not a number")
        if isinstance(v, int | float):
            return float(v)
        try:
            return float(str(v).rstrip("%"))
        except ValueError as exc:
            raise StructuralError(src.name, f"record {i + 1}", key, v, "not a number") from exc

    for i, r in enumerate(recs):
        u = r.get("urn")
        try:
            ui = int(str(u))
        except ValueError as exc:
            raise StructuralError(src.name, f"record {i + 1}", "urn", u, "URN is not a whole number") from exc
        if ui in seen:
            raise StructuralError(
                src.name, f"record {i + 1}", "urn", u, f"duplicate URN (first in record {seen[ui] + 1})"
            )
        seen[ui] = i
        rows["urn"].append(ui)
        rows["lat"].append(num(i, "latitude", r.get("latitude")))
        rows["lon"].append(num(i, "longitude", r.get("longitude")))
        metrics = r.get("metrics") or {}
        if not isinstance(metrics, dict):
            raise StructuralError(
                src.name, f"record {i + 1}", "metrics", metrics, "metrics must be an object"
            )
        for k in SECONDARY_METRICS:
            rows[k].append(num(i, f"metrics.{k}", metrics.get(k)))
    f = pd.DataFrame(rows)
    parts = [
        pd.DataFrame(
            {
                "school_id": f["urn"],
                "year": year,
                "measure": m,
                "value": f[k].astype(float),
                "text": "",
                "note": "",
            }
        )[f[k].notna()]
        for k, m in SECONDARY_METRICS.items()
    ]
    long = pd.concat(parts, ignore_index=True)
    urn = f["urn"].astype("Int64")
    as_of = ctx.as_of or academic_year_end(year)

    def coords(known: set[int]) -> Callable[[], int]:
        ok = urn.isin(known).to_numpy(dtype=bool)
        return coords_writer(
            urn[ok], f["lat"][ok].astype(float), f["lon"][ok].astype(float), src.name, as_of, ctx
        )

    return results_writer(src, ctx, long, urn, coords=coords)


# --------------------------------------------------------------------------- Ofsted

OFSTED_COLS = ["URN", "Rating", "Inspection Date"]
RATINGS = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires improvement": "Requires Improvement",
    "satisfactory": "Satisfactory",
    "inadequate": "Inadequate",
    "serious weaknesses": "Serious Weaknesses",
    "special measures": "Special Measures",
}
RI_FROM = pd.Timestamp("2012-09-01")  # "Satisfactory" was renamed "Requires Improvement" from September 2012


def latest_inspections(insp: pd.DataFrame) -> pd.DataFrame:
    """Latest judgement per school; on a same-date tie prefer the grade that was valid on that date."""
    d = pd.to_datetime(insp["date"].astype(str))
    valid = np.where(d >= RI_FROM, insp["rating"] != "Satisfactory", insp["rating"] != "Requires Improvement")
    ranked = insp.assign(_d=d, _valid=valid).sort_values(["school_id", "_d", "_valid", "rating"])
    last = ranked.drop_duplicates("school_id", keep="last")
    return pd.DataFrame(
        {
            "urn": last["school_id"].astype(int),
            "ofsted_rating": last["rating"],
            "ofsted_date": last["_d"].dt.strftime("%Y-%m-%d"),
        }
    )


@kind("ofsted", "Ofsted inspection history", 120, OFSTED_COLS)
def prepare_ofsted(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, OFSTED_COLS)
    df = table.df
    ctx.rows_read = len(df)
    urn = urns(table, "URN", unique=False)
    when = dates(table, "Inspection Date", "%Y%m%d")
    raw = _strip(df["Rating"])
    rating = raw.str.lower().map(RATINGS)
    bad = rating.isna() & (raw != "")
    if bad.any():
        raise table.error(int(np.flatnonzero(bad.to_numpy())[0]), "Rating", "unknown Ofsted rating")
    frame = pd.DataFrame({"school_id": urn, "date": when, "rating": rating, "source": src.name})
    missing = frame["date"].isna() | frame["rating"].isna()
    if missing.any():
        ctx.rejected["no rating or no date"] += int(missing.sum())
    frame = frame[~missing]

    def write() -> db.Counts:
        known = set(known_schools()["urn"].astype(int))
        ok = reject_unknown(ctx, frame["school_id"], known)
        rows = frame[ok].copy()
        rows["school_id"] = rows["school_id"].astype(int)
        dup = rows.duplicated(["school_id", "date", "rating"])
        ctx.details["exact duplicate rows collapsed"] = int(dup.sum())
        rows = rows[~dup]
        existing = db.query_frame(f"SELECT school_id, date, rating, source FROM {T_INSPECTION}")
        if len(existing):
            existing["date"] = existing["date"].astype(str)
        counts = db.sync(T_INSPECTION, ["school_id", "date", "rating"], rows, existing)
        counts.unchanged += int(dup.sum())
        allinsp = db.query_frame(f"SELECT school_id, date, rating FROM {T_INSPECTION}")
        latest = latest_inspections(allinsp)
        ex = db.query_frame(f"SELECT urn, ofsted_rating, ofsted_date FROM {T_SCHOOL}")
        sc = db.sync(T_SCHOOL, ["urn"], latest, ex, allow_insert=False)
        ctx.details["schools' latest Ofsted judgement updated"] = sc.updated
        return counts

    return write


# --------------------------------------------------------------------------- MAT performance

MAT_REQUIRED = [
    "TIME_PERIOD",
    "TRUST_NAME",
    "TRUST_UID",
    "TRUST_ID",
    "TRUST_COMPANIES_HOUSE_NUMBER",
    "TRUST_UKPRN",
    "TRUST_LEADREGION",
    "INSTITUTIONS_INMAT",
]
MAT_TEXT = {
    "TIME_PERIOD",
    "TIME_IDENTIFIER",
    "TRUST_GROUP_TYPE",
    "TRUST_NAME",
    "TRUST_UID",
    "TRUST_ID",
    "TRUST_COMPANIES_HOUSE_NUMBER",
    "TRUST_UKPRN",
    "TRUST_LEADREGION",
    "INSTITUTIONS_MATPTINC",
    "INSTITUTIONS_INMAT",
}


@kind("mat_performance", "Multi-academy trust performance (KS2/KS4)", 130, MAT_REQUIRED)
def prepare_mat(src: Source, ctx: Ctx) -> Writer:
    table, _ = read_csv(src, MAT_REQUIRED)
    df = table.df
    ctx.rows_read = len(df)
    ks = 4 if ("TPUP_MATPTINC" in df.columns or "ks4" in src.name.lower()) else 2
    tp, _ = numbers(table, "TIME_PERIOD", integer=True)
    if tp.isna().any():
        raise table.error(int(np.flatnonzero(tp.isna().to_numpy())[0]), "TIME_PERIOD", "missing TIME_PERIOD")
    year = ctx.year or int(tp.max()) % 100 + 2000  # 202425 -> 2025
    tid = _strip(df["TRUST_ID"])
    if (tid == "").any():
        raise table.error(int(np.flatnonzero((tid == "").to_numpy())[0]), "TRUST_ID", "missing TRUST_ID")
    dup = tid.duplicated()
    if dup.any():
        raise table.error(int(np.flatnonzero(dup.to_numpy())[0]), "TRUST_ID", "duplicate TRUST_ID")

    def ident(col: str) -> pd.Series:
        s = _strip(df[col])
        return s.where(~s.str.upper().isin(CODES), "")

    trusts = pd.DataFrame(
        {
            "kind": "mat",
            "external_id": tid,
            "name": _strip(df["TRUST_NAME"]),
            "uid": ident("TRUST_UID"),
            "companies_house_number": ident("TRUST_COMPANIES_HOUSE_NUMBER"),
            "ukprn": ident("TRUST_UKPRN"),
            "lead_region": ident("TRUST_LEADREGION"),
            "source": src.name,
        }
    )
    trusts = _clip(trusts, Partnership)
    members = []
    for i, (t, lst) in enumerate(zip(tid, _strip(df["INSTITUTIONS_INMAT"]), strict=True)):
        for part in [p.strip() for p in lst.split(";") if p.strip()]:
            if not part.isdigit():
                raise table.error(i, "INSTITUTIONS_INMAT", f"URN list item {part!r} is not a whole number")
            members.append((t, int(part)))
    mem = pd.DataFrame(members, columns=["external_id", "school_id"]).drop_duplicates()
    measure_cols = [c for c in df.columns if c not in MAT_TEXT]
    parts = []
    for c in measure_cols:
        raw = _strip(df[c])
        v, note = numbers(table, c)
        k = (raw != "").to_numpy(dtype=bool)
        parts.append(
            pd.DataFrame(
                {
                    "external_id": tid[k].to_numpy(),
                    "year": year,
                    "measure": f"KS{ks}_{c}"[:60],
                    "value": v[k].to_numpy(),
                    "note": note[k].str[:10].to_numpy(),
                }
            )
        )
    res = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["external_id", "year", "measure", "value", "note"])
    )
    as_of = ctx.as_of or academic_year_end(year)

    def write() -> db.Counts:
        existing = db.query_frame(
            f"SELECT id, kind, external_id, name, uid, companies_house_number, ukprn, lead_region, source FROM {T_PARTNERSHIP} "
            "WHERE kind = 'mat'"
        )
        t = trusts.copy()
        if len(existing):
            # Same trust in the KS2 and the KS4 file: keep a mixed-case name over an all-capitals one, and never
            # blank a known identifier, so the result does not depend on which file came last.
            ex = existing.set_index("external_id")
            for col in ("name", "uid", "companies_house_number", "ukprn", "lead_region"):
                old = t["external_id"].map(ex[col]).fillna("").astype(str)
                new = t[col].astype(str)
                keep_old = (old != "") & (new == "")
                if col == "name":
                    keep_old |= (old != "") & new.str.isupper() & ~old.str.isupper()
                t[col] = new.where(~keep_old, old)
            t["source"] = np.where(
                t["external_id"].isin(ex.index),
                t["external_id"].map(ex["source"]).fillna(src.name),
                t["source"],
            )
            t["source"] = (
                t["source"]
                .where(t["source"].str.contains(src.name, regex=False), t["source"] + "; " + src.name)
                .str[:120]
            )
        counts = db.sync(
            T_PARTNERSHIP,
            ["kind", "external_id"],
            t,
            existing.drop(columns=["id"]) if len(existing) else existing,
        )
        ids = db.query_frame(f"SELECT id, external_id FROM {T_PARTNERSHIP} WHERE kind = 'mat'")
        idmap = dict(zip(ids["external_id"], ids["id"], strict=True))
        known = set(known_schools()["urn"].astype(int))
        m = mem.copy()
        ok = reject_unknown(ctx, m["school_id"], known, "unknown URN in INSTITUTIONS_INMAT")
        m = m[ok]
        m = pd.DataFrame(
            {
                "partnership_id": m["external_id"].map(idmap).astype(int),
                "school_id": m["school_id"].astype(int),
                "as_of": as_of.isoformat(),
                "source": src.name,
            }
        )
        exm = db.query_frame(
            f'SELECT partnership_id, school_id, as_of, source FROM {T_MEMBERSHIP} WHERE "left" IS NULL'
        )
        if len(exm):
            exm["as_of"] = exm["as_of"].astype(str)
            # keep the first file's name as source when another file of the same date confirms the membership
            same = m.merge(exm, on=["partnership_id", "school_id"], how="left", suffixes=("", "_old"))
            keep = same["as_of_old"].notna() & (same["as_of_old"] >= same["as_of"])
            m["as_of"] = np.where(keep, same["as_of_old"], m["as_of"])
            m["source"] = np.where(keep, same["source_old"], m["source"])
        mc = db.sync(
            T_MEMBERSHIP,
            ["partnership_id", "school_id"],
            m,
            exm,
            insert_defaults={"joined": None, "left": None, "reason": ""},
        )
        ctx.details["trusts"] = {
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
        }
        ctx.details["memberships"] = {
            "inserted": mc.inserted,
            "updated": mc.updated,
            "unchanged": mc.unchanged,
        }
        r = res.copy()
        r["partnership_id"] = r.pop("external_id").map(idmap).astype(int)
        r["source"] = src.name
        exr = db.query_frame(
            f"SELECT partnership_id, year, measure, value, note, source FROM {T_PRESULT} WHERE year = %s",
            [year],
        )
        rc = db.sync(T_PRESULT, ["partnership_id", "year", "measure"], r, exr)
        ctx.details["trust results"] = {
            "inserted": rc.inserted,
            "updated": rc.updated,
            "unchanged": rc.unchanged,
        }
        total = db.Counts()
        total += counts
        total += mc
        total += rc
        return total

    return write


# --------------------------------------------------------------------------- detection

IGNORED = re.compile(r"(^readme|sha256sums|licen[cs]e|manifest\.json$)", re.I)
METADATA = re.compile(r"(_meta\.csv$|establishment-types)", re.I)


# When no header matches, the file name suggests the kind, so its header check can say which column is missing.
NAME_HINTS = [
    ("la_and_region", "la_codes"),
    ("spine", "spine"),
    ("gias", "gias"),
    ("edubasealldata", "gias"),
    ("links", "links"),
    ("coords", "coords"),
    ("census", "census"),
    ("ks2_perf", "ks2_perf"),
    ("ks4_perf", "ks4_perf"),
    ("ks2final", "ks2_final"),
    ("ks4final", "ks4_final"),
    ("mats-performance", "mat_performance"),
    ("ofsted", "ofsted"),
    ("secondary", "ks4_secondary_json"),
]


def detect(src: Source, header: list[str]) -> Kind | None:
    for k in sorted(KINDS.values(), key=lambda k: k.order):
        if k.matches(header, src.name):
            return k
    return None


def guess_from_name(name: str) -> Kind | None:
    low = name.lower()
    if METADATA.search(low):
        return None
    return next((KINDS[k] for hint, k in NAME_HINTS if hint in low and low.endswith(KINDS[k].exts)), None)
