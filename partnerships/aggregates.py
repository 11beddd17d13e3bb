"""Trust (chain) aggregates: pure maths, no Django import. numpy arrays in, dataclasses out.

Used by `partnerships.services.recompute` (fed from the database) and by the tests and benchmark.

Pupil-weighted results (`weighted_mean`)
    For one trust, key stage, year and measure, each member i contributes its value x_i (from its own URN or the
    predecessor that holds results, see `map_to_results`) with weight w_i = its cohort (TELIG for KS2, TPUP for
    KS4; for 2018/19, whose files in the pack carry no cohort count, the same URN's 2017/18 cohort).
        mean = Σ w_i x_i / Σ w_i
        SE   = sqrt(Σ w_i² SE_i²) / Σ w_i            (members independent)
        CI   = mean ± 1.96 · SE
    SE_i by unit: progress and scaled/point scores SE_i = σ/√n_i with the pupil-level σ of similarity/method.py
    (KS2 progress 6.0, Progress 8 1.2, Attainment 8 20, EBacc APS 2.0, KS2 scaled scores 7.0); percentages
    SE_i = 100·sqrt(p(1-p)/n_i) (binomial). n_i = w_i.

Geography (`geography`)
    Centroid = normalised mean of the members' unit vectors on the sphere; great-circle (haversine) distances in
    miles (R = 3958.8). Label (documented on the methodology section of the trust page):
        compact    max distance between two members ≤ 25 miles and 1–2 local authorities
        regional   max pair distance ≤ 75 miles (and not compact)
        dispersed  anything larger
    A trust with one located member is "compact"; with none, "unknown".

Grants (`grant`)
    £per_chain once, plus £small per school with fewer than 100 pupils and £medium per school with 100–210
    pupils (number on roll, latest census). Amounts are passed in (settings), never fixed here.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from schoolpartners.geo import EARTH_RADIUS_MILES, haversine_miles  # noqa: F401  (re-exported)

Z = 1.96

#: Pupil-level standard deviations, the constants of similarity/method.py (DEFAULT_SIGMA).
SIGMA: dict[str, float] = {
    "READPROG": 6.0,
    "WRITPROG": 6.0,
    "MATPROG": 6.0,
    "P8MEA": 1.2,
    "ATT8SCR": 20.0,
    "EBACCAPS": 2.0,
    "READ_AVERAGE": 7.0,
    "MAT_AVERAGE": 7.0,
    "GPS_AVERAGE": 7.0,
}

#: Measures aggregated per key stage, and the cohort measure that weights them.
KS_MEASURES: dict[int, tuple[str, ...]] = {
    2: ("READPROG", "WRITPROG", "MATPROG", "PTRWM_EXP", "PTRWM_HIGH", "READ_AVERAGE", "MAT_AVERAGE"),
    4: ("P8MEA", "ATT8SCR", "PTL2BASICS_95", "PTEBACC_E_PTQ_EE", "EBACCAPS"),
}
COHORT: dict[int, str] = {2: "TELIG", 4: "TPUP"}

#: Results years (the year the academic year ends) and key stages the member mapping and trust figures cover.
YEARS: tuple[int, ...] = (2016, 2017, 2018, 2019)
KEY_STAGES: tuple[int, ...] = (2, 4)
PERCENT_MEASURES = frozenset({"PTRWM_EXP", "PTRWM_HIGH", "PTL2BASICS_95", "PTEBACC_E_PTQ_EE"})
PROGRESS_MEASURES = frozenset({"READPROG", "WRITPROG", "MATPROG", "P8MEA"})

COMPACT_MAX_PAIR = 25.0
COMPACT_MAX_LAS = 2
REGIONAL_MAX_PAIR = 75.0


# --------------------------------------------------------------------------------------------- weighted means
@dataclass(frozen=True)
class WeightedMean:
    mean: float | None
    se: float | None
    low: float | None
    high: float | None
    schools: int
    pupils: int


def member_se(measure: str, values: np.ndarray, n: np.ndarray) -> np.ndarray:
    """SE_i of each member's value (see module docstring); NaN when it cannot be computed."""
    n = np.asarray(n, dtype=float)
    values = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure in PERCENT_MEASURES:
            p = np.clip(values / 100.0, 0.0, 1.0)
            return 100.0 * np.sqrt(p * (1 - p) / n)
        sigma = SIGMA.get(measure)
        if sigma is None:
            return np.full_like(values, np.nan)
        return sigma / np.sqrt(n)


def weighted_mean(
    measure: str, values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray, z: float = Z
) -> WeightedMean:
    """Pupil-weighted mean of one measure over a trust's members, with its confidence interval."""
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    x, w = x[ok], w[ok]
    if not len(x):
        return WeightedMean(None, None, None, None, 0, 0)
    total = float(w.sum())
    mean = float((w * x).sum() / total)
    se_i = member_se(measure, x, w)
    if np.all(np.isfinite(se_i)):
        se = float(math.sqrt(float((w**2 * se_i**2).sum())) / total)
        return WeightedMean(mean, se, mean - z * se, mean + z * se, len(x), int(round(total)))
    return WeightedMean(mean, None, None, None, len(x), int(round(total)))


def grouped_weighted_means(
    measure: str, groups: np.ndarray, values: np.ndarray, weights: np.ndarray, n_groups: int, z: float = Z
) -> dict[str, np.ndarray]:
    """`weighted_mean` for many trusts at once (groups = 0..n_groups-1 per row), vectorised with bincount.

    Returns arrays of length n_groups: mean, se, low, high (NaN where a group has no usable row), schools, pupils.
    Equal to calling `weighted_mean` on each group's rows.
    """
    g = np.asarray(groups, dtype=np.int64)
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    g, x, w = g[ok], x[ok], w[ok]
    se_i = member_se(measure, x, w)
    sw = np.bincount(g, weights=w, minlength=n_groups)
    swx = np.bincount(g, weights=w * x, minlength=n_groups)
    var = np.bincount(g, weights=np.nan_to_num(w**2 * se_i**2, nan=0.0), minlength=n_groups)
    bad = np.bincount(g, weights=(~np.isfinite(se_i)).astype(float), minlength=n_groups) > 0
    count = np.bincount(g, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(sw > 0, swx / sw, np.nan)
        se = np.where((sw > 0) & ~bad, np.sqrt(var) / sw, np.nan)
    return {
        "mean": mean,
        "se": se,
        "low": mean - z * se,
        "high": mean + z * se,
        "schools": count,
        "pupils": sw,
    }


# --------------------------------------------------------------------------------------------- geography


@dataclass(frozen=True)
class Geography:
    located: int
    centroid_lat: float | None
    centroid_lon: float | None
    to_centroid: tuple[float, ...]  # miles, in the order of the located input rows
    median_centroid_miles: float | None
    max_centroid_miles: float | None
    max_pair_miles: float | None
    share_pairs_within_50: float | None  # None with fewer than 2 located members
    n_las: int
    label: str


def compactness(max_pair: float | None, n_las: int, located: int) -> str:
    if located == 0:
        return "unknown"
    if located == 1 or (max_pair is not None and max_pair <= COMPACT_MAX_PAIR and n_las <= COMPACT_MAX_LAS):
        return "compact"
    if max_pair is not None and max_pair <= REGIONAL_MAX_PAIR:
        return "regional"
    return "dispersed"


def geography(
    lat: Sequence[float] | np.ndarray, lon: Sequence[float] | np.ndarray, las: Iterable[object] = ()
) -> Geography:
    """Spread of a trust's members; rows with a missing coordinate are ignored for distances."""
    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    ok = np.isfinite(la) & np.isfinite(lo)
    la, lo = la[ok], lo[ok]
    n_las = len({x for x in las if x not in (None, "")})
    if not len(la):
        return Geography(0, None, None, (), None, None, None, None, n_las, "unknown")
    phi, lam = np.radians(la), np.radians(lo)
    v = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=1).mean(axis=0)
    c_lat = float(np.degrees(np.arctan2(v[2], math.hypot(v[0], v[1]))))
    c_lon = float(np.degrees(np.arctan2(v[1], v[0])))
    d = haversine_miles(la, lo, c_lat, c_lon)
    if len(la) >= 2:
        pair = haversine_miles(la[:, None], lo[:, None], la[None, :], lo[None, :])
        iu = np.triu_indices(len(la), k=1)
        pairs = pair[iu]
        max_pair: float | None = float(pairs.max())
        share: float | None = float((pairs <= 50.0).mean())
    else:
        max_pair, share = 0.0, None
    return Geography(
        located=int(len(la)),
        centroid_lat=c_lat,
        centroid_lon=c_lon,
        to_centroid=tuple(float(x) for x in d),
        median_centroid_miles=float(np.median(d)),
        max_centroid_miles=float(d.max()),
        max_pair_miles=max_pair,
        share_pairs_within_50=share,
        n_las=n_las,
        label=compactness(max_pair, n_las, int(len(la))),
    )


# --------------------------------------------------------------------------------------------- member -> results
@dataclass(frozen=True)
class Mapped:
    urn: int
    results_urn: int | None
    hops: int  # 0 direct, 1 one link, >= 2 chain; 0 with results_urn None when not found
    path: tuple[int, ...] = field(default=())

    @property
    def method(self) -> str:
        if self.results_urn is None:
            return "none"
        return "direct" if self.hops == 0 else ("link" if self.hops == 1 else "chain")


def _rank(urn: int, size: Mapping[int, float], roll: Mapping[int, float]) -> tuple[float, float, int]:
    """Merger order: larger cohort, else larger census roll, else lower URN (missing counts as smallest)."""
    c, r = size.get(urn), roll.get(urn)
    return (
        -(float(c) if c is not None and c == c else -1.0),
        -(float(r) if r is not None and r == r else -1.0),
        urn,
    )


def map_to_results(
    urn: int,
    predecessors: Mapping[int, Sequence[int]],
    has_results: set[int] | frozenset[int],
    size: Mapping[int, float] | None = None,
    max_hops: int = 20,
    roll: Mapping[int, float] | None = None,
) -> Mapped:
    """Nearest URN with results: the URN itself, else breadth-first through predecessor links.

    Cycles are guarded (a URN is visited once). When several predecessors at the same distance hold results
    (a merger), the one with the larger `size` (cohort) wins, else the larger `roll` (census number on roll),
    else the lower URN.
    """
    if urn in has_results:
        return Mapped(urn, urn, 0, (urn,))
    seen = {urn}
    frontier: deque[tuple[int, tuple[int, ...]]] = deque([(urn, (urn,))])
    hops = 0
    while frontier and hops < max_hops:
        hops += 1
        nxt: list[tuple[int, tuple[int, ...]]] = []
        for u, path in frontier:
            for p in predecessors.get(u, ()):
                if p in seen:
                    continue
                seen.add(p)
                nxt.append((p, (*path, p)))
        hits = [(p, path) for p, path in nxt if p in has_results]
        if hits:
            p, path = min(hits, key=lambda h: _rank(h[0], size or {}, roll or {}))
            return Mapped(urn, p, hops, path)
        frontier = deque(nxt)
    return Mapped(urn, None, 0, ())


# --------------------------------------------------------------------------------------------- grants
@dataclass(frozen=True)
class GrantLine:
    urn: int | None
    name: str
    pupils: int | None
    band: str  # "fewer than 100", "100-210", "over 210", "not known"
    amount: int


@dataclass(frozen=True)
class Grant:
    per_chain: int
    lines: tuple[GrantLine, ...]
    total: int
    small_schools: int
    medium_schools: int


def grant(
    schools: Sequence[tuple[int | None, str, int | None]], per_chain: int, per_small: int, per_medium: int
) -> Grant:
    """Grant for primary schools forming or joining one chain. `schools` = (urn, name, pupils on roll)."""
    lines = []
    small = medium = 0
    for urn, name, pupils in schools:
        if pupils is None:
            band, amount = "not known", 0
        elif pupils < 100:
            band, amount = "fewer than 100", per_small
            small += 1
        elif pupils <= 210:
            band, amount = "100-210", per_medium
            medium += 1
        else:
            band, amount = "over 210", 0
        lines.append(GrantLine(urn, name, pupils, band, amount))
    total = per_chain + sum(line.amount for line in lines)
    return Grant(per_chain, tuple(lines), total, small, medium)
