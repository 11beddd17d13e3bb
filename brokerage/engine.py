"""Brokerage matching engine (pure: numpy arrays in, dataclasses out; no Django import).

A region's (or the country's) needs are matched to supporters' offers in one min-cost flow
(OR-Tools `SimpleMinCostFlow`, integer costs):

    need i (supply 1) --[candidate arc, cap 1, cost c_ij]--> offer j --[cap = capacity_j]--> sink (demand n)
    need i            --[unserved arc, cap 1, cost U(severity_i)]------------------------> sink

Hard constraints (an arc exists only if all hold): the offer covers the need's phase (bit masks) and area,
the distance is within the offer's max travel distance, the need's school is not the offer's school, the
trust rule ("exclude_same": no arc between two schools of the same trust) and the radius ladder: every
compatible offer within the last finite rung (75 miles) is a candidate, each rung costing more; a need with
no compatible offer within it gets the `national_k` nearest compatible offers anywhere (the "national" rung),
so every need that can be helped at all has an option.

Cost of an arc (integer, see `Params`): miles × miles_cost + the rung's step cost + similarity_cost × the
intake distance (Euclidean on SD-standardised features) + strength_cost × (strength_cap − clip(gap, 0, cap)),
where gap = the offer school's family z-score in the area − the needy school's (unknown counts as 0), +
`other_trust_cost` when the rule is "prefer_same" and the trusts differ. Leaving need i unserved costs
U = unserved_base + unserved_step × severity_i, far above any arc cost, so the flow first serves as many
(severity-weighted) needs as capacity allows, severe needs first, then minimises arc cost.

Candidate arcs are built vectorised: per (phase bit, area) group, a KD-tree over 3-ad unit vectors of the
offers answers one `sparse_distance_matrix` query (chord length ↔ great-circle miles) for all needs of
the group at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from brokerage.problem import (  # noqa: F401  (re-exported: brokerage.engine is the public entry point)
    COST_CAP,
    DEFAULT_PARAMS,
    UNMATCHED_REASONS,
    Alternative,
    Arcs,
    FloatArray,
    IntArray,
    Match,
    Needs,
    Params,
    Solution,
    Supporters,
)
from schoolpartners.geo import EARTH_RADIUS_MILES, haversine_miles  # noqa: F401  (re-exported)


# ---------------------------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------------------------
def unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def miles_to_chord(miles: float) -> float:
    return float(2.0 * np.sin(min(miles / EARTH_RADIUS_MILES, np.pi) / 2.0))


def chord_to_miles(chord: FloatArray) -> FloatArray:
    """Great-circle miles from chord length: 2R asin(c/2). Below 500 miles the series c + c^3/24 + 3c^5/640
    (relative error < 1e-7) replaces the much slower arcsin."""
    c = np.asarray(chord, dtype=np.float64)
    if c.size and float(c.max()) < 0.126:  # 0.126 ~ 500 miles
        c2 = c * c
        return EARTH_RADIUS_MILES * c * (1.0 + c2 / 24.0 + 3.0 * c2 * c2 / 640.0)
    return 2.0 * EARTH_RADIUS_MILES * np.arcsin(np.clip(c / 2.0, 0.0, 1.0))


def _bits(mask: IntArray) -> list[int]:
    combined = int(np.bitwise_or.reduce(mask)) if mask.size else 0
    return [b for b in range(63) if combined >> b & 1]


# ---------------------------------------------------------------------------------------------------------------
# Candidate arcs
# ---------------------------------------------------------------------------------------------------------------
def _pairs_within(
    need_xyz: FloatArray, sup_xyz: FloatArray, chord: float
) -> tuple[IntArray, IntArray, FloatArray]:
    if len(need_xyz) == 0 or len(sup_xyz) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    tn, ts = cKDTree(need_xyz), cKDTree(sup_xyz)
    sdm = tn.sparse_distance_matrix(ts, chord, output_type="ndarray")
    return sdm["i"].astype(np.int64), sdm["j"].astype(np.int64), sdm["v"].astype(np.float64)


def _nearest_k(
    need_ll: FloatArray, sup_ll: FloatArray, k: int, chunk: int = 2048
) -> tuple[IntArray, IntArray, FloatArray]:
    """For each need, the k nearest supporters by great-circle distance (haversine in blocks)."""
    n, m = len(need_ll), len(sup_ll)
    if n == 0 or m == 0 or k <= 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    k = min(k, m)
    ii, jj, dd = [], [], []
    for s in range(0, n, chunk):
        blk = need_ll[s : s + chunk]
        d = haversine_miles(blk[:, :1], blk[:, 1:2], sup_ll[None, :, 0], sup_ll[None, :, 1])
        idx = np.argpartition(d, k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (len(blk), 1))
        ii.append(np.repeat(np.arange(s, s + len(blk)), k))
        jj.append(idx.ravel())
        dd.append(np.take_along_axis(d, idx, axis=1).ravel())
    return np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64), np.concatenate(dd)


def _similarity(nX: FloatArray, sX: FloatArray, ai: IntArray, aj: IntArray) -> FloatArray:
    """Euclidean intake distance per arc, one feature column at a time (1-D gathers are much faster than
    2-D fancy indexing); NaN when a feature is unknown."""
    if nX.shape[1] == 0 or ai.size == 0:
        return np.zeros(ai.size)
    acc = np.zeros(ai.size)
    for f in range(nX.shape[1]):
        acc += np.square(np.ascontiguousarray(nX[:, f])[ai] - np.ascontiguousarray(sX[:, f])[aj])
    return np.sqrt(acc)


def build_arcs(needs: Needs, sup: Supporters, params: Params = DEFAULT_PARAMS) -> Arcs:
    """Every admissible need -> offer arc with its integer cost, sorted by (need, cost)."""
    excluded = np.zeros(sup.m, dtype=bool)
    if params.exclude:
        excluded[np.asarray(params.exclude, dtype=np.int64)] = True
    outer = params.ladder[-1]
    chord = miles_to_chord(outer)
    n_xyz, s_xyz = unit_vectors(needs.lat, needs.lon), unit_vectors(sup.lat, sup.lon)
    I_parts: list[IntArray] = []
    J_parts: list[IntArray] = []
    D_parts: list[FloatArray] = []
    for p in _bits(needs.phase):
        for area in np.unique(needs.area):
            ni = np.flatnonzero(((needs.phase >> p) & 1).astype(bool) & (needs.area == area))
            sj = np.flatnonzero(
                ((sup.phases >> p) & 1).astype(bool) & ((sup.areas >> int(area)) & 1).astype(bool) & ~excluded
            )
            if ni.size == 0 or sj.size == 0:
                continue
            i, j, c = _pairs_within(n_xyz[ni], s_xyz[sj], chord)
            miles = chord_to_miles(c)
            ok = miles <= sup.max_miles[sj[j]]
            I_parts.append(ni[i[ok]])
            J_parts.append(sj[j[ok]])
            D_parts.append(miles[ok])
    ai = np.concatenate(I_parts) if I_parts else np.zeros(0, dtype=np.int64)
    aj = np.concatenate(J_parts) if J_parts else np.zeros(0, dtype=np.int64)
    ad = np.concatenate(D_parts) if D_parts else np.zeros(0)
    if ai.size and bool(np.any(needs.phase & (needs.phase - 1))):
        # a need with several phase bits can meet the same offer twice: keep one arc per pair
        key = ai * np.int64(sup.m + 1) + aj
        _, first = np.unique(key, return_index=True)
        ai, aj, ad = ai[first], aj[first], ad[first]
    keep = needs.school[ai] != sup.school[aj]
    if params.trust_rule == "exclude_same":
        keep &= ~((needs.trust[ai] >= 0) & (needs.trust[ai] == sup.trust[aj]))
    ai, aj, ad = ai[keep], aj[keep], ad[keep]

    if params.national:
        has = np.zeros(needs.n, dtype=bool)
        has[ai] = True
        far = np.flatnonzero(~has)
        nI, nJ, nD = [], [], []
        for p in _bits(needs.phase[far]) if far.size else []:
            for area in np.unique(needs.area[far]):
                ni = far[((needs.phase[far] >> p) & 1).astype(bool) & (needs.area[far] == area)]
                sj = np.flatnonzero(
                    ((sup.phases >> p) & 1).astype(bool)
                    & ((sup.areas >> int(area)) & 1).astype(bool)
                    & ~excluded
                    & ~np.isfinite(sup.max_miles)
                )
                if ni.size == 0 or sj.size == 0:
                    continue
                kk = params.national_k + 1  # one spare for the need's own school
                i, j, d = _nearest_k(
                    np.column_stack([needs.lat[ni], needs.lon[ni]]),
                    np.column_stack([sup.lat[sj], sup.lon[sj]]),
                    kk,
                )
                nI.append(ni[i])
                nJ.append(sj[j])
                nD.append(d)
        if nI:
            ai2, aj2, ad2 = np.concatenate(nI), np.concatenate(nJ), np.concatenate(nD)
            k2 = needs.school[ai2] != sup.school[aj2]
            if params.trust_rule == "exclude_same":
                k2 &= ~((needs.trust[ai2] >= 0) & (needs.trust[ai2] == sup.trust[aj2]))
            k2 &= ad2 > outer
            ai2, aj2, ad2 = ai2[k2], aj2[k2], ad2[k2]
            key = ai2 * np.int64(sup.m + 1) + aj2
            _, first = np.unique(key, return_index=True)
            ai2, aj2, ad2 = ai2[first], aj2[first], ad2[first]
            # keep the national_k nearest per need
            o = np.lexsort((ad2, ai2))
            ai2, aj2, ad2 = ai2[o], aj2[o], ad2[o]
            start = np.searchsorted(ai2, ai2, side="left")
            rank = np.arange(ai2.size) - start
            sel = rank < params.national_k
            ai, aj, ad = (
                np.concatenate([ai, ai2[sel]]),
                np.concatenate([aj, aj2[sel]]),
                np.concatenate([ad, ad2[sel]]),
            )

    rung = np.searchsorted(np.asarray(params.ladder), ad, side="left").astype(np.int64)
    sim = _similarity(needs.X, sup.X, ai, aj)
    sim_for_cost = np.where(np.isfinite(sim), np.minimum(sim, params.similarity_cap), params.similarity_cap)
    sup_str = sup.strength[aj, needs.area[ai]] if sup.strength.size else np.zeros(ai.size)
    gap = np.nan_to_num(sup_str, nan=0.0) - np.nan_to_num(needs.strength[ai], nan=0.0)
    cost = (
        ad * params.miles_cost
        + np.asarray(params.step_cost, dtype=np.float64)[rung]
        + sim_for_cost * params.similarity_cost
        + params.strength_cost * (params.strength_cap - np.clip(gap, 0.0, params.strength_cap))
    )
    if params.trust_rule == "prefer_same":
        same = (needs.trust[ai] >= 0) & (needs.trust[ai] == sup.trust[aj])
        cost = cost + np.where(same, 0, params.other_trust_cost)
    icost = np.minimum(np.rint(cost), COST_CAP).astype(np.int64)
    if needs.n <= 65_535:
        # two stable 16-bit radix passes (cost, then need): linear time, ties keep the build order
        by_cost = np.argsort(icost.astype(np.uint16), kind="stable")
        order = by_cost[np.argsort(ai[by_cost].astype(np.uint16), kind="stable")]
    else:
        order = np.argsort((ai * (COST_CAP + 1) + icost) * np.int64(sup.m + 1) + aj)
    return Arcs(ai[order], aj[order], ad[order], rung[order], sim[order], gap[order], icost[order])


# ---------------------------------------------------------------------------------------------------------------
# Solve
# ---------------------------------------------------------------------------------------------------------------
def effective_capacity(sup: Supporters, params: Params) -> IntArray:
    cap = sup.capacity.astype(np.int64).copy()
    for j, extra in params.extra_capacity:
        cap[j] += int(extra)
    if params.exclude:
        cap[np.asarray(params.exclude, dtype=np.int64)] = 0
    return np.maximum(cap, 0)


def _flow(
    n: int, m: int, need: IntArray, offer: IntArray, cost: IntArray, cap: IntArray, penalty: IntArray
) -> IntArray:
    """One OR-Tools min-cost flow; returns the flow (0/1) on each given need -> offer arc."""
    from ortools.graph.python import min_cost_flow

    sink = n + m
    smcf = min_cost_flow.SimpleMinCostFlow()
    if need.size:
        smcf.add_arcs_with_capacity_and_unit_cost(need, n + offer, np.ones(need.size, dtype=np.int64), cost)
    if m:
        smcf.add_arcs_with_capacity_and_unit_cost(
            np.arange(n, n + m), np.full(m, sink), cap, np.zeros(m, dtype=np.int64)
        )
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.arange(n), np.full(n, sink), np.ones(n, dtype=np.int64), penalty
    )
    supplies = np.zeros(n + m + 1, dtype=np.int64)
    supplies[:n] = 1
    supplies[sink] = -n
    smcf.set_nodes_supplies(np.arange(n + m + 1), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    return (
        np.asarray(smcf.flows(np.arange(need.size)), dtype=np.int64)
        if need.size
        else np.zeros(0, dtype=np.int64)
    )


def residual_potentials(
    n: int,
    m: int,
    need: IntArray,
    offer: IntArray,
    cost: IntArray,
    flow: IntArray,
    cap: IntArray,
    penalty: IntArray,
) -> FloatArray:
    """Shortest-path distances in the residual graph of an optimal flow, from a virtual root joined to every
    node at cost 0 (queue-based Bellman-Ford, vectorised: each round relaxes only the arcs leaving nodes whose
    distance changed). They are node potentials: every residual arc has a non-negative reduced cost."""
    sink = n + m
    load = np.bincount(offer[flow > 0], minlength=m) if m else np.zeros(0, dtype=np.int64)
    served = np.zeros(n, dtype=bool)
    served[need[flow > 0]] = True
    fwd = flow == 0
    u = np.concatenate(
        [
            need[fwd],
            n + offer[~fwd],
            np.flatnonzero(load < cap) + n,
            np.full(int((load > 0).sum()), sink),
            np.flatnonzero(served),
            np.full(int((~served).sum()), sink),
        ]
    )
    v = np.concatenate(
        [
            n + offer[fwd],
            need[~fwd],
            np.full(int((load < cap).sum()), sink),
            np.flatnonzero(load > 0) + n,
            np.full(int(served.sum()), sink),
            np.flatnonzero(~served),
        ]
    )
    w = np.concatenate(
        [
            cost[fwd],
            -cost[~fwd],
            np.zeros(int((load < cap).sum())),
            np.zeros(int((load > 0).sum())),
            penalty[served],
            -penalty[~served],
        ]
    ).astype(np.float64)
    order = np.argsort(u, kind="stable")
    u, v, w = u[order], v[order], w[order]
    N = n + m + 1
    starts = np.searchsorted(u, np.arange(N + 1))
    d = np.zeros(N)
    frontier = np.arange(N)
    for _ in range(N + 1):
        lens = starts[frontier + 1] - starts[frontier]
        if not lens.sum():
            break
        idx = np.repeat(starts[frontier] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
        cand = d[u[idx]] + w[idx]
        better = cand < d[v[idx]] - 1e-9
        if not better.any():
            break
        before = d.copy()
        np.minimum.at(d, v[idx[better]], cand[better])
        frontier = np.flatnonzero(d < before)
    else:  # pragma: no cover - impossible for an optimal flow (no negative cycle)
        raise RuntimeError("negative cycle in the residual graph")
    return d


def solve_arcs(
    needs: Needs,
    sup: Supporters,
    arcs: Arcs,
    params: Params = DEFAULT_PARAMS,
    stats: dict[str, float] | None = None,
) -> tuple[IntArray, int]:
    """Min-cost flow over the candidate arcs: per need the chosen arc index (-1 unserved) and the objective.

    Large instances use exact candidate pricing: solve on each need's `pricing_k` cheapest arcs, compute node
    potentials on the residual graph, and add every left-out arc whose reduced cost is negative; repeat until
    none is. Then the flow is optimal for the full arc set (LP complementary slackness), at a fraction of the
    cost of handing millions of arcs to the solver."""
    n, m = needs.n, sup.m
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    cap = effective_capacity(sup, params)
    penalty = params.unserved_cost(needs.severity)
    chosen = np.full(n, -1, dtype=np.int64)
    if arcs.size <= params.pricing_min_arcs or params.pricing_k <= 0:
        flow = _flow(n, m, arcs.need, arcs.offer, arcs.cost, cap, penalty)
        active = np.arange(arcs.size)
        rounds = 0
    else:
        # arcs are sorted by (need, cost): rank of each arc within its need
        first = np.concatenate([[0], np.cumsum(np.bincount(arcs.need, minlength=n))[:-1]])
        rank = np.arange(arcs.size) - first[arcs.need]
        active_mask = rank < params.pricing_k
        head = n + arcs.offer
        rounds = 0
        while True:
            rounds += 1
            active = np.flatnonzero(active_mask)
            flow = _flow(n, m, arcs.need[active], arcs.offer[active], arcs.cost[active], cap, penalty)
            d = residual_potentials(
                n, m, arcs.need[active], arcs.offer[active], arcs.cost[active], flow, cap, penalty
            )
            rc = arcs.cost + (d[arcs.need] - d[head])
            bad = np.flatnonzero((rc < -1e-9) & ~active_mask)
            if not bad.size:
                break
            # partial pricing: per need, only its `pricing_k` most negative left-out arcs join the next round
            o = bad[np.lexsort((rc[bad], arcs.need[bad]))]
            nb = arcs.need[o]
            r = np.arange(o.size) - np.searchsorted(nb, nb, side="left")
            active_mask[o[r < params.pricing_k]] = True
    used = active[flow > 0]
    chosen[arcs.need[used]] = used
    if stats is not None:
        stats["pricing_rounds"] = rounds
        stats["arcs_in_flow"] = int(active.size)
    total = int(arcs.cost[used].sum()) + int(penalty[chosen < 0].sum())
    return chosen, total


def _finish(
    needs: Needs, sup: Supporters, arcs: Arcs, chosen: IntArray, params: Params, timings: dict[str, float]
) -> Solution:
    n, m = needs.n, sup.m
    assigned = np.where(chosen >= 0, arcs.offer[np.maximum(chosen, 0)] if arcs.size else -1, -1).astype(
        np.int64
    )
    cap = effective_capacity(sup, params)
    used = (
        np.bincount(assigned[assigned >= 0], minlength=m).astype(np.int64)
        if m
        else np.zeros(0, dtype=np.int64)
    )
    arc_cost = int(arcs.cost[chosen[chosen >= 0]].sum()) if arcs.size else 0
    unserved = chosen < 0
    total = arc_cost + int(params.unserved_cost(needs.severity[unserved]).sum())
    nearest = np.full(n, np.inf)
    if arcs.size:
        np.minimum.at(nearest, arcs.need, arcs.miles)
    reason = np.full(n, "", dtype=object)
    if unserved.any():
        excluded = np.zeros(m, dtype=bool)
        if params.exclude:
            excluded[np.asarray(params.exclude, dtype=np.int64)] = True
        live = ~excluded
        has_arc = np.zeros(n, dtype=bool)
        if arcs.size:
            has_arc[arcs.need] = True
        for i in np.flatnonzero(unserved):
            phase_ok = live & ((sup.phases & needs.phase[i]) != 0)
            if not phase_ok.any():
                reason[i] = "no_phase"
            elif not (phase_ok & (((sup.areas >> int(needs.area[i])) & 1) == 1)).any():
                reason[i] = "no_area"
            elif not has_arc[i]:
                reason[i] = "out_of_reach"
            else:
                reason[i] = "capacity"
    return Solution(
        assigned=assigned,
        arc_of_need=chosen,
        arcs=arcs,
        cost=total,
        arc_cost=arc_cost,
        served=int((~unserved).sum()),
        unmatched_reason=reason,
        nearest_miles=nearest,
        used=used,
        capacity=cap,
        params=params,
        timings=timings,
    )


def solve(needs: Needs, sup: Supporters, params: Params = DEFAULT_PARAMS) -> Solution:
    """Build the candidate arcs and solve to optimality. What-if: pass `params.with_(...)` and call again."""
    import time

    t0 = time.perf_counter()
    arcs = build_arcs(needs, sup, params)
    t1 = time.perf_counter()
    stats: dict[str, float] = {}
    chosen, _ = solve_arcs(needs, sup, arcs, params, stats)
    t2 = time.perf_counter()
    sol = _finish(needs, sup, arcs, chosen, params, {"build_arcs": t1 - t0, "flow": t2 - t1, **stats})
    sol.timings["total"] = time.perf_counter() - t0
    return sol


def check(needs: Needs, sup: Supporters, sol: Solution) -> list[str]:
    """Every hard constraint of a solution; returns the violations (empty when feasible)."""
    problems = []
    p = sol.params
    if (sol.used > sol.capacity).any():
        problems.append("capacity exceeded")
    for i in np.flatnonzero(sol.assigned >= 0):
        j = int(sol.assigned[i])
        miles = float(haversine_miles(needs.lat[i], needs.lon[i], sup.lat[j], sup.lon[j]))
        if not sup.phases[j] & needs.phase[i]:
            problems.append(f"need {i}: phase")
        if not (sup.areas[j] >> int(needs.area[i])) & 1:
            problems.append(f"need {i}: area")
        if miles > sup.max_miles[j] + 1e-6:
            problems.append(f"need {i}: travel distance")
        if needs.school[i] == sup.school[j]:
            problems.append(f"need {i}: own school")
        if j in p.exclude:
            problems.append(f"need {i}: excluded offer")
        if p.trust_rule == "exclude_same" and needs.trust[i] >= 0 and needs.trust[i] == sup.trust[j]:
            problems.append(f"need {i}: same trust")
        if miles > p.ladder[-1] + 1e-6 and not p.national:
            problems.append(f"need {i}: beyond the ladder")
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------------------------------------------
def rung_label(rung: int, params: Params) -> str:
    if rung < len(params.ladder):
        return f"within {params.ladder[rung]:g} miles"
    return f"national (beyond {params.ladder[-1]:g} miles)"


def similarity_words(d: float) -> str:
    if d < 0.75:
        return "a very similar intake"
    if d < 1.5:
        return "a similar intake"
    if d < 3.0:
        return "a somewhat different intake"
    return "a different intake"


def explain(match: Match, area_label: str, params: Params) -> str:
    """The reason for one match in plain words."""
    parts = [f"{match.miles:.1f} miles away ({rung_label(match.rung, params)})"]
    if match.gap > 0.05:
        parts.append(f"strong in {area_label.lower()}: {match.gap:+.1f} family SDs above the school in need")
    else:
        parts.append(f"offers {area_label.lower()} (no measured advantage in this area)")
    if np.isfinite(match.similarity):
        parts.append(f"{similarity_words(match.similarity)} (intake distance {match.similarity:.1f})")
    else:
        parts.append("intake similarity unknown (no census features)")
    return "; ".join(parts) + "."


def group_counts(keys: Sequence[str], flags: Sequence[bool]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, f in zip(keys, flags, strict=True):
        if f:
            out[k] = out.get(k, 0) + 1
    return out
