"""Similar schools: families, partners, coverage, strengths/weaknesses and challenge pairs (pure: no Django).

Input: one pandas DataFrame per phase ("primary", "secondary") with these columns (see `similarity.pack` for a
loader from the data pack; the app builds the same shape from the database):

- ``URN`` (int), ``LAT``, ``LON`` (degrees), ``REGION`` (str, may be empty)
- the feature columns named in ``Method.features`` (default PNUMFSMEVER, PNUMEAL, PSEN, LOG_NOR)
- the headline result columns (default primary READPROG, WRITPROG, MATPROG; secondary P8MEA), matching year
- ``PUPILS``: pupils at the end of the key stage (n for standard errors; NaN when unknown)
- optionally the measure columns of ``Method.measures`` (missing columns are skipped)
- optionally history for the robust rule: ``<headline column>_<year>`` (e.g. ``READPROG_2017``) and
  ``PUPILS_<year>`` for each year of ``Method.robust_years`` other than ``Method.year``

Output: frozen dataclasses of numpy arrays; row ``i`` of every array is school ``PhaseData.urn[i]`` and the
rows are sorted by URN, so "ties broken by lower URN" is "ties broken by lower row index".

Everything is vectorised: features are standardised once, families come from a KD-tree in feature space
(exact (distance, URN) ordering restored on a few extra neighbours), and great-circle distances are computed
only for the N × family-size pairs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from schoolpartners.geo import haversine_miles  # noqa: F401  (re-exported: similarity.core.haversine_miles)
from schools.measures import MEASURES, Unit
from similarity.method import DEFAULT_METHOD, Method
from similarity.strengths import (  # noqa: F401  (re-exported: similarity.core is the public entry point)
    NEITHER,
    STRENGTH,
    WEAKNESS,
    ChallengeMatrix,
    ChallengePair,
    Strengths,
    challenge_pairs,
    compute_challenge,
    compute_strengths,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

NO_PARTNER = -1


# ---------------------------------------------------------------------------------------------------------------
# Building blocks shared by the fast and the naive (benchmark baseline) implementations
# ---------------------------------------------------------------------------------------------------------------
def squared_distance(a: FloatArray, b: FloatArray) -> FloatArray:
    """Squared Euclidean distance between broadcastable (..., F) arrays, summed feature by feature in a fixed
    order so that every implementation gets bit-identical values (ties can then be compared exactly)."""
    out = np.square(a[..., 0] - b[..., 0])
    for f in range(1, a.shape[-1]):
        out += np.square(a[..., f] - b[..., f])
    return out


def is_percent(code: str) -> bool:
    m = MEASURES.get(code)
    return m.unit == Unit.PERCENT if m is not None else code.startswith("PT")


def standard_errors(values: FloatArray, pupils: FloatArray, code: str, method: Method) -> FloatArray:
    """SE of a school's published figure: binomial sqrt(p(1-p)/n)*100 for a percentage (p clipped to
    [0.5/n, 1-0.5/n] so 0% and 100% keep a non-zero SE), sigma/sqrt(n) for a score; NaN when unknown."""
    n = np.where(pupils > 0, pupils, np.nan)
    if is_percent(code):
        p = np.clip(values / 100.0, 0.5 / n, 1.0 - 0.5 / n)
        return np.sqrt(p * (1.0 - p) / n) * 100.0
    sigma = method.sigma_for(code)
    if sigma is None:
        return np.full_like(values, np.nan, dtype=np.float64)
    return np.where(np.isnan(values), np.nan, sigma / np.sqrt(n))


# ---------------------------------------------------------------------------------------------------------------
# Prepared population
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhaseData:
    """One phase's population, sorted by URN, with standardised features."""

    phase: str
    urn: IntArray
    lat: FloatArray
    lon: FloatArray
    region: NDArray[np.object_]
    features: FloatArray  # N x F raw
    feature_sd: FloatArray  # F, population SD (ddof=0)
    X: FloatArray  # N x F, standardised and weighted: raw / sd * sqrt(weight)
    headline: FloatArray  # N
    pupils: FloatArray  # N (NaN unknown)
    headline_se: FloatArray  # N, sigma_headline / sqrt(pupils)
    headline_avg: FloatArray  # N, mean over the robust years available (includes the matching year)
    measures: tuple[str, ...]
    values: FloatArray  # N x M measure values (NaN missing)
    se: FloatArray  # N x M standard errors (NaN unknown)
    excluded: Mapping[str, int] = field(default_factory=dict)  # reason -> number of rows dropped
    #: N: may be a partner (latest Ofsted judgement not excluded by the method); all True when not given
    eligible: BoolArray | None = None

    @property
    def n(self) -> int:
        return int(self.urn.shape[0])

    def index_of(self, urn: int) -> int:
        i = int(np.searchsorted(self.urn, urn))
        if i >= self.n or self.urn[i] != urn:
            raise KeyError(urn)
        return i


def _num(df: pd.DataFrame, col: str) -> FloatArray:
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)


def headline_of(df: pd.DataFrame, cols: Sequence[str], suffix: str = "") -> FloatArray:
    """Mean of the headline columns; NaN unless every one is present."""
    stack = np.column_stack([_num(df, c + suffix) for c in cols])
    return stack.mean(axis=1)  # NaN propagates: all columns required


def prepare_phase(df: pd.DataFrame, phase: str, method: Method = DEFAULT_METHOD) -> PhaseData:
    """Select the population (headline, coordinates and every feature present), sort by URN, standardise."""
    feats = method.feature_names
    head_cols = method.headline_columns(phase)
    excluded: dict[str, int] = {}
    work = df.copy()
    work["_H"] = headline_of(work, head_cols)
    checks = [
        ("no headline", work["_H"].notna() if method.require_headline else pd.Series(True, index=work.index)),
        ("no coordinates", work[["LAT", "LON"]].apply(pd.to_numeric, errors="coerce").notna().all(axis=1)),
    ]
    for f in feats:
        checks.append((f"no {f}", pd.Series(np.isfinite(_num(work, f)), index=work.index)))
    keep = pd.Series(True, index=work.index)
    for reason, ok in checks:
        drop = keep & ~ok
        if drop.any():
            excluded[reason] = int(drop.sum())
        keep &= ok
    work = work[keep]
    if work["URN"].duplicated().any():
        raise ValueError(f"duplicate URNs in the {phase} frame")
    work = work.sort_values("URN", kind="stable").reset_index(drop=True)

    raw = np.column_stack([_num(work, f) for f in feats]) if len(work) else np.zeros((0, len(feats)))
    sd = raw.std(axis=0, ddof=0) if len(work) else np.ones(len(feats))
    sd = np.where(sd > 0, sd, 1.0)
    X = np.ascontiguousarray(raw / sd * np.sqrt(np.asarray(method.feature_weights, dtype=np.float64)))

    headline = work["_H"].to_numpy(dtype=np.float64)
    pupils = _num(work, "PUPILS")
    sig = method.headline_sigma(phase)
    headline_se = sig / np.sqrt(np.where(pupils > 0, pupils, np.nan))

    yearly = []
    for y in method.robust_years:
        yearly.append(headline if y == method.year else headline_of(work, head_cols, f"_{y}"))
    with np.errstate(all="ignore"):
        stack = np.column_stack(yearly) if yearly else headline[:, None]
        cnt = np.isfinite(stack).sum(axis=1)
        headline_avg = np.where(cnt > 0, np.nansum(stack, axis=1) / np.maximum(cnt, 1), np.nan)

    measures = tuple(m for m in method.measures_for(phase) if m in work.columns)
    values = np.column_stack([_num(work, m) for m in measures]) if measures else np.zeros((len(work), 0))
    se = (
        np.column_stack([standard_errors(values[:, k], pupils, m, method) for k, m in enumerate(measures)])
        if measures
        else np.zeros((len(work), 0))
    )
    region = (
        work["REGION"].fillna("").astype(str).to_numpy(dtype=object)
        if "REGION" in work
        else (np.full(len(work), "", dtype=object))
    )
    excluded_ratings = set(method.partner_exclude_ratings)
    eligible = (
        ~work["OFSTED"].fillna("").astype(str).isin(excluded_ratings).to_numpy(dtype=bool)
        if "OFSTED" in work and excluded_ratings
        else np.ones(len(work), dtype=bool)
    )
    return PhaseData(
        eligible=eligible,
        phase=phase,
        urn=work["URN"].to_numpy(dtype=np.int64),
        lat=_num(work, "LAT"),
        lon=_num(work, "LON"),
        region=region,
        features=raw,
        feature_sd=sd,
        X=X,
        headline=headline,
        pupils=pupils,
        headline_se=headline_se,
        headline_avg=headline_avg,
        measures=measures,
        values=values,
        se=se,
        excluded=excluded,
    )


# ---------------------------------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Families:
    """Row i: the family of school i, most similar first (ties by lower URN)."""

    index: IntArray  # N x K row indices into PhaseData
    distance: FloatArray  # N x K Euclidean distance in standardised feature space
    miles: FloatArray  # N x K great-circle miles from school i

    @property
    def size(self) -> int:
        return int(self.index.shape[1])


def compute_families(data: PhaseData, method: Method = DEFAULT_METHOD, extra: int = 2) -> Families:
    """K nearest same-phase schools in feature space, self excluded, exact ties broken by lower URN.

    The KD-tree returns ``K + 1 + extra`` candidates (extra = 2 by default); candidate distances are
    recomputed with `squared_distance` and sorted by (distance, URN). If the K-th neighbour's distance is not
    strictly below the farthest candidate's (a tie could continue past the candidates), that row is
    re-queried with twice as many candidates until it is.
    """
    N = data.n
    K = min(method.family_size, max(N - 1, 0))
    if N == 0 or K == 0:
        z = np.zeros((N, 0))
        return Families(z.astype(np.int64), z, z)
    X = data.X
    tree = cKDTree(X)
    k0 = min(N, K + 1 + extra)
    idx = np.empty((N, K), dtype=np.int64)
    dd = np.empty((N, K))
    todo = np.arange(N)
    while todo.size:
        dist, cand = tree.query(X[todo], k=k0, workers=-1)
        cand = np.asarray(cand, dtype=np.int64).reshape(len(todo), k0)
        dist = np.asarray(dist, dtype=np.float64).reshape(len(todo), k0)
        sub_i, sub_d, boundary = _order_candidates_rows(X, cand, todo, K)
        if k0 >= N:
            complete = np.ones(len(todo), dtype=bool)
        else:
            # farthest candidate strictly beyond the boundary (small relative margin for KD-tree rounding)
            complete = np.sqrt(boundary) * (1 + 1e-9) + 1e-12 < dist[:, -1]
        idx[todo[complete]] = sub_i[complete]
        dd[todo[complete]] = sub_d[complete]
        todo = todo[~complete]
        k0 = min(N, 2 * k0)
    miles = haversine_miles(
        data.lat[:, None], data.lon[:, None], data.lat[idx], data.lon[idx], method.earth_radius_miles
    )
    return Families(index=idx, distance=np.sqrt(dd), miles=miles)


def _order_candidates_rows(
    X: FloatArray, cand: IntArray, rows: IntArray, K: int
) -> tuple[IntArray, FloatArray, FloatArray]:
    """For query rows `rows` and their KD-tree candidates: drop self, recompute exact squared distances with
    `squared_distance`, sort by (d2, URN index). Returns the first K indices, their d2, and the K-th d2."""
    N = X.shape[0]
    cand = np.where(cand >= N, rows[:, None], cand)
    d2 = squared_distance(X[cand], X[rows][:, None, :])
    self_mask = cand == rows[:, None]
    d2 = np.where(self_mask, np.inf, d2)
    key_idx = np.where(self_mask, N, cand)
    order = np.lexsort((key_idx, d2), axis=-1)
    idx = np.take_along_axis(cand, order, axis=1)[:, :K]
    dd = np.take_along_axis(d2, order, axis=1)[:, :K]
    return idx, dd, dd[:, K - 1]


# ---------------------------------------------------------------------------------------------------------------
# Partners
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Partners:
    """Row i: the nearest (great-circle) better-performing member of school i's family."""

    index: IntArray  # N, row index of the partner or NO_PARTNER (-1)
    miles: FloatArray  # N, NaN without a partner
    within_radius: BoolArray  # N
    top_of_family: BoolArray  # N: no family member is better
    robust: bool = False

    def covered(self, radius: float) -> BoolArray:
        with np.errstate(invalid="ignore"):
            return (self.index != NO_PARTNER) & (self.miles <= radius)


def better_mask(data: PhaseData, fam: Families, method: Method, robust: bool) -> BoolArray:
    """N x K: is family member k better than school i? Default: strictly higher headline. Robust: also a
    higher average over the robust years available, and headline gap > z * sqrt(SE_i^2 + SE_k^2)."""
    hi = data.headline[:, None]
    hk = data.headline[fam.index]
    better = hk > hi
    if robust:
        with np.errstate(invalid="ignore"):
            gap_avg = data.headline_avg[fam.index] - data.headline_avg[:, None]
            combined = np.sqrt(np.square(data.headline_se[:, None]) + np.square(data.headline_se[fam.index]))
            better &= (gap_avg > 0) & ((hk - hi) > method.z * combined)
    return better


def nearest_better(fam: Families, better: BoolArray, radius: float) -> Partners:
    """Nearest better member by miles; equal miles -> lower URN (row index)."""
    N = fam.index.shape[0]
    if fam.index.shape[1] == 0:
        empty = np.zeros(N, dtype=bool)
        return Partners(np.full(N, NO_PARTNER, dtype=np.int64), np.full(N, np.nan), empty, ~empty)
    m = np.where(better, fam.miles, np.inf)
    mn = m.min(axis=1)
    has = np.isfinite(mn)
    cand = np.where(better & (m == mn[:, None]), fam.index, np.iinfo(np.int64).max)
    idx = np.where(has, cand.min(axis=1), NO_PARTNER)
    miles = np.where(has, mn, np.nan)
    with np.errstate(invalid="ignore"):
        within = has & (miles <= radius)
    top: BoolArray = np.asarray(~better.any(axis=1), dtype=bool)
    return Partners(index=idx.astype(np.int64), miles=miles, within_radius=within, top_of_family=top)


def compute_partners(
    data: PhaseData,
    fam: Families,
    method: Method = DEFAULT_METHOD,
    robust: bool = False,
    any_rating: bool = False,
) -> Partners:
    """Nearest better member; unless `any_rating`, only members whose latest Ofsted judgement the method
    allows (`PhaseData.eligible`). `top_of_family` means no member at all is better (whatever its rating),
    and never holds for a school without a headline (it is not compared)."""
    better = better_mask(data, fam, method, robust)
    top = ~better.any(axis=1) if better.shape[1] else np.ones(data.n, dtype=bool)
    if not any_rating and data.eligible is not None and fam.size:
        better = better & data.eligible[fam.index]
    p = nearest_better(fam, better, method.radius_miles)
    top = np.asarray(top & np.isfinite(data.headline), dtype=bool)
    return Partners(p.index, p.miles, p.within_radius, top, robust=robust)


# ---------------------------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoverageRow:
    phase: str
    region: str  # "" = England
    robust: bool
    radius_miles: float
    schools: int
    covered: int

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.schools if self.schools else float("nan")


def coverage_rows(data: PhaseData, partners: Partners, radii: Sequence[float]) -> list[CoverageRow]:
    """Share of schools with a better family member within R miles, for England ("") and each region."""
    rows: list[CoverageRow] = []
    regions = sorted({str(r) for r in data.region if r})
    groups: list[tuple[str, BoolArray]] = [("", np.ones(data.n, dtype=bool))]
    groups += [(r, data.region == r) for r in regions]
    for radius in radii:
        cov = partners.covered(radius)
        for name, mask in groups:
            rows.append(
                CoverageRow(
                    data.phase, name, partners.robust, float(radius), int(mask.sum()), int(cov[mask].sum())
                )
            )
    return rows


@dataclass(frozen=True)
class Coverage:
    rows: tuple[CoverageRow, ...]

    def percent(self, phase: str, radius: float, robust: bool = False, region: str = "") -> float:
        for r in self.rows:
            if r.phase == phase and r.radius_miles == radius and r.robust == robust and r.region == region:
                return r.percent
        raise KeyError((phase, radius, robust, region))

    def curve(self, phase: str, robust: bool = False, region: str = "") -> dict[float, float]:
        return {
            r.radius_miles: r.percent
            for r in self.rows
            if r.phase == phase and r.robust == robust and r.region == region
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "phase": r.phase,
                    "region": r.region,
                    "robust": r.robust,
                    "radius_miles": r.radius_miles,
                    "schools": r.schools,
                    "covered": r.covered,
                    "percent": r.percent,
                }
                for r in self.rows
            ]
        )


# ---------------------------------------------------------------------------------------------------------------
# National recompute
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhaseResult:
    data: PhaseData
    families: Families
    partners: Partners  # default rule
    robust_partners: Partners  # robust rule
    strengths: Strengths
    challenge: ChallengeMatrix | None
    any_rating_partners: Partners | None = None  # default rule without the Ofsted condition

    def selected_partners(self, method: Method) -> Partners:
        return self.robust_partners if method.robust else self.partners


@dataclass(frozen=True)
class NationalResult:
    method: Method
    phases: Mapping[str, PhaseResult]
    coverage: Coverage
    seconds: Mapping[str, float]  # step -> wall seconds

    @property
    def populations(self) -> dict[str, int]:
        return {p: r.data.n for p, r in self.phases.items()}


def recompute_phase(
    df: pd.DataFrame,
    phase: str,
    method: Method = DEFAULT_METHOD,
    with_challenge: bool = True,
    timings: dict[str, float] | None = None,
) -> PhaseResult:
    t = timings if timings is not None else {}

    def tick(name: str, t0: float) -> float:
        now = time.perf_counter()
        t[f"{phase}.{name}"] = now - t0
        return now

    t0 = time.perf_counter()
    data = prepare_phase(df, phase, method)
    t0 = tick("prepare", t0)
    fam = compute_families(data, method)
    t0 = tick("families", t0)
    partners = compute_partners(data, fam, method, robust=False)
    robust = compute_partners(data, fam, method, robust=True)
    any_rating = compute_partners(data, fam, method, robust=False, any_rating=True)
    t0 = tick("partners", t0)
    st = compute_strengths(data, fam, method)
    t0 = tick("strengths", t0)
    ch = compute_challenge(data, fam, st, method) if with_challenge else None
    tick("challenge", t0)
    return PhaseResult(data, fam, partners, robust, st, ch, any_rating)


def national_recompute(
    frames: Mapping[str, pd.DataFrame], method: Method = DEFAULT_METHOD, with_challenge: bool = True
) -> NationalResult:
    """Families, partners (default and robust), coverage by phase and region, strengths and challenge pairs
    for every phase in `frames`."""
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    phases: dict[str, PhaseResult] = {}
    rows: list[CoverageRow] = []
    for phase, df in frames.items():
        res = recompute_phase(df, phase, method, with_challenge, timings)
        phases[phase] = res
        t0 = time.perf_counter()
        rows += coverage_rows(res.data, res.partners, method.coverage_radii)
        rows += coverage_rows(res.data, res.robust_partners, method.coverage_radii)
        timings[f"{phase}.coverage"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    return NationalResult(method, phases, Coverage(tuple(rows)), timings)


# ---------------------------------------------------------------------------------------------------------------
# One school, in the JSON shapes stored by similarity.models.SchoolSimilarity
# ---------------------------------------------------------------------------------------------------------------
def _f(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def school_summary(res: PhaseResult, urn: int, method: Method = DEFAULT_METHOD) -> dict[str, object]:
    d, fam = res.data, res.families
    i = d.index_of(urn)
    family = [
        {
            "urn": int(d.urn[j]),
            "rank": k + 1,
            "distance": float(fam.distance[i, k]),
            "miles": float(fam.miles[i, k]),
            "headline": float(d.headline[j]),
        }
        for k, j in enumerate(fam.index[i])
    ]

    def partner(p: Partners) -> dict[str, object]:
        j = int(p.index[i])
        return {
            "urn": int(d.urn[j]) if j != NO_PARTNER else None,
            "miles": _f(p.miles[i]),
            "within_radius": bool(p.within_radius[i]),
            "top_of_family": bool(p.top_of_family[i]),
        }

    st = res.strengths
    strengths = {
        m: {
            "value": _f(st.value[i, k]),
            "family_mean": _f(st.family_mean[i, k]),
            "family_sd": _f(st.family_sd[i, k]),
            "z": _f(st.z[i, k]),
            "percentile": _f(st.percentile[i, k]),
            "flag": int(st.flag[i, k]),
            "n": int(st.family_n[i, k]),
        }
        for k, m in enumerate(st.measures)
    }
    pairs = (
        [
            {
                "urn": p.urn,
                "miles": p.miles,
                "score": p.score,
                "gain_self": p.gain_self,
                "gain_other": p.gain_other,
                "we_learn": list(p.we_learn),
                "they_learn": list(p.they_learn),
            }
            for p in challenge_pairs(d, fam, res.challenge, i)
        ]
        if res.challenge is not None
        else []
    )
    return {
        "urn": urn,
        "phase": d.phase,
        "headline": float(d.headline[i]),
        "family": family,
        "partner": partner(res.selected_partners(method)),
        "default_partner": partner(res.partners),
        "robust_partner": partner(res.robust_partners),
        "strengths": strengths,
        "challenge_pairs": pairs,
    }
