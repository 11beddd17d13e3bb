"""Plain baselines that only the benchmarks (and the cores' unit tests) use; never imported by the app.

Each is a straightforward implementation of what a production core computes, kept fair: it uses the obvious
vectorised numpy/pandas tools a careful engineer would reach for, but none of the core's algorithmic tricks
(KD-trees, candidate pricing, panel arrays).

- `greedy`, `brute_force`: brokerage matching (`brokerage.engine.solve`).
- `naive_effects`: school-level effects of the "what works" evaluation (`evaluation.engine.evaluate`).
- `similarity_brute_force`: families and partners of one phase (`similarity.core.recompute_phase`).

The import baseline (upserts with `bulk_create(update_conflicts=True)`) needs Django and lives in
`bench/bench_import.py`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from brokerage.engine import (
    DEFAULT_PARAMS,
    Arcs,
    Needs,
    Params,
    Solution,
    Supporters,
    build_arcs,
    effective_capacity,
)
from brokerage.engine import _finish as finish_solution
from similarity.core import NO_PARTNER, Families, Partners, PhaseData, haversine_miles, squared_distance
from similarity.method import Method

FloatArray = NDArray[np.float64]


# ---------------------------------------------------------------------------------------------------------------
# Brokerage
# ---------------------------------------------------------------------------------------------------------------
def greedy(
    needs: Needs, sup: Supporters, params: Params = DEFAULT_PARAMS, arcs: Arcs | None = None
) -> Solution:
    """Needs in order of severity (highest first, then index) each take the nearest candidate offer with a
    place left. Same arcs and the same objective as `solve`, so the costs compare directly."""
    t0 = time.perf_counter()
    arcs = build_arcs(needs, sup, params) if arcs is None else arcs
    cap = effective_capacity(sup, params).tolist()
    by_need_miles = np.lexsort((arcs.offer, arcs.miles, arcs.need))
    a_need = arcs.need[by_need_miles]
    starts = np.searchsorted(a_need, np.arange(needs.n), side="left").tolist()
    ends = np.searchsorted(a_need, np.arange(needs.n), side="right").tolist()
    offers = arcs.offer[by_need_miles].tolist()
    order = np.lexsort((np.arange(needs.n), -needs.severity)).tolist()
    chosen = np.full(needs.n, -1, dtype=np.int64)
    for i in order:
        for t in range(starts[i], ends[i]):
            j = offers[t]
            if cap[j] > 0:
                cap[j] -= 1
                chosen[i] = by_need_miles[t]
                break
    return finish_solution(needs, sup, arcs, chosen, params, {"total": time.perf_counter() - t0})


def brute_force(needs: Needs, sup: Supporters, params: Params = DEFAULT_PARAMS) -> int:
    """The optimum objective by enumerating every assignment (tiny instances only; for tests)."""
    arcs = build_arcs(needs, sup, params)
    cap = effective_capacity(sup, params).tolist()
    pen = params.unserved_cost(needs.severity).tolist()
    options: list[list[tuple[int, int]]] = [[] for _ in range(needs.n)]
    for t in range(arcs.size):
        options[int(arcs.need[t])].append((int(arcs.offer[t]), int(arcs.cost[t])))
    best = [sum(pen)]

    def rec(i: int, acc: int) -> None:
        if acc >= best[0]:
            return
        if i == needs.n:
            best[0] = acc
            return
        for j, c in options[i]:
            if cap[j] > 0:
                cap[j] -= 1
                rec(i + 1, acc + c)
                cap[j] += 1
        rec(i + 1, acc + pen[i])

    rec(0, 0)
    return best[0]


# ---------------------------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------------------------
def naive_effects(
    long: pd.DataFrame,
    events: pd.DataFrame,
    families: Mapping[int, Sequence[int]],
    excluded_units: Iterable[int],
    measure: str,
    min_comparison: int = 5,
) -> FloatArray:
    """School-level DiD effects of one measure by a plain per-school loop (same definitions as the engine):
    for each treated school, filter the long results frame for it and for its family, group by year, subtract,
    average."""
    excl = set(int(u) for u in excluded_units)
    lm = long[long["measure"] == measure]
    out = np.full(len(events), np.nan)
    for i, (u, lp, fp) in enumerate(
        zip(events["unit"], events["last_pre"], events["first_post"], strict=True)
    ):
        own = lm[lm["unit"] == u].set_index("year")["value"]
        comp_units = [f for f in families.get(int(u), ()) if f not in excl]
        agg = lm[lm["unit"].isin(comp_units)].groupby("year")["value"].agg(["mean", "count"])
        comp = agg[agg["count"] >= min_comparison]["mean"]
        gap = (own - comp).dropna()
        pre = gap[gap.index <= lp]
        post = gap[gap.index >= fp]
        if len(pre) and len(post):
            out[i] = post.mean() - pre.mean()
    return out


# ---------------------------------------------------------------------------------------------------------------
# Similar schools
# ---------------------------------------------------------------------------------------------------------------
BLOCK = 2048  # rows of the N x N feature distance matrix held at once (bounds memory)


def similarity_brute_force(data: PhaseData, method: Method) -> tuple[Families, Partners, Partners]:
    """Families and partners (default and robust) of one phase by brute force.

    Families: for a block of rows, the full block x N feature distance matrix; `np.argpartition` picks each
    row's K nearest, which are then sorted by (distance, row index); a row where a tie straddles the K-th
    place (more than K schools within the K-th distance) is sorted in full instead, so ties always go to the
    lower URN. Partners: great-circle miles for the N x K family members only; the nearest better member,
    equal miles going to the lower URN.
    """
    N, K = data.n, min(method.family_size, data.n - 1)
    X = data.X
    fam_idx = np.empty((N, K), dtype=np.int64)
    fam_d2 = np.empty((N, K))
    for s in range(0, N, BLOCK):
        rows = np.arange(s, min(N, s + BLOCK))
        d2 = squared_distance(X[rows][:, None, :], X[None, :, :])  # block x N
        d2[np.arange(len(rows)), rows] = np.inf  # not one's own family member
        part = np.argpartition(d2, K - 1, axis=1)[:, :K]  # the K smallest, unordered
        pd2 = np.take_along_axis(d2, part, axis=1)
        order = np.lexsort((part, pd2), axis=-1)  # by distance, then lower row index (= lower URN)
        idx = np.take_along_axis(part, order, axis=1)
        kth = np.take_along_axis(pd2, order, axis=1)[:, K - 1]
        tied = np.flatnonzero((d2 <= kth[:, None]).sum(axis=1) > K)
        if tied.size:  # a tie crosses the K-th place: sort those rows in full (stable: lower index first)
            idx[tied] = np.argsort(d2[tied], axis=1, kind="stable")[:, :K]
        fam_idx[rows] = idx
        fam_d2[rows] = np.take_along_axis(d2, idx, axis=1)
    fam_miles = haversine_miles(
        data.lat[:, None], data.lon[:, None], data.lat[fam_idx], data.lon[fam_idx], method.earth_radius_miles
    )  # N x K: only the family members' miles
    fam = Families(fam_idx, np.sqrt(fam_d2), fam_miles)

    h, se, avg = data.headline, data.headline_se, data.headline_avg
    better = h[fam_idx] > h[:, None]
    with np.errstate(invalid="ignore"):
        robust = (
            better
            & (avg[fam_idx] - avg[:, None] > 0)
            & (h[fam_idx] - h[:, None] > method.z * np.sqrt(se[:, None] ** 2 + se[fam_idx] ** 2))
        )
    out = []
    for is_robust, b in ((False, better), (True, robust)):
        m = np.where(b, fam_miles, np.inf)
        mn = m.min(axis=1)
        has = np.isfinite(mn)
        nearest = np.where(b & (m == mn[:, None]), fam_idx, N).min(axis=1)  # equal miles: lower URN
        p_idx = np.where(has, nearest, NO_PARTNER).astype(np.int64)
        p_mi = np.where(has, mn, np.nan)
        with np.errstate(invalid="ignore"):
            within = has & (p_mi <= method.radius_miles)
        out.append(Partners(p_idx, p_mi, within, ~has, robust=is_robust))
    return fam, out[0], out[1]
