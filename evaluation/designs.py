"""Credible 'what works' designs (pure: no Django): matched difference-in-differences, the pipeline control
and a staggered-robust event study. See docs/evaluation.md and docs/adr/0011-evaluation-designs-linearmodels.md.

All functions take one measure's panel ``Y[u, t]`` (units x years, NaN missing) and per-unit arrays.
Timing follows `evaluation.engine`: a treated unit has ``last_pre`` (the last results year before its event)
and ``first_post`` (the first year after it); a year between them is a transition year and is dropped.

Matched DiD (`matched_did`). Each treated unit is matched, with replacement, to its ``k`` nearest comparison
units from a pool (never-treated schools; or later converters for the pipeline design) on every available
pre-event year's result, the change between consecutive pre-event years and the pre-event intake (the tested
cohort's size and share of girls in the last pre-event year), standardised by the pool's spread, within a
caliper (standardised Euclidean distance / sqrt(covariates)). A treated unit is compared with comparison units
that have results in exactly its own pre and post years. Its difference is mean(post) - mean(pre); the effect
is the mean treated difference minus the matched comparisons' (weight 1/k each). Inference includes the
comparison side: the stacked treated and comparison rows are regressed (weighted least squares, statsmodels) on
a treated indicator with standard errors clustered by local authority (or trust), so every school's variance and
within-cluster correlation count, treated or comparison.

Event study (`event_study`). Sun & Abraham's interaction-weighted estimator: school and year fixed effects and
cohort x relative-year indicators (every relative year except -1, the reference), fitted with linearmodels'
`PanelOLS` with errors clustered by local authority; cohort-specific effects are averaged per relative year by
cohort share, and the post-event average by treated observations, with variances from the clustered
covariance matrix (weights held fixed).

Placebos (`rtm_pseudo_events`, `shift_events`): pseudo-events on never-treated units drawn to match the treated
units' pre-event gap distribution (the regression-to-the-mean test), and the real events moved two years
earlier on pre-event data only. A design whose placebo interval excludes 0 fails it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial import cKDTree

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

NOT_IN_WINDOW = 99


@dataclass(frozen=True)
class DesignSettings:
    k: int = 5  # nearest neighbours per treated school (with replacement)
    caliper: float = 0.25  # standardised distance / sqrt(covariates)
    level: float = 0.95
    min_treated: int = 20  # treated schools with a matched comparison needed to report a design
    seed: int = 20141101
    horizon: int | None = 0  # post years used: rel 0..horizon (None = every post year)
    shift: int = 2  # the fake-early placebo moves each event this many years earlier


DEFAULT_DESIGN = DesignSettings()


@dataclass(frozen=True)
class Interval:
    effect: float
    ci_low: float
    ci_high: float
    se: float
    n_treated: int
    n_comparison: int
    n_clusters: int

    @property
    def covers_zero(self) -> bool:
        return bool(self.ci_low <= 0.0 <= self.ci_high)

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.effect) and np.isfinite(self.ci_low) and np.isfinite(self.ci_high))


EMPTY = Interval(math.nan, math.nan, math.nan, math.nan, 0, 0, 0)


@dataclass(frozen=True)
class BalanceRow:
    covariate: str
    treated_mean: float
    pool_mean: float
    matched_mean: float
    smd_before: float
    smd_after: float
    n_treated: int


@dataclass(frozen=True)
class MatchedResult:
    estimate: Interval
    balance: tuple[BalanceRow, ...]
    n_events: int  # treated units given
    n_with_results: int  # with results before and after and intake
    n_matched: int  # with at least one comparison within the caliper
    matched_rows: tuple[int, ...] = field(default_factory=tuple)  # treated panel rows used


@dataclass(frozen=True)
class EventStudy:
    att: Interval  # post-event average
    coefs: dict[int, Interval]  # relative year -> aggregated coefficient (-1 is the reference, absent)
    n_treated: int
    n_comparison: int


def relative_years(years: IntArray, last_pre: IntArray, first_post: IntArray) -> IntArray:
    Yr = years[None, :]
    lp = last_pre[:, None]
    fp = first_post[:, None]
    return np.where(Yr >= fp, Yr - fp, np.where(Yr <= lp, Yr - lp - 1, NOT_IN_WINDOW)).astype(np.int64)


# ---------------------------------------------------------------------------------------------------------------
# Inference
# ---------------------------------------------------------------------------------------------------------------
def _crit(level: float, n_clusters: int) -> float:
    df = max(n_clusters - 1, 1)
    return float(stats.t.ppf(0.5 + level / 2, df))


def cluster_att(
    d_t: FloatArray,
    cl_t: IntArray,
    d_c: FloatArray,
    w_c: FloatArray,
    cl_c: IntArray,
    level: float = 0.95,
    n_comparison: int | None = None,
) -> Interval:
    """Weighted mean difference treated - comparison with cluster-robust errors (statsmodels WLS).

    Rows: treated differences (weight 1) and comparison differences (weight w_c, summing to len(d_t)); the
    coefficient on the treated indicator is the matched effect; clusters hold both sides.
    """
    import statsmodels.api as sm

    n_t = len(d_t)
    if n_t < 2 or len(d_c) == 0:
        return EMPTY
    y = np.concatenate([d_t, d_c])
    treat = np.concatenate([np.ones(n_t), np.zeros(len(d_c))])
    X = np.column_stack([np.ones_like(treat), treat])
    w = np.concatenate([np.ones(n_t), w_c])
    groups = np.unique(np.concatenate([cl_t, cl_c]), return_inverse=True)[1]
    g = int(groups.max()) + 1
    if g < 2:
        return EMPTY
    res = sm.WLS(y, X, weights=w).fit(cov_type="cluster", cov_kwds={"groups": groups})
    eff, se = float(res.params[1]), float(res.bse[1])
    c = _crit(level, g)
    n_comp = n_comparison if n_comparison is not None else len(d_c)
    return Interval(eff, eff - c * se, eff + c * se, se, n_t, n_comp, g)


# ---------------------------------------------------------------------------------------------------------------
# Matched difference-in-differences
# ---------------------------------------------------------------------------------------------------------------
BALANCE_NAMES = (
    "Result, last year before",
    "Result, two years before",
    "Change over the last year before",
    "Tested cohort size (log), last year before",
    "Girls in the tested cohort (%), last year before",
)


def _balance_vec(Y: FloatArray, X: FloatArray | None, rows: IntArray, t_lp: int) -> FloatArray:
    """Balance covariates (BALANCE_NAMES) of `rows` at last-pre column t_lp (NaN where missing)."""
    n = len(rows)
    out = np.full((n, len(BALANCE_NAMES)), np.nan)
    out[:, 0] = Y[rows, t_lp]
    if t_lp >= 1:
        out[:, 1] = Y[rows, t_lp - 1]
        out[:, 2] = Y[rows, t_lp] - Y[rows, t_lp - 1]
    if X is not None:
        out[:, 3] = X[rows, t_lp, 0]
        out[:, 4] = X[rows, t_lp, 1]
    return out


def matched_did(
    Y: FloatArray,
    years: IntArray,
    treated_rows: IntArray,
    last_pre: IntArray,
    first_post: IntArray,
    pool: BoolArray,
    cluster: IntArray,
    X: FloatArray | None = None,
    settings: DesignSettings = DEFAULT_DESIGN,
    treated_from: IntArray | None = None,
    anchor: IntArray | None = None,
) -> MatchedResult:
    """Matched DiD of the events (treated_rows, last_pre, first_post) against comparison units in `pool`.

    Y: U x T results; X: U x T x 2 intake (log cohort size, % girls) or None; cluster: U cluster codes.
    treated_from: U, the first year each unit is affected by its own event (a large number if never): a unit
    is a comparison for an event only if it is not yet treated in the last year the event uses ("not yet
    treated" comparisons; excluding later-treated schools that were chosen after a dip in the treated school's
    post years would bias the comparison). Treated rows < 0 (no results) are counted and skipped.
    anchor: per event, a further year whose result is matched on (the fake-early placebo matches on the real
    last pre-event year, the year the school was chosen on) but not used in the difference.
    """
    U, T = Y.shape
    pool = pool.copy()
    pool[treated_rows[treated_rows >= 0]] = False
    if treated_from is None:
        treated_from = np.full(U, 10_000, dtype=np.int64)
        treated_from[treated_rows[treated_rows >= 0]] = 0
    have = np.isfinite(Y)
    intake_ok: BoolArray = (
        np.asarray(np.isfinite(X).all(axis=2)) if X is not None else np.zeros((U, T), dtype=bool)
    )
    rel = relative_years(years, last_pre, first_post)
    keys: dict[tuple[int, tuple[int, ...], tuple[int, ...], bool, int], list[int]] = {}
    n_with = 0
    for e, r in enumerate(treated_rows):
        if r < 0:
            continue
        pre = tuple(int(t) for t in np.nonzero((rel[e] < 0) & have[r])[0])
        hmax = NOT_IN_WINDOW - 1 if settings.horizon is None else settings.horizon
        post_ok = (rel[e] >= 0) & (rel[e] <= hmax) & have[r]
        post = tuple(int(t) for t in np.nonzero(post_ok)[0])
        if not pre or not post:
            continue
        t_lp = int(np.nonzero(years == last_pre[e])[0][0]) if (years == last_pre[e]).any() else -1
        use_x = bool(t_lp >= 0 and intake_ok[r, t_lp])
        t_an = -1
        if anchor is not None:
            hit = np.nonzero(years == anchor[e])[0]
            if len(hit) == 0 or not have[r, hit[0]]:
                continue
            t_an = int(hit[0])
        n_with += 1
        keys.setdefault((t_lp, pre, post, use_x, t_an), []).append(e)

    d_t: list[float] = []
    cl_t: list[int] = []
    d_c: list[FloatArray] = []
    w_c: list[FloatArray] = []
    cl_c: list[IntArray] = []
    used_rows: list[int] = []
    comp_units: set[int] = set()
    bal_t: list[FloatArray] = []
    bal_pool: list[FloatArray] = []
    bal_pool_w: list[FloatArray] = []
    bal_m: list[FloatArray] = []
    bal_m_w: list[FloatArray] = []
    for (t_lp, pre, post, use_x, t_an), evs in keys.items():
        need = list(pre) + list(post) + ([t_an] if t_an >= 0 else [])
        cand_mask = pool & have[:, need].all(axis=1) & (treated_from > years[max(*post, t_an)])
        if use_x:
            cand_mask &= intake_ok[:, t_lp]
        cand = np.nonzero(cand_mask)[0]
        if len(cand) == 0:
            continue
        cols = [Y[:, list(pre)]]
        if len(pre) > 1:
            cols.append(np.diff(Y[:, list(pre)], axis=1))
        if use_x and X is not None:
            cols.append(X[:, t_lp, :])
        if t_an >= 0:
            cols.append(Y[:, [t_an]])
        Z = np.concatenate(cols, axis=1)
        Zc = Z[cand]
        mu, sd = Zc.mean(axis=0), Zc.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        p = Z.shape[1]
        tree = cKDTree((Zc - mu) / sd)
        rows_e = treated_rows[evs]
        k = min(settings.k, len(cand))
        dist, idx = tree.query(
            (Z[rows_e] - mu) / sd, k=k, distance_upper_bound=settings.caliper * math.sqrt(p)
        )
        dist = np.asarray(dist).reshape(len(evs), k)
        idx = np.asarray(idx).reshape(len(evs), k)
        good = np.isfinite(dist)
        diff_all = Y[:, list(post)].mean(axis=1) - Y[:, list(pre)].mean(axis=1)
        # bias adjustment (Abadie & Imbens 2011): the comparison difference moved by the pool's linear fit of
        # the difference on the covariates, times the treated-minus-comparison covariate gap
        Zs = (Z - mu) / sd
        A = np.column_stack([np.ones(len(cand)), Zs[cand]])
        beta = np.linalg.lstsq(A, diff_all[cand], rcond=None)[0][1:] if len(cand) > p + 1 else np.zeros(p)
        n_used = 0
        for j, e in enumerate(evs):
            g = good[j]
            if not g.any():
                continue
            r = int(treated_rows[e])
            m = cand[idx[j][g]]
            d_t.append(float(diff_all[r]))
            cl_t.append(int(cluster[r]))
            d_c.append(diff_all[m] + (Zs[r] - Zs[m]) @ beta)
            w_c.append(np.full(len(m), 1.0 / len(m)))
            cl_c.append(cluster[m].astype(np.int64))
            used_rows.append(r)
            comp_units.update(int(x) for x in m)
            n_used += 1
            if t_lp >= 0:
                bal_t.append(_balance_vec(Y, X, np.array([r]), t_lp)[0])
                bal_m.append(_balance_vec(Y, X, m, t_lp))
                bal_m_w.append(np.full(len(m), 1.0 / len(m)))
        if t_lp >= 0 and n_used:
            # the whole pool of this timing, weighted like the treated schools it stands for
            bal_pool.append(_balance_vec(Y, X, cand, t_lp))
            bal_pool_w.append(np.full(len(cand), n_used / len(cand)))
    n_events = len(treated_rows)
    if len(d_t) < 2:
        return MatchedResult(EMPTY, (), n_events, n_with, len(d_t), tuple(used_rows))
    est = cluster_att(
        np.asarray(d_t),
        np.asarray(cl_t, dtype=np.int64),
        np.concatenate(d_c),
        np.concatenate(w_c),
        np.concatenate(cl_c),
        settings.level,
        n_comparison=len(comp_units),
    )
    balance = _balance(bal_t, bal_pool, bal_pool_w, bal_m, bal_m_w)
    return MatchedResult(est, balance, n_events, n_with, len(d_t), tuple(used_rows))


def _wmean_var(x: FloatArray, w: FloatArray) -> tuple[float, float]:
    ok = np.isfinite(x)
    if not ok.any() or w[ok].sum() <= 0:
        return math.nan, math.nan
    m = float(np.average(x[ok], weights=w[ok]))
    v = float(np.average((x[ok] - m) ** 2, weights=w[ok]))
    return m, v


def _balance(
    bal_t: list[FloatArray],
    bal_pool: list[FloatArray],
    bal_pool_w: list[FloatArray],
    bal_m: list[FloatArray],
    bal_m_w: list[FloatArray],
) -> tuple[BalanceRow, ...]:
    if not bal_t:
        return ()
    T = np.vstack(bal_t)
    P, Pw = np.vstack(bal_pool), np.concatenate(bal_pool_w)
    M, Mw = np.vstack(bal_m), np.concatenate(bal_m_w)
    out = []
    for c, name in enumerate(BALANCE_NAMES):
        t = T[:, c]
        ok = np.isfinite(t)
        if ok.sum() < 2:
            continue
        mt, vt = float(t[ok].mean()), float(t[ok].var())
        mp, vp = _wmean_var(P[:, c], Pw)
        mm, _ = _wmean_var(M[:, c], Mw)
        sd = math.sqrt((vt + vp) / 2) if np.isfinite(vp) else math.nan
        smd_b = (mt - mp) / sd if sd and sd > 0 else math.nan
        smd_a = (mt - mm) / sd if sd and sd > 0 else math.nan
        out.append(BalanceRow(name, mt, mp, mm, smd_b, smd_a, int(ok.sum())))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------------
# Event study: Sun & Abraham with linearmodels PanelOLS
# ---------------------------------------------------------------------------------------------------------------
def event_study(
    Y: FloatArray,
    years: IntArray,
    treated_rows: IntArray,
    last_pre: IntArray,
    first_post: IntArray,
    control: BoolArray,
    cluster: IntArray,
    level: float = 0.95,
    min_treated: int = 2,
) -> EventStudy:
    """Interaction-weighted event study (Sun & Abraham 2021) with school and year fixed effects.

    Cohort = (last_pre, first_post). Controls are `control` units (never treated in the window). The
    transition year of a treated unit is dropped. Clustered (by `cluster`) covariance from PanelOLS.
    """
    from linearmodels.panel import PanelOLS

    ok_t = treated_rows >= 0
    tr = treated_rows[ok_t]
    lp, fp = last_pre[ok_t], first_post[ok_t]
    # one event per unit (the first)
    _, first = np.unique(tr, return_index=True)
    tr, lp, fp = tr[first], lp[first], fp[first]
    ctrl = np.nonzero(control)[0]
    ctrl = np.setdiff1d(ctrl, tr)
    rel = relative_years(years, lp, fp)
    T = len(years)
    # long frame: treated rows
    u_t = np.repeat(tr, T)
    t_t = np.tile(np.arange(T), len(tr))
    r_t = rel.ravel()
    c_t = np.repeat(np.arange(len(tr)), T)
    y_t = Y[u_t, t_t]
    keep = np.isfinite(y_t) & (r_t != NOT_IN_WINDOW)
    cohort_key = np.repeat(lp * 10000 + fp, T)
    u_t, t_t, r_t, y_t, ck, c_t = u_t[keep], t_t[keep], r_t[keep], y_t[keep], cohort_key[keep], c_t[keep]
    # treated units need a pre (-1) and a post year to identify anything
    has_ref = np.zeros(len(tr), dtype=bool)
    has_ref[c_t[r_t == -1]] = True
    has_post = np.zeros(len(tr), dtype=bool)
    has_post[c_t[r_t >= 0]] = True
    good_unit = has_ref & has_post
    sel = good_unit[c_t]
    u_t, t_t, r_t, y_t, ck = u_t[sel], t_t[sel], r_t[sel], y_t[sel], ck[sel]
    n_tr = int(good_unit.sum())
    if n_tr < min_treated or len(ctrl) < 2:
        return EventStudy(EMPTY, {}, n_tr, len(ctrl))
    u_c = np.repeat(ctrl, T)
    t_c = np.tile(np.arange(T), len(ctrl))
    y_c = Y[u_c, t_c]
    kc = np.isfinite(y_c)
    u_c, t_c, y_c = u_c[kc], t_c[kc], y_c[kc]
    cells = sorted({(int(a), int(b)) for a, b in zip(ck, r_t, strict=True) if b != -1})
    cell_pos = {c: i for i, c in enumerate(cells)}
    n = len(u_t) + len(u_c)
    D = np.zeros((n, len(cells)))
    for i, (a, b) in enumerate(zip(ck, r_t, strict=True)):
        if b != -1:
            D[i, cell_pos[(int(a), int(b))]] = 1.0
    units = np.concatenate([u_t, u_c])
    tt = np.concatenate([t_t, t_c])
    idx = pd.MultiIndex.from_arrays([units, years[tt]], names=["unit", "year"])
    names = [f"c{a}_r{b}" for a, b in cells]
    exog = pd.DataFrame(D, index=idx, columns=names)
    dep = pd.Series(np.concatenate([y_t, y_c]), index=idx, name="y")
    clusters = pd.DataFrame({"cl": cluster[units]}, index=idx)
    if len(np.unique(cluster[units])) < 2:
        return EventStudy(EMPTY, {}, n_tr, len(ctrl))  # one cluster: no clustered interval
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = PanelOLS(
            dep, exog, entity_effects=True, time_effects=True, drop_absorbed=True, check_rank=False
        )
        res = mod.fit(cov_type="clustered", clusters=clusters)
    params = res.params
    cov = res.cov
    G = len(np.unique(cluster[units]))
    crit = _crit(level, G)
    counts = pd.Series(list(zip(ck.tolist(), r_t.tolist(), strict=True))).value_counts()
    coefs: dict[int, Interval] = {}
    post_w = np.zeros(len(names))
    for r in sorted({b for _, b in cells}):
        w = np.zeros(len(names))
        for i, (a, b) in enumerate(cells):
            if b == r and names[i] in params.index:
                w[i] = float(counts.get((a, b), 0))
        if w.sum() == 0:
            continue
        n_r = int(w.sum())
        if r >= 0:
            post_w += w
        coefs[r] = _combine(w / w.sum(), params, cov, names, crit, n_r, len(ctrl), G)
    att = (
        _combine(post_w / post_w.sum(), params, cov, names, crit, n_tr, len(ctrl), G)
        if post_w.sum()
        else EMPTY
    )
    return EventStudy(att, coefs, n_tr, len(ctrl))


def _combine(
    w: FloatArray,
    params: pd.Series,
    cov: pd.DataFrame,
    names: Sequence[str],
    crit: float,
    n_t: int,
    n_c: int,
    g: int,
) -> Interval:
    present = [i for i, nm in enumerate(names) if nm in params.index and w[i] != 0]
    if not present:
        return EMPTY
    nm = [names[i] for i in present]
    ww = w[present]
    b = float(ww @ params[nm].to_numpy(dtype=np.float64))
    v = float(ww @ cov.loc[nm, nm].to_numpy() @ ww)
    se = math.sqrt(max(v, 0.0))
    return Interval(b, b - crit * se, b + crit * se, se, n_t, n_c, g)


# ---------------------------------------------------------------------------------------------------------------
# Placebos
# ---------------------------------------------------------------------------------------------------------------
def rtm_pseudo_events(
    Y: FloatArray,
    years: IntArray,
    treated_rows: IntArray,
    last_pre: IntArray,
    first_post: IntArray,
    pool: BoolArray,
    seed: int = 0,
) -> tuple[IntArray, IntArray, IntArray]:
    """Pseudo-events on never-treated units matching the treated units' pre-event gap distribution.

    For each treated unit with a result in its last pre-event year, the pool unit (not yet drawn, same last_pre
    year, with a result then) whose result that year is nearest (ties broken at random) gets the treated
    unit's event timing. Returns (rows, last_pre, first_post) of the pseudo-treated units.
    """
    rng = np.random.default_rng(seed)
    taken = ~pool.copy()
    taken[treated_rows[treated_rows >= 0]] = True
    out_r: list[int] = []
    out_lp: list[int] = []
    out_fp: list[int] = []
    order = rng.permutation(len(treated_rows))
    by_year: dict[int, tuple[IntArray, FloatArray]] = {}
    for e in order:
        r = treated_rows[e]
        if r < 0 or not (years == last_pre[e]).any():
            continue
        t = int(np.nonzero(years == last_pre[e])[0][0])
        v = Y[r, t]
        if not np.isfinite(v):
            continue
        if t not in by_year:
            cand = np.nonzero(np.isfinite(Y[:, t]) & ~taken)[0]
            cand = cand[np.argsort(Y[cand, t] + rng.uniform(0, 1e-9, len(cand)), kind="stable")]
            by_year[t] = (cand, Y[cand, t])
        cand, vals = by_year[t]
        free = ~taken[cand]
        if not free.any():
            continue
        c_free = cand[free]
        j = int(np.argmin(np.abs(vals[free] - v)))
        pick = int(c_free[j])
        taken[pick] = True
        out_r.append(pick)
        out_lp.append(int(last_pre[e]))
        out_fp.append(int(first_post[e]))
    return (
        np.asarray(out_r, dtype=np.int64),
        np.asarray(out_lp, dtype=np.int64),
        np.asarray(out_fp, dtype=np.int64),
    )


def shift_events(
    Y: FloatArray,
    years: IntArray,
    treated_rows: IntArray,
    last_pre: IntArray,
    first_post: IntArray,
    shift: int = 2,
) -> tuple[FloatArray, IntArray, IntArray]:
    """The fake-early placebo: each event moved to 1 September `shift` years before the end of its last
    pre-event year (fake last_pre = last_pre - shift, fake first_post = last_pre - shift + 1), the treated
    units' results after their real last pre-event year removed, so only pre-event data is used. Matched
    designs also match on the real last pre-event year (`anchor`), the year the schools were chosen on.
    Returns (Y', last_pre', first_post')."""
    Y2 = Y.copy()
    for r, lp in zip(treated_rows, last_pre, strict=True):
        if r >= 0:
            Y2[r, years > lp] = np.nan
    return Y2, last_pre - shift, last_pre - shift + 1
