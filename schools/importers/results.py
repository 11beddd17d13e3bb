"""File family: school results (KS2/KS4 performance tables, DfE final files, the 2024/25 secondary JSON) and
the national averages computed from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schools.importers import db
from schools.importers.common import academic_year_end, file_year, known_schools, strip
from schools.importers.coords import coords_writer
from schools.importers.reading import (
    CODES,
    Source,
    StructuralError,
    Table,
    numbers,
    read_csv,
    read_json_records,
    urns,
)
from schools.importers.registry import Ctx, Writer, kind
from schools.measures import BAND_WORDS, MEASURES
from schools.models import NationalAverage, Result

T_RESULT = Result._meta.db_table
T_NATIONAL = NationalAverage._meta.db_table


# --------------------------------------------------------------------------- results

BAND_LABELS = BAND_WORDS


@dataclass(frozen=True)
class Col:
    column: str
    measure: str
    desc: str | None = None  # for progress bands: the description column


def long_results(table: Table, urn: pd.Series, year: pd.Series, cols: list[Col]) -> pd.DataFrame:
    """Wide file -> long Result rows. Blank cells give no row; a code gives value NULL with the code in note."""
    parts = []
    for c in cols:
        raw = strip(table.df[c.column])
        v, note = numbers(table, c.column)
        if c.desc is not None:
            desc = strip(table.df[c.desc])
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
    file_names=("ks2_perf",),
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
    file_names=("ks4_perf",),
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
    "ks2_final",
    "KS2 results (DfE england_ks2final)",
    80,
    ["RECTYPE", "URN"] + [c.column for c in KS2_FINAL],
    file_names=("ks2final",),
)
def prepare_ks2_final(src: Source, ctx: Ctx) -> Writer:
    return _final(src, ctx, KS2_FINAL, KS2_FINAL_OPTIONAL)


@kind(
    "ks4_final",
    "KS4 results (DfE england_ks4final)",
    100,
    ["RECTYPE", "URN"] + [c.column for c in KS4_FINAL],
    file_names=("ks4final",),
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
    file_names=("secondary",),
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
