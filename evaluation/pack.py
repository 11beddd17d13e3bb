"""Build the national evaluation's `Inputs` straight from the data pack (pure: no Django), for the pack test and
the benchmark. The database path (`evaluation.services.load_inputs`) builds the same shapes from the import.

- links: register/links_edubasealldata20250422.csv (Windows-1252; LinkEstablishedDate DD-MM-YYYY)
- establishment types: register/england_spine_2017-2018.csv NFTYPE (the 2017-19 register)
- results: performance/ks2_perf_{2016,2017,2018}.csv + england_ks2final_2018-19.csv (READPROG, WRITPROG,
  MATPROG; PTRWM_EXP to 2018), ks4_perf_{2016,2017,2018}.csv + england_ks4final_2018-19.csv (P8MEA, ATT8SCR)
- families: similarity.core on `similarity.pack.load_frames` (the default method: 2018/19, K = 50)
- trusts: INSTITUTIONS_INMAT of the 2024/25 MAT performance files
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evaluation.national import Inputs
from similarity.core import compute_families, prepare_phase
from similarity.method import DEFAULT_METHOD
from similarity.pack import load_frames, to_number

KS2_PERF = {
    "Reading Progress": "READPROG",
    "Writing Progress": "WRITPROG",
    "Maths Progress": "MATPROG",
    "Overall Meet Std": "PTRWM_EXP",
}
KS4_PERF = {"Progress 8": "P8MEA", "Attainment 8": "ATT8SCR"}
KS2_2019 = {"READPROG": "READPROG", "WRITPROG": "WRITPROG", "MATPROG": "MATPROG"}
KS4_2019 = {"P8MEA": "P8MEA", "ATT8SCR": "ATT8SCR"}


def _read(path: Path, encoding: str = "utf-8-sig") -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)


def _long(df: pd.DataFrame, cols: dict[str, str], year: int) -> pd.DataFrame:
    parts = []
    urn = pd.to_numeric(df["URN"], errors="coerce")
    for src, code in cols.items():
        parts.append(pd.DataFrame({"urn": urn, "year": year, "measure": code, "value": to_number(df[src])}))
    out = pd.concat(parts, ignore_index=True)
    out = out.dropna(subset=["urn", "value"])
    out["urn"] = out["urn"].astype("int64")
    return out.drop_duplicates(["urn", "year", "measure"])


def load_results(pack: Path) -> pd.DataFrame:
    perf = pack / "performance"
    parts = []
    for y in (2016, 2017, 2018):
        parts.append(_long(_read(perf / f"ks2_perf_{y}.csv"), KS2_PERF, y))
        parts.append(_long(_read(perf / f"ks4_perf_{y}.csv"), KS4_PERF, y))
    parts.append(_long(_read(perf / "england_ks2final_2018-19.csv"), KS2_2019, 2019))
    parts.append(_long(_read(perf / "england_ks4final_2018-19.csv"), KS4_2019, 2019))
    return pd.concat(parts, ignore_index=True)


def load_links(pack: Path) -> pd.DataFrame:
    raw = _read(pack / "register" / "links_edubasealldata20250422.csv", encoding="cp1252")
    est = pd.to_datetime(raw["LinkEstablishedDate"], format="%d-%m-%Y", errors="coerce")
    return pd.DataFrame(
        {
            "urn": raw["URN"].astype(int),
            "link_urn": raw["LinkURN"].astype(int),
            "link_type": raw["LinkType"],
            "established": [d.date() if pd.notna(d) else None for d in est],
        }
    )


def load_trusts(pack: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    for name in ("england_ks2-mats-performance_2024-25.csv", "england_ks4-mats-performance_2024-25.csv"):
        t = _read(pack / "trusts" / name)
        for trust, urns in zip(t["TRUST_NAME"], t["INSTITUTIONS_INMAT"], strict=True):
            for u in str(urns).split(";"):
                if u.strip().isdigit():
                    out.setdefault(int(u), trust.strip())
    return out


def load_inputs(pack: Path) -> Inputs:
    pack = Path(pack)
    spine = _read(pack / "register" / "england_spine_2017-2018.csv")
    schools = pd.DataFrame(
        {"urn": spine["URN"].astype(int), "establishment_type": spine["NFTYPE"], "phase": ""}
    )
    families: dict[int, list[int]] = {}
    phase_of: dict[int, str] = {}
    for phase, frame in load_frames(pack).items():
        data = prepare_phase(frame, phase, DEFAULT_METHOD)
        fam = compute_families(data, DEFAULT_METHOD)
        for u, row in zip(data.urn.tolist(), data.urn[fam.index].tolist(), strict=True):
            families[u] = row
            phase_of[u] = phase
    return Inputs(
        links=load_links(pack),
        schools=schools,
        results=load_results(pack),
        families=families,
        phase_of=phase_of,
        families_source=f"computed from the pack with similarity.core ({DEFAULT_METHOD.hash})",
        trust_of=load_trusts(pack),
        support=pd.DataFrame(columns=["urn", "date", "support_type"]),
    )
