"""Which results count as a trust's, how a missing weight is filled, and bootstrap intervals: pure maths, no Django.

In the trust, or before it
    Each member has an "in this trust since" date: its membership start, else the open date of its academy URN,
    else the date of its conversion (predecessor) link in GIAS, else (an academy with no open date and no
    predecessor, mostly free schools opened before the 2017/18 spine) 1 September of the first year its own URN
    has results, a bound on its opening. An academy that changed trust keeps its URN, so the last three are the
    date it became an academy, not the date it joined this trust (the registers hold no trust history).
    A result of academic year Y (stored as the year it ends, e.g. 2019 = 2018/19) counts
        in_trust         when the member was in the trust by 1 September of that year (the start of the year);
        three_years      when it was in the trust by 1 September two years earlier, i.e. for 3 or more full
                         academic years including year Y (the DfE's rule for its MAT measures);
        before_joining   when it joined after 1 September of that year: results of today's members from before
                         they were in the trust (shown apart, never as the trust's).
    A member whose date is not known counts in none of them (the page says how many).

Weights (no value is dropped for a missing weight)
    Each value is weighted by its cohort (KS2 TELIG, KS4 TPUP) in this order:
        cohort        the value's own URN's cohort that year (2018/19 files carry none: its 2017/18 cohort);
        predecessor   else the cohort of the nearest predecessor of that URN (same year, else the year before);
        roll          else the census number on roll divided by the year groups of the phase (7 for KS2,
                      reception to year 6; 5 for KS4, years 7 to 11).
    The fallbacks are counted and shown on the trust page.

Bootstrap intervals (`bootstrap_intervals`)
    For member-weighted figures, member schools are resampled with replacement (B = 200 draws, multinomial,
    seeded by the trust's id so one trust's interval never depends on which others were computed); each draw's
    pupil-weighted mean is computed and the 2.5th and 97.5th percentiles of the draws are the 95% interval.
    Needs 2 or more schools with a value; a draw with no school holding a value is skipped. Computed for the
    trust's figures (in_trust, three_years); results from before joining carry the analytic interval only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np

RULES: tuple[str, ...] = ("in_trust", "three_years", "before_joining")
RULE_LABELS: dict[str, str] = {
    "in_trust": "Results of schools while in this trust",
    "three_years": "Schools in this trust for 3 or more years (the DfE's rule)",
    "before_joining": "Results of today's members before they joined",
}
WEIGHT_LEVELS: tuple[str, ...] = ("cohort", "predecessor", "roll")
ROLL_YEAR_GROUPS: dict[int, int] = {2: 7, 4: 5}
BOOT_DRAWS = 200
BOOT_SEED = 20250901
MIN_BOOT_SCHOOLS = 2


def year_start(year: int) -> dt.date:
    """1 September of the academic year ending in `year`."""
    return dt.date(year - 1, 9, 1)


def day_number(d: dt.date | None) -> float:
    return float(d.toordinal()) if d is not None else float("nan")


def rule_masks(since: np.ndarray, year: int) -> dict[str, np.ndarray]:
    """Per rule, which rows (members, `since` as day numbers, NaN unknown) count for results of `year`."""
    s = np.asarray(since, dtype=float)
    known = np.isfinite(s)
    start = float(year_start(year).toordinal())
    three = float(year_start(year - 2).toordinal())
    with np.errstate(invalid="ignore"):
        return {
            "in_trust": known & (s <= start),
            "three_years": known & (s <= three),
            "before_joining": known & (s > start),
        }


def since_date(
    joined: dt.date | None, opened: dt.date | None, link: dt.date | None
) -> tuple[dt.date | None, str]:
    """The "in this trust since" date and what it rests on."""
    if joined is not None:
        return joined, "membership start"
    if opened is not None:
        return opened, "academy opened"
    if link is not None:
        return link, "conversion link"
    return None, "not known"


def fill_weights(
    own: np.ndarray, predecessor: np.ndarray, roll: np.ndarray, ks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weights with the documented fallbacks, and the level used per row (0 cohort, 1 predecessor, 2 roll,
    -1 none)."""
    own = np.asarray(own, dtype=float)
    pre = np.asarray(predecessor, dtype=float)
    est = np.asarray(roll, dtype=float) / ROLL_YEAR_GROUPS[ks]
    ok_own = np.isfinite(own) & (own > 0)
    ok_pre = ~ok_own & np.isfinite(pre) & (pre > 0)
    ok_roll = ~ok_own & ~ok_pre & np.isfinite(est) & (est > 0)
    w = np.where(ok_own, own, np.where(ok_pre, pre, np.where(ok_roll, est, np.nan)))
    level = np.where(ok_own, 0, np.where(ok_pre, 1, np.where(ok_roll, 2, -1)))
    return w, level


def nearest_with(
    start: int, predecessors: Mapping[int, Sequence[int]], table: Mapping[int, float], max_hops: int = 5
) -> float:
    """The value in `table` of the nearest predecessor of `start` (breadth first; at equal distance the largest
    value); NaN when none holds one."""
    seen = {start}
    frontier = [start]
    for _ in range(max_hops):
        nxt = [p for u in frontier for p in predecessors.get(u, ()) if p not in seen]
        if not nxt:
            break
        seen.update(nxt)
        hits = [table[p] for p in nxt if p in table and table[p] == table[p]]
        if hits:
            return float(max(hits))
        frontier = nxt
    return float("nan")


def bootstrap_draws(n: int, key: Sequence[int], draws: int = BOOT_DRAWS) -> np.ndarray:
    """(draws, n) counts: how often each of n member schools is drawn in each resample (seeded by `key`)."""
    if n == 0:
        return np.zeros((draws, 0))
    rng = np.random.default_rng([BOOT_SEED, *[int(k) for k in key]])
    return rng.multinomial(n, np.full(n, 1.0 / n), size=draws).astype(float)


def bootstrap_means(counts: np.ndarray, w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(draws × k) weighted means of each column of `x` (n schools × k figures; NaN where a school has no value)
    over the resamples `counts` (draws × n), NaN for a draw with no school holding a value; and whether each
    column has enough schools (2 or more with a value)."""
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    wv = np.where(ok, w, 0.0)
    wx = np.where(ok, w * np.where(ok, x, 0.0), 0.0)
    den = counts @ wv
    num = counts @ wx
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(den > 0, num / den, np.nan)
    return means, ok.sum(axis=0) >= MIN_BOOT_SCHOOLS


def percentile_intervals(
    means: np.ndarray, enough: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each column of `means` (draws × k) over its finite draws; NaN where not `enough`.
    Many trusts' columns can be stacked and done in one call."""
    alpha = (1.0 - level) / 2.0
    k = means.shape[1]
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    if means.shape[0] == 0 or k == 0:
        return low, high
    full = np.isfinite(means).all(axis=0)
    b = means.shape[0]
    lo_i, hi_i = int(np.floor(alpha * (b - 1))), int(np.ceil((1.0 - alpha) * (b - 1)))
    if full.any():  # every draw holds a value: two order statistics by partition (no full sort)
        part = np.partition(means[:, full], (lo_i, hi_i), axis=0)
        low[full], high[full] = part[lo_i], part[hi_i]
    some = ~full
    if some.any():  # some draws held no school with a value: order statistics of the draws that did
        v = np.sort(np.where(np.isfinite(means[:, some]), means[:, some], np.inf), axis=0)
        n_ok = np.isfinite(v).sum(axis=0)
        cols = np.arange(v.shape[1])
        lo_k = np.floor(alpha * np.maximum(n_ok - 1, 0)).astype(int)
        hi_k = np.ceil((1.0 - alpha) * np.maximum(n_ok - 1, 0)).astype(int)
        low[some] = np.where(n_ok > 0, v[lo_k, cols], np.nan)
        high[some] = np.where(n_ok > 0, v[hi_k, cols], np.nan)
    return np.where(enough, low, np.nan), np.where(enough, high, np.nan)


def bootstrap_intervals(
    counts: np.ndarray, w: np.ndarray, x: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of the weighted mean for each column of `x` (n schools × k figures; NaN where a school
    has no value), resampling schools by `counts` (draws × n). NaN where fewer than 2 schools hold a value."""
    means, enough = bootstrap_means(counts, w, x)
    return percentile_intervals(means, enough, level)
