"""Load the data pack (../shared/data) into the per-phase frames `similarity.core` expects (pure: no Django).

For benchmarks and tests; the app builds the same frame shape from the database. One row per school of the
census type of the phase ("State-funded primary" / "State-funded secondary", January 2019 census), with:
URN, LA, LAT, LON, REGION, NOR, PNUMFSMEVER, PNUMEAL, PSEN (= PSENELK + PSENELSE), LOG_NOR (= ln NOR), the
2018/19 results (KS2: READPROG, WRITPROG, MATPROG; KS4: P8MEA, ATT8SCR, PTL2BASICS_95, PTEBACC_E_PTQ_EE,
EBACCAPS), PUPILS (+ PUPILS_SOURCE) and the history columns of the robust rule (READPROG_2017 ... P8MEA_2018,
PUPILS_2017, PUPILS_2018). DfE codes (NA, SUPP, LOWCOV, NP, NE, x, empty) become NaN and "%" strings numbers.
The population filter (headline, coordinates and features present) is `similarity.core.prepare_phase`'s job.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from schoolpartners.regions import OLD_LA_REGION, english_region
from similarity.method import CENSUS_TYPE

MISSING = ["", "NA", "SUPP", "LOWCOV", "NP", "NE", "x", "NEW", "na"]

#: Fallback pupils at end of key stage when no earlier published count exists: NOR / year groups.
YEAR_GROUPS = {"primary": 7.0, "secondary": 5.0}

KS2_PERF_COLS = {
    "Reading Progress": "READPROG",
    "Writing Progress": "WRITPROG",
    "Maths Progress": "MATPROG",
    "KS2 Pupils": "PUPILS",
}
KS4_PERF_COLS = {"Progress 8": "P8MEA", "KS4 Pupils": "PUPILS"}


def to_number(s: pd.Series) -> pd.Series:
    """'41%' -> 41.0; DfE suppression codes and blanks -> NaN."""
    txt = s.astype("string").str.strip().str.rstrip("%")
    txt = txt.where(~txt.isin(MISSING))
    return pd.to_numeric(txt, errors="coerce").astype("float64")


def _read(path: Path, **kw: object) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", **kw)  # type: ignore[call-overload]


def load_regions(pack: Path) -> dict[int, str]:
    meta = _read(pack / "register" / "la_and_region_codes_meta.csv")
    out: dict[int, str] = dict(OLD_LA_REGION)
    for la, sub in zip(meta["LEA"], meta["REGION NAME"], strict=True):
        region = english_region(sub)
        if region:
            out[int(la)] = region
    return out


def load_census(pack: Path) -> pd.DataFrame:
    c = _read(pack / "census" / "england_census_2018-19.csv")
    c = c[c["URN"] != "NAT"].copy()
    out = pd.DataFrame({"URN": c["URN"].astype(int), "LA": to_number(c["LA"]), "SCHOOLTYPE": c["SCHOOLTYPE"]})
    for col in ("NOR", "PNUMFSMEVER", "PNUMEAL", "PSENELK", "PSENELSE"):
        out[col] = to_number(c[col])
    out["PSEN"] = out["PSENELK"] + out["PSENELSE"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["LOG_NOR"] = np.log(out["NOR"].where(out["NOR"] > 0))
    return out


def _history(pack: Path, phase: str, year: int) -> pd.DataFrame:
    ks, cols = ("ks2", KS2_PERF_COLS) if phase == "primary" else ("ks4", KS4_PERF_COLS)
    raw = _read(pack / "performance" / f"{ks}_perf_{year}.csv")
    out = pd.DataFrame({"URN": raw["URN"].astype(int)})
    for src, dst in cols.items():
        out[f"{dst}_{year}"] = to_number(raw[src])
    return out.drop_duplicates("URN")


def load_phase(pack: Path, phase: str, census: pd.DataFrame | None = None) -> pd.DataFrame:
    """One phase's frame (every school of the census type; incomplete rows are kept, core filters them)."""
    pack = Path(pack)
    census = load_census(pack) if census is None else census
    df = census[census["SCHOOLTYPE"] == CENSUS_TYPE[phase]].copy()

    if phase == "primary":
        res = _read(pack / "performance" / "england_ks2final_2018-19.csv")
        result_cols = ["READPROG", "WRITPROG", "MATPROG"]
    else:
        res = _read(pack / "performance" / "england_ks4final_2018-19.csv")
        result_cols = ["P8MEA", "ATT8SCR", "PTL2BASICS_95", "PTEBACC_E_PTQ_EE", "EBACCAPS"]
    r = pd.DataFrame({"URN": res["URN"].astype(int)})
    for col in result_cols:
        r[col] = to_number(res[col])
    r["LAT_R"] = to_number(res["LATITUDE"])
    r["LON_R"] = to_number(res["LONGITUDE"])
    df = df.merge(r.drop_duplicates("URN"), on="URN", how="left")

    geo = _read(pack / "geo" / "england_school_coords_2024-25.csv")
    g = pd.DataFrame(
        {"URN": geo["URN"].astype(int), "LAT_G": to_number(geo["LAT"]), "LON_G": to_number(geo["LON"])}
    )
    df = df.merge(g.drop_duplicates("URN"), on="URN", how="left")
    use_r = df["LAT_R"].notna() & df["LON_R"].notna()
    df["LAT"] = np.where(use_r, df["LAT_R"], df["LAT_G"])
    df["LON"] = np.where(use_r, df["LON_R"], df["LON_G"])
    df = df.drop(columns=["LAT_R", "LON_R", "LAT_G", "LON_G"])

    regions = load_regions(pack)
    df["REGION"] = df["LA"].map(lambda la: regions.get(int(la), "") if pd.notna(la) else "")

    for year in (2017, 2018):
        df = df.merge(_history(pack, phase, year), on="URN", how="left")
    # n for the 2018/19 standard errors: the 2019 files carry no pupil counts, so take the latest published
    # cohort size (2017/18, else 2016/17), else NOR / number of year groups.
    fallback = df["NOR"] / YEAR_GROUPS[phase]
    df["PUPILS"] = df["PUPILS_2018"].fillna(df["PUPILS_2017"]).fillna(fallback)
    df["PUPILS_SOURCE"] = np.select(
        [df["PUPILS_2018"].notna(), df["PUPILS_2017"].notna(), fallback.notna()],
        ["2018", "2017", "NOR"],
        default="",
    )
    return df.sort_values("URN").reset_index(drop=True)


def load_frames(pack: Path) -> dict[str, pd.DataFrame]:
    """{"primary": frame, "secondary": frame} from the pack directory."""
    census = load_census(Path(pack))
    return {phase: load_phase(Path(pack), phase, census) for phase in ("primary", "secondary")}
