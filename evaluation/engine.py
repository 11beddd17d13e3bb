"""'What works': difference-in-differences against each treated school's similar-schools family (pure: no Django).

Inputs are numpy arrays / pandas frames, outputs frozen dataclasses. The app adapter is
`evaluation.services`; the pack test and the benchmark feed the same functions from files.

Timing. Years are the year the academic year ends (2019 = 2018/19); academic year Y runs 1 Sept Y-1 to
31 Aug Y and its tests are sat in May Y. For an event dated d:

- ``last_pre``  = the last academic year that ended before d;
- ``first_post`` = the first academic year that started on or after d.

An event dated 1 September has no transition year (``first_post = last_pre + 1``); any other date leaves the
academic year it falls in as a *transition year*, which is neither before nor after and is dropped.
Relative time ``rel`` is ``Y - first_post`` after the event (0, 1, 2, ...) and ``Y - last_pre - 1`` before it
(-1 = the last year before, -2, -3 = leads).

Estimator. For treated school i and year Y, the *gap* is i's value minus the mean of its comparison schools
(family members that are not treated in the window and have a value that year; at least
``min_comparison``). i's effect is mean(gap after) - mean(gap before) over the years it has; the group effect is
the mean of the school effects (every school weighs the same). Event-study coefficients are
mean_i(gap_{i,rel} - gap_{i,-1}); the leads (rel <= -2) show whether treated schools were already drifting
away from their families before the event. Confidence intervals: percentile cluster bootstrap over treated
schools (each resampled school keeps its own comparison mean), ``n_boot`` draws, seeded per group and measure
so every figure is reproducible.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: GIAS link types that make the link's URN the successor of its LinkURN on the link date.
PREDECESSOR_TYPES = ("Predecessor",)


# ---------------------------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------------------------
def academic_year_of(d: dt.date) -> int:
    """The academic year (by its end year) that contains date d: 2016-09-01 -> 2017, 2017-08-31 -> 2017."""
    return d.year + 1 if d.month >= 9 else d.year


def event_years(d: dt.date) -> tuple[int, int]:
    """(last_pre, first_post) results years for an event dated d (see the module docstring)."""
    ay = academic_year_of(d)
    if d.month == 9 and d.day == 1:
        return ay - 1, ay
    return ay - 1, ay + 1


# ---------------------------------------------------------------------------------------------------------------
# Events and lineage from GIAS links
# ---------------------------------------------------------------------------------------------------------------
def is_academy(establishment_type: str) -> bool:
    t = (establishment_type or "").lower()
    return "academy" in t or "free school" in t or "studio school" in t or "university technical" in t


def conversion_type(establishment_type: str) -> str:
    """'converter' | 'sponsored' | 'free school' | 'other' from a successor's establishment type (spine NFTYPE)."""
    t = (establishment_type or "").lower()
    if "converter" in t:
        return "converter"
    if "sponsor" in t:
        return "sponsored"
    if "free school" in t or "studio" in t or "university technical" in t:
        return "free school"
    return "other"


def lineage(links: pd.DataFrame) -> dict[int, int]:
    """Map every predecessor URN to its latest successor URN, following chains (A -> B -> C gives A: C, B: C).

    `links`: columns urn, link_urn, link_type (a "Predecessor" row of `urn` names its predecessor `link_urn`).
    A predecessor with several successors (a split) is not followed (ambiguous); cycles stop.
    """
    pred = links[links["link_type"].isin(PREDECESSOR_TYPES)]
    succ_of: dict[int, set[int]] = {}
    for s, p in zip(pred["urn"].astype(int), pred["link_urn"].astype(int), strict=True):
        if s != p:
            succ_of.setdefault(p, set()).add(s)
    direct = {p: next(iter(ss)) for p, ss in succ_of.items() if len(ss) == 1}
    out: dict[int, int] = {}
    for p in direct:
        cur, seen = p, {p}
        while cur in direct and direct[cur] not in seen:
            cur = direct[cur]
            seen.add(cur)
        out[p] = cur
    return out


def events_from_links(
    links: pd.DataFrame,
    schools: pd.DataFrame,
    start: dt.date = dt.date(2016, 1, 1),
    end: dt.date = dt.date(2018, 12, 31),
) -> pd.DataFrame:
    """Academy conversions and sponsor changes dated in [start, end] from GIAS Predecessor links.

    `links`: urn, link_urn, link_type, established (date or None). `schools`: urn, establishment_type,
    phase (of the register; predecessors may be missing). A Predecessor link whose successor is an academy is a
    *sponsor change* when the predecessor was already an academy, else a *conversion*. Returns one row per
    event: urn (successor), predecessor, date, kind, conversion_type, last_pre, first_post.
    """
    types = dict(zip(schools["urn"].astype(int), schools["establishment_type"].fillna(""), strict=True))
    cols = ["urn", "predecessor", "date", "kind", "conversion_type", "last_pre", "first_post"]
    rows = []
    pred = links[links["link_type"].isin(PREDECESSOR_TYPES)]
    for s, p, d in zip(
        pred["urn"].astype(int), pred["link_urn"].astype(int), pred["established"], strict=True
    ):
        if d is None or (isinstance(d, float) and np.isnan(d)) or pd.isna(d):
            continue
        d = pd.Timestamp(d).date()
        if not (start <= d <= end):
            continue
        st = types.get(s, "")
        if not is_academy(st):
            continue
        kind = "sponsor_change" if is_academy(types.get(p, "")) else "conversion"
        last_pre, first_post = event_years(d)
        rows.append((s, p, d, kind, conversion_type(st), last_pre, first_post))
    df = pd.DataFrame(rows, columns=cols)
    # one event per successor and date (a school formed from two predecessors on one day is one event)
    return (
        df.sort_values(["urn", "date", "predecessor"])
        .drop_duplicates(["urn", "date", "kind"])
        .reset_index(drop=True)
    )


def unit_panel(results: pd.DataFrame, units: Mapping[int, int]) -> pd.DataFrame:
    """Long results (urn, year, measure, value) re-keyed to the unit (latest successor URN) via `units`.

    When a unit has values from two URNs in one year (predecessor and successor both published), the
    successor's own value wins. Returns columns unit, year, measure, value (NaN rows dropped).
    """
    r = results.dropna(subset=["value"])
    urn = r["urn"].to_numpy(dtype=np.int64)
    mapped = np.fromiter((units.get(int(u), int(u)) for u in urn), dtype=np.int64, count=len(urn))
    df = pd.DataFrame(
        {
            "unit": mapped,
            "year": r["year"].to_numpy(),
            "measure": r["measure"].to_numpy(),
            "value": r["value"].to_numpy(dtype=np.float64),
            "own": mapped == urn,
        }
    )
    df = df.sort_values("own", ascending=False, kind="stable").drop_duplicates(["unit", "year", "measure"])
    return df.drop(columns="own").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# Panel arrays
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Panel:
    """Y[u, t, m]: value of measure m for unit u in year t (NaN missing). Units sorted ascending."""

    units: IntArray
    years: IntArray
    measures: tuple[str, ...]
    Y: FloatArray

    def rows(self, urns: Iterable[int]) -> IntArray:
        """Row index of each URN, -1 where absent."""
        u = np.asarray(list(urns), dtype=np.int64)
        i = np.searchsorted(self.units, u)
        i = np.clip(i, 0, max(len(self.units) - 1, 0))
        ok = (len(self.units) > 0) & (self.units[i] == u) if len(self.units) else np.zeros(len(u), dtype=bool)
        return np.where(ok, i, -1).astype(np.int64)


def build_panel(long: pd.DataFrame, years: Sequence[int], measures: Sequence[str]) -> Panel:
    """Panel from a long frame with columns unit, year, measure, value."""
    df = long[long["year"].isin(list(years)) & long["measure"].isin(list(measures))]
    units = np.unique(df["unit"].to_numpy(dtype=np.int64))
    ys = np.asarray(sorted(years), dtype=np.int64)
    ms = tuple(measures)
    Y = np.full((len(units), len(ys), len(ms)), np.nan)
    if len(df):
        ui = np.searchsorted(units, df["unit"].to_numpy(dtype=np.int64))
        ti = np.searchsorted(ys, df["year"].to_numpy(dtype=np.int64))
        mpos = {m: k for k, m in enumerate(ms)}
        mi = np.fromiter((mpos[m] for m in df["measure"]), dtype=np.int64, count=len(df))
        Y[ui, ti, mi] = df["value"].to_numpy(dtype=np.float64)
    return Panel(units, ys, ms, Y)


def add_mean_measure(panel: Panel, name: str, parts: Sequence[str]) -> Panel:
    """Append a measure that is the mean of `parts` (NaN unless all present), e.g. the KS2 progress headline."""
    idx = [panel.measures.index(p) for p in parts]
    extra = panel.Y[:, :, idx].mean(axis=2, keepdims=True)
    return Panel(panel.units, panel.years, (*panel.measures, name), np.concatenate([panel.Y, extra], axis=2))


# ---------------------------------------------------------------------------------------------------------------
# Estimation
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    n_boot: int = 999
    level: float = 0.95
    min_comparison: int = 5  # comparison schools with a value in a year, else that year's gap is missing
    min_group: int = 10  # treated schools needed to report a group
    seed: int = 20141101
    rel_min: int = -3
    rel_max: int = 2

    @property
    def rels(self) -> tuple[int, ...]:
        return tuple(r for r in range(self.rel_min, self.rel_max + 1))


DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class Gaps:
    """Per event e, year t, measure m: treated value, comparison mean, number of comparison schools."""

    value: FloatArray  # E x T x M
    comparison: FloatArray  # E x T x M
    n_comparison: IntArray  # E x T x M
    n_pool: IntArray  # E: family members eligible as comparison (untreated, in the panel)
    rel: IntArray  # E x T relative year (or a large sentinel for transition / out-of-window years)
    effect: FloatArray  # E x M school-level DiD effect (NaN without a before and an after gap)

    @property
    def gap(self) -> FloatArray:
        return self.value - self.comparison


NOT_IN_WINDOW = 99


def relative_years(years: IntArray, last_pre: IntArray, first_post: IntArray) -> IntArray:
    """E x T relative time; the transition year (between last_pre and first_post) gets NOT_IN_WINDOW."""
    Yr = years[None, :]
    lp = last_pre[:, None]
    fp = first_post[:, None]
    rel = np.where(Yr >= fp, Yr - fp, np.where(Yr <= lp, Yr - lp - 1, NOT_IN_WINDOW))
    return rel.astype(np.int64)


def compute_gaps(
    panel: Panel,
    treated_rows: IntArray,
    families: IntArray,
    excluded: BoolArray,
    last_pre: IntArray,
    first_post: IntArray,
    settings: Settings = DEFAULT_SETTINGS,
) -> Gaps:
    """Vectorised gaps for E events.

    treated_rows: E panel rows (-1 = the treated school has no results; its row is all NaN).
    families: E x K panel rows of each treated school's family (-1 padding / not in the panel).
    excluded: U bool, units treated in the window (never comparison schools).
    """
    E = len(treated_rows)
    T, M = len(panel.years), len(panel.measures)
    if E == 0:
        z = np.zeros((0, T, M))
        return Gaps(
            z,
            z,
            z.astype(np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, T), dtype=np.int64),
            np.zeros((0, M)),
        )
    Yp = np.concatenate([panel.Y, np.full((1, T, M), np.nan)], axis=0)  # row -1 -> the NaN row
    nan_row = len(panel.units)
    fam = np.where(families >= 0, families, nan_row)
    ok_member = (families >= 0) & ~np.concatenate([excluded, [True]])[fam]
    fam = np.where(ok_member, fam, nan_row)
    vals = Yp[fam]  # E x K x T x M
    present = ~np.isnan(vals)
    n = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(n >= settings.min_comparison, np.nansum(vals, axis=1) / np.maximum(n, 1), np.nan)
    value = Yp[np.where(treated_rows >= 0, treated_rows, nan_row)]
    rel = relative_years(panel.years, last_pre, first_post)
    gap = value - comp
    pre = (rel < 0)[:, :, None] & ~np.isnan(gap)
    post = ((rel >= 0) & (rel != NOT_IN_WINDOW))[:, :, None] & ~np.isnan(gap)
    with np.errstate(invalid="ignore", divide="ignore"):
        g0 = np.where(np.isnan(gap), 0.0, gap)
        pre_mean = (g0 * pre).sum(axis=1) / pre.sum(axis=1)
        post_mean = (g0 * post).sum(axis=1) / post.sum(axis=1)
    effect = post_mean - pre_mean  # NaN (0/0) without both
    return Gaps(value, comp, n.astype(np.int64), ok_member.sum(axis=1).astype(np.int64), rel, effect)


@dataclass(frozen=True)
class Estimate:
    effect: float
    ci_low: float
    ci_high: float
    n_treated: int

    @property
    def covers(self) -> bool:
        return self.ci_low <= 0.0 <= self.ci_high


@dataclass(frozen=True)
class GroupEstimate:
    group: str
    measure: str
    effect: float
    ci_low: float
    ci_high: float
    n_treated: int
    n_comparison: int  # distinct comparison schools behind the estimate
    leads: Mapping[int, Estimate] = field(
        default_factory=dict
    )  # event study, rel -> estimate (rel -1 = 0 ref)


def seed_for(base: int, *parts: str) -> int:
    h = hashlib.sha256("|".join((str(base), *parts)).encode()).digest()
    return int.from_bytes(h[:8], "little")


def bootstrap_mean(x: FloatArray, n_boot: int, level: float, rng: np.random.Generator) -> Estimate:
    """Mean of x (finite values) with a percentile bootstrap interval resampling the values (clusters)."""
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    est = float(x.mean())
    if n == 1:
        return Estimate(est, float("nan"), float("nan"), 1)
    draws = rng.integers(0, n, size=(n_boot, n))
    means = x[draws].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return Estimate(est, float(lo), float(hi), n)


def estimate_group(
    gaps: Gaps,
    mask: BoolArray,
    m: int,
    group: str,
    measure: str,
    families: IntArray,
    settings: Settings,
    excluded: BoolArray | None = None,
) -> GroupEstimate:
    """DiD effect and event-study leads/lags of measure m over the events in `mask`."""
    rng = np.random.default_rng(seed_for(settings.seed, group, measure))
    eff = gaps.effect[mask, m]
    main = bootstrap_mean(eff, settings.n_boot, settings.level, rng)
    used = mask & np.isfinite(gaps.effect[:, m])
    fam = families[used]
    if excluded is not None:
        ok = (fam >= 0) & ~np.concatenate([excluded, [True]])[np.where(fam >= 0, fam, len(excluded))]
    else:
        ok = fam >= 0
    n_comp = int(np.unique(fam[ok]).size)
    gap = gaps.gap[mask, :, m]
    rel = gaps.rel[mask]
    base = np.where(rel == -1, gap, np.nan)
    with np.errstate(invalid="ignore"):
        ref = np.nanmax(np.where(np.isnan(base), -np.inf, base), axis=1)
    ref = np.where(np.isfinite(ref), ref, np.nan)
    leads: dict[int, Estimate] = {}
    for r in settings.rels:
        if r == -1:
            continue
        at = np.where(rel == r, gap, np.nan)
        with np.errstate(invalid="ignore"):
            col = np.nanmax(np.where(np.isnan(at), -np.inf, at), axis=1)
        col = np.where(np.isfinite(col), col, np.nan)
        leads[r] = bootstrap_mean(col - ref, settings.n_boot, settings.level, rng)
    return GroupEstimate(
        group, measure, main.effect, main.ci_low, main.ci_high, main.n_treated, n_comp, leads
    )


@dataclass(frozen=True)
class Evaluation:
    estimates: tuple[GroupEstimate, ...]
    gaps: Gaps
    measures: tuple[str, ...]
    years: IntArray
    seconds: float = 0.0

    def get(self, group: str, measure: str) -> GroupEstimate:
        for e in self.estimates:
            if e.group == group and e.measure == measure:
                return e
        raise KeyError((group, measure))


def evaluate(
    panel: Panel,
    events: pd.DataFrame,
    families: Mapping[int, Sequence[int]] | IntArray,
    groups: Mapping[str, BoolArray],
    excluded_units: Iterable[int],
    measures_by_group: Mapping[str, Sequence[str]] | None = None,
    settings: Settings = DEFAULT_SETTINGS,
) -> Evaluation:
    """Effects for every group (name -> bool mask over `events` rows) and measure.

    events: columns unit (the treated unit's URN), last_pre, first_post (row order = mask order).
    families: unit URN -> family URNs (or an E x K array of panel rows already aligned with events).
    excluded_units: URNs never used as comparison (every unit treated in the window).
    measures_by_group: restrict measures per group (default every panel measure).
    A group needs `settings.min_group` treated schools with an effect on a measure to be reported.
    """
    import time

    t0 = time.perf_counter()
    unit = events["unit"].to_numpy(dtype=np.int64)
    treated_rows = panel.rows(unit)
    if isinstance(families, np.ndarray):
        fam_rows = families
    else:
        K = max((len(families.get(int(u), ())) for u in unit), default=0)
        fam_urns = np.full((len(unit), max(K, 1)), -1, dtype=np.int64)
        for i, u in enumerate(unit):
            f = list(families.get(int(u), ()))
            fam_urns[i, : len(f)] = f
        fam_rows = np.where(fam_urns >= 0, panel.rows(fam_urns.ravel()).reshape(fam_urns.shape), -1)
    excl = np.zeros(len(panel.units), dtype=bool)
    ex_rows = panel.rows(list(excluded_units))
    excl[ex_rows[ex_rows >= 0]] = True
    gaps = compute_gaps(
        panel,
        treated_rows,
        fam_rows,
        excl,
        events["last_pre"].to_numpy(dtype=np.int64),
        events["first_post"].to_numpy(dtype=np.int64),
        settings,
    )
    out: list[GroupEstimate] = []
    for g, mask in groups.items():
        wanted = measures_by_group.get(g, panel.measures) if measures_by_group else panel.measures
        for m, code in enumerate(panel.measures):
            if code not in wanted:
                continue
            if int(np.isfinite(gaps.effect[mask, m]).sum()) < settings.min_group:
                continue
            out.append(estimate_group(gaps, mask, m, g, code, fam_rows, settings, excl))
    return Evaluation(tuple(out), gaps, panel.measures, panel.years, time.perf_counter() - t0)
