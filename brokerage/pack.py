"""The national brokerage instance straight from the data pack (pure: pandas/numpy, no Django).

For the benchmark: the same rules as `brokerage.services` (data-identified needs, default offers), applied to
the pack's 2018/19 frames (`similarity.pack.load_frames`), the similarity core's families and strengths, and the
latest inspection per school from `ofsted/ofsted_ratings_2018.csv`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brokerage.engine import Needs, Supporters
from similarity.core import compute_families, compute_strengths, prepare_phase
from similarity.method import DEFAULT_METHOD
from similarity.pack import load_frames

AREAS = (
    "leadership",
    "governance",
    "english",
    "maths",
    "send",
    "behaviour_attendance",
    "curriculum",
    "early_years",
    "finance_operations",
)
AREA_INDEX = {a: i for i, a in enumerate(AREAS)}
NEED_RATINGS = {
    "requires improvement": 2,
    "satisfactory": 1,
    "serious weaknesses": 3,
    "special measures": 3,
    "inadequate": 3,
}
ELIGIBLE = {"good", "outstanding"}
KS2_THRESHOLD, P8_THRESHOLD, MIN_YEARS_BELOW, STRONG_Z = -2.0, -0.5, 2, 0.5
AREA_MEASURES: dict[str, dict[str, tuple[str, ...]]] = {
    "english": {"primary": ("READPROG", "WRITPROG"), "secondary": ("PTL2BASICS_95",)},
    "maths": {"primary": ("MATPROG",), "secondary": ("PTL2BASICS_95",)},
    "curriculum": {"primary": ("READPROG", "WRITPROG", "MATPROG"), "secondary": ("P8MEA", "ATT8SCR")},
    "leadership": {"primary": ("READPROG", "WRITPROG", "MATPROG"), "secondary": ("P8MEA",)},
}
PHASE_BIT = {"primary": 1, "secondary": 2}


@dataclass
class Instance:
    needs: Needs
    supporters: Supporters
    need_region: np.ndarray
    need_la: np.ndarray
    counts: dict[str, int]


def latest_ratings(pack: Path) -> pd.Series:
    df = pd.read_csv(pack / "ofsted" / "ofsted_ratings_2018.csv", dtype=str, keep_default_na=False)
    df["date"] = pd.to_datetime(df["Inspection Date"], format="%Y%m%d", errors="coerce")
    df = df.sort_values(["URN", "date"]).drop_duplicates("URN", keep="last")
    return pd.Series(df["Rating"].str.strip().str.lower().to_numpy(), index=df["URN"].astype(int).to_numpy())


def _below_years(cols: list[np.ndarray], thr: float) -> tuple[np.ndarray, np.ndarray]:
    stack = np.column_stack(cols)
    with np.errstate(invalid="ignore"):
        below = (stack < thr).sum(axis=1)
    latest = stack[:, -1]
    return below, latest


def build(pack: Path) -> Instance:
    frames = load_frames(pack)
    ratings = latest_ratings(pack)
    need_rows: list[tuple[int, int, int, int, np.ndarray, float, str, str, float, float]] = []
    sup_parts = []
    counts: dict[str, int] = {}
    all_X = []
    for phase, df in frames.items():
        data = prepare_phase(df, phase, DEFAULT_METHOD)
        fam = compute_families(data, DEFAULT_METHOD)
        st = compute_strengths(data, fam, DEFAULT_METHOD)
        idx = {m: k for k, m in enumerate(st.measures)}
        frame = df.set_index("URN").loc[data.urn]
        rating = np.array([ratings.get(int(u), "") for u in data.urn], dtype=object)
        la = frame["LA"].to_numpy()

        def z_of(area: str, phase: str = phase, st: Any = st, idx: dict[str, int] = idx) -> np.ndarray:
            codes = [c for c in AREA_MEASURES[area][phase] if c in idx]
            if not codes:
                return np.full(len(st.z), np.nan)
            with np.errstate(all="ignore"):
                return np.nanmean(np.column_stack([st.z[:, idx[c]] for c in codes]), axis=1)

        zs = {a: z_of(a) for a in AREA_MEASURES}
        needs: dict[tuple[int, str], int] = {}
        for i, r in enumerate(rating):
            sev = NEED_RATINGS.get(r)
            if sev:
                needs[(i, "leadership")] = sev

        def num(c: str, frame: pd.DataFrame = frame) -> np.ndarray:
            if c not in frame:
                return np.full(len(frame), np.nan)
            return pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)

        if phase == "primary":
            checks = {
                "english": (
                    [(num(f"READPROG{s}") + num(f"WRITPROG{s}")) / 2 for s in ("_2017", "_2018", "")],
                    KS2_THRESHOLD,
                ),
                "maths": ([num(f"MATPROG{s}") for s in ("_2017", "_2018", "")], KS2_THRESHOLD),
            }
        else:
            checks = {"curriculum": ([num(f"P8MEA{s}") for s in ("_2017", "_2018", "")], P8_THRESHOLD)}
        for area, (cols, thr) in checks.items():
            below, latest = _below_years(cols, thr)
            for i in np.flatnonzero(below >= MIN_YEARS_BELOW):
                needs[(int(i), area)] = max(needs.get((int(i), area), 0), 3 if latest[i] < 2 * thr else 2)
        in_need = np.zeros(data.n, dtype=bool)
        for i, _a in needs:
            in_need[i] = True
        counts[f"{phase}_schools"] = data.n
        counts[f"{phase}_needs"] = len(needs)
        counts[f"{phase}_schools_in_need"] = int(in_need.sum())
        for (i, area), sev in needs.items():
            need_rows.append(
                (
                    int(data.urn[i]),
                    PHASE_BIT[phase],
                    AREA_INDEX[area],
                    sev,
                    data.X[i],
                    float(zs.get(area, np.full(data.n, np.nan))[i]) if area in zs else float("nan"),
                    str(data.region[i]),
                    str(la[i]),
                    float(data.lat[i]),
                    float(data.lon[i]),
                )
            )
        eligible = np.isin(rating, list(ELIGIBLE)) & ~in_need
        area_mask = np.zeros(data.n, dtype=np.int64)
        for a, z in zs.items():
            area_mask |= (np.nan_to_num(z, nan=-9) >= STRONG_Z).astype(np.int64) << AREA_INDEX[a]
        area_mask |= (rating == "outstanding").astype(np.int64) << AREA_INDEX["leadership"]
        keep = eligible & (area_mask > 0)
        strength = np.full((data.n, len(AREAS)), np.nan)
        for a, z in zs.items():
            strength[:, AREA_INDEX[a]] = z
        sup_parts.append(
            (
                data.urn[keep],
                data.lat[keep],
                data.lon[keep],
                np.full(keep.sum(), PHASE_BIT[phase]),
                area_mask[keep],
                data.X[keep],
                strength[keep],
            )
        )
        counts[f"{phase}_offers"] = int(keep.sum())
        all_X.append(data.X)
    n = len(need_rows)
    F = all_X[0].shape[1]
    needs_arr = Needs(
        school=np.array([r[0] for r in need_rows], dtype=np.int64),
        lat=np.array([r[8] for r in need_rows]),
        lon=np.array([r[9] for r in need_rows]),
        phase=np.array([r[1] for r in need_rows], dtype=np.int64),
        area=np.array([r[2] for r in need_rows], dtype=np.int64),
        severity=np.array([r[3] for r in need_rows], dtype=np.int64),
        X=np.array([r[4] for r in need_rows]).reshape(n, F),
        strength=np.array([r[5] for r in need_rows]),
        trust=np.full(n, -1, dtype=np.int64),
    )
    m = sum(len(p[0]) for p in sup_parts)
    sup = Supporters(
        school=np.concatenate([p[0] for p in sup_parts]).astype(np.int64),
        lat=np.concatenate([p[1] for p in sup_parts]),
        lon=np.concatenate([p[2] for p in sup_parts]),
        phases=np.concatenate([p[3] for p in sup_parts]).astype(np.int64),
        areas=np.concatenate([p[4] for p in sup_parts]).astype(np.int64),
        capacity=np.full(m, 2, dtype=np.int64),
        max_miles=np.full(m, np.inf),
        X=np.concatenate([p[5] for p in sup_parts]),
        strength=np.concatenate([p[6] for p in sup_parts]),
        trust=np.full(m, -1, dtype=np.int64),
    )
    counts["needs"], counts["offers"] = n, m
    return Instance(
        needs_arr,
        sup,
        np.array([r[6] for r in need_rows], dtype=object),
        np.array([r[7] for r in need_rows], dtype=object),
        counts,
    )
