"""File family: the school register (LA and region codes, the DfE spine, GIAS) and GIAS links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from schools import search
from schools.importers import db
from schools.importers.common import T_SCHOOL, char_defaults, clip, strip
from schools.importers.reading import (
    Source,
    StructuralError,
    Table,
    date_from_name,
    dates,
    numbers,
    read_csv,
    read_xlsx,
    urns,
    year_from_name,
)
from schools.importers.registry import Ctx, Writer, kind
from schools.models import LocalAuthority, Phase, School, SchoolLink, Status

T_LINK = SchoolLink._meta.db_table
T_LA = LocalAuthority._meta.db_table


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
RETIRED_SOURCE = "schools/importers/register.py RETIRED_LAS"


@kind(
    "la_codes",
    "LA and region codes",
    10,
    ["LEA", "LA Name", "REGION", "REGION NAME"],
    file_names=("la_and_region",),
)
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
            "name": strip(df["LA Name"]),
            "region_code": strip(df["REGION"]),
            "region_name": strip(df["REGION NAME"]),
            "retired": False,
            "source": src.name,
        }
    )
    retired = pd.DataFrame(RETIRED_LAS, columns=["code", "name", "region_code", "region_name"])
    retired = retired[~retired["code"].isin(out["code"])].assign(retired=True, source=RETIRED_SOURCE)
    ctx.details["retired codes added"] = len(retired)
    frame = clip(pd.concat([out, retired], ignore_index=True), LocalAuthority)

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


@kind(
    "spine",
    "Register: DfE performance-tables spine",
    20,
    SPINE_COLS,
    exts=(".csv", ".xlsx"),
    file_names=("spine",),
)
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
    s = {c: strip(df[c]) for c in SPINE_COLS}
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

    return _register_writer(clip(frame, School), as_of, src.name, ctx, la_by_code)


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


@kind(
    "gias",
    "Register: GIAS establishments (basic or full export)",
    30,
    GIAS_COLS,
    file_names=("gias", "edubasealldata"),
)
def prepare_gias(src: Source, ctx: Ctx) -> Writer:
    table, cols = read_csv(src, GIAS_COLS)
    df = table.df
    ctx.rows_read = len(df)
    urn = urns(table, cols["urn"], unique=True)
    get = {k: strip(df[v]) for k, v in cols.items()}
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

    return _register_writer(clip(frame, School), as_of, src.name, ctx, la_by_name)


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
        counts = db.sync(T_SCHOOL, ["urn"], merged[cols], existing, insert_defaults=char_defaults(School))
        if counts.inserted or counts.updated:  # the search index follows, in the import's transaction
            ctx.details["search index rows refreshed"] = search.refresh()
        return counts

    return write


# --------------------------------------------------------------------------- links


LINK_COLS = ["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"]


@kind("links", "GIAS predecessor/successor links", 40, LINK_COLS, file_names=("links",))
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
            "link_name": strip(df["LinkName"]),
            "link_type": strip(df["LinkType"]),
            "established": est,
            "source": src.name,
        }
    )
    frame = clip(frame, SchoolLink)
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
