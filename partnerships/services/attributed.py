"""Trust results by attribution rule: members' "in this trust since" dates, weights with their documented
fallbacks, pupil-weighted means per rule and bootstrap intervals over member schools. Reads the database; the
maths is `partnerships.aggregates` and `partnerships.attribution` (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Min

from partnerships import aggregates as agg
from partnerships import attribution as attr
from partnerships.aggregates import KEY_STAGES, YEARS
from schools.models import CensusRecord, Result, SchoolLink

BOOTSTRAPPED = ("in_trust", "three_years")
Since = dict[tuple[int, int], tuple[dt.date | None, str]]


def _lookup(keys: np.ndarray, table: dict[int, float]) -> np.ndarray:
    """table[k] for each k of `keys` (NaN where absent, e.g. -1), vectorised with a sorted search."""
    if not table:
        return np.full(len(keys), np.nan)
    k = np.fromiter(table.keys(), dtype=np.int64, count=len(table))
    v = np.fromiter(table.values(), dtype=float, count=len(table))
    order = np.argsort(k)
    k, v = k[order], v[order]
    pos = np.clip(np.searchsorted(k, keys), 0, len(k) - 1)
    return np.where(k[pos] == keys, v[pos], np.nan)


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _floats(a: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in np.asarray(a, dtype=float).tolist()]


def member_since(
    mrows: list[tuple[int, int, dt.date | None]], schools: dict[int, dict[str, Any]], member_sq: Any
) -> Since:
    """(partnership, urn) -> ("in this trust since" date, what it rests on): membership start, else the academy
    URN's open date, else the date of its (latest) predecessor link in GIAS."""
    links: dict[int, dt.date] = {}
    for urn, d in SchoolLink.objects.filter(
        urn__in=member_sq, link_type__icontains="predecessor", established__isnull=False
    ).values_list("urn", "established"):
        if d is not None and (urn not in links or d > links[urn]):
            links[urn] = d
    out = {
        (p, u): attr.since_date(joined, (schools.get(u) or {}).get("open_date"), links.get(u))
        for p, u, joined in mrows
    }
    # No date at all (mostly free schools opened before the 2017/18 spine, with no predecessor): the academy URN's
    # own first results year is a bound on its opening, so it was an academy by the start of that year.
    unknown = sorted({u for (_, u), (d, _) in out.items() if d is None})
    first: dict[int, int] = {}
    for i in range(0, len(unknown), 2000):
        for urn, year in (
            Result.objects.filter(school_id__in=unknown[i : i + 2000], year__in=YEARS)
            .values_list("school_id")
            .annotate(first=Min("year"))
            .values_list("school_id", "first")
        ):
            first[urn] = year
    for (p, u), (d, _) in list(out.items()):
        if d is None and u in first:
            out[(p, u)] = (attr.year_start(first[u]), "own results from then")
    return out


def _predecessors(urns: list[int] | None, hops: int = 5) -> dict[int, list[int]]:
    """urn -> predecessor URNs (all links, or those reachable from `urns` within `hops`)."""
    graph: dict[int, list[int]] = defaultdict(list)
    qs = SchoolLink.objects.filter(link_type__icontains="predecessor")
    if urns is None:
        for u, p in qs.values_list("urn", "link_urn").order_by("urn", "link_urn"):
            graph[u].append(p)
        return graph
    frontier, seen = list(urns), set(urns)
    for _ in range(hops):
        if not frontier:
            break
        nxt = []
        for u, p in qs.filter(urn__in=frontier).values_list("urn", "link_urn").order_by("urn", "link_urn"):
            graph[u].append(p)
            if p not in seen:
                seen.add(p)
                nxt.append(p)
        frontier = nxt
    return graph


def _cohorts(urns: list[int] | None) -> dict[tuple[int, int], dict[int, float]]:
    """(ks, year) -> cohort by URN (of `urns`, or every school)."""
    out: dict[tuple[int, int], dict[int, float]] = defaultdict(dict)
    ks_of = {agg.COHORT[ks]: ks for ks in KEY_STAGES}
    if urns is None:
        qs = Result.objects.filter(year__in=YEARS, measure__in=list(ks_of), value__isnull=False)
        rows: Any = qs.values_list("school_id", "year", "measure", "value").iterator(chunk_size=20000)
    else:
        # By school: SQLite would otherwise take the (measure, year, value) index and scan every school's cohort
        # rows; the unary + (a no-op) keeps it on the school index (as `figures.result_values`).
        plus = "+" if connection.vendor == "sqlite" else ""
        rows = []
        with connection.cursor() as cursor:
            for i in range(0, len(urns), 2000):
                part = urns[i : i + 2000]
                cursor.execute(
                    f"SELECT school_id, year, measure, value FROM {Result._meta.db_table} "
                    f"WHERE school_id IN ({', '.join(['%s'] * len(part))}) "
                    f"AND {plus}year IN ({', '.join(['%s'] * len(YEARS))}) "
                    f"AND {plus}measure IN ({', '.join(['%s'] * len(ks_of))}) AND value IS NOT NULL",
                    [*part, *YEARS, *ks_of],
                )
                rows.extend(cursor.fetchall())
    for urn, year, measure, value in rows:
        if value is not None:
            out[(ks_of[measure], year)][urn] = value
    return out


def _rolls(urns: list[int] | None) -> dict[int, float]:
    """urn -> number on roll from the census nearest the results years (2018/19, else the latest held)."""
    qs = CensusRecord.objects.filter(nor__isnull=False)
    if urns is not None:
        qs = qs.filter(school_id__in=urns)
    best: dict[int, tuple[int, float]] = {}
    for urn, year, n in qs.values_list("school_id", "year", "nor").iterator(chunk_size=20000):
        rank = abs(year - YEARS[-1])
        if n is not None and (urn not in best or rank < best[urn][0]):
            best[urn] = (rank, float(n))
    return {u: v for u, (_, v) in best.items()}


def attributed_performance(
    members: list[tuple[int, int]],
    pids: list[int],
    map_by: dict[tuple[int, int], dict[int, int]],
    values: dict[tuple[int, str], dict[int, float]],
    since: Since,
    results_urns: list[int],
    scoped: bool,
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, dict[str, Any]]]:
    """Per trust: the "while in this trust" rows (the trust's figures) and, in `extra`, the 3-or-more-years rows,
    the "before they joined" rows, how the since dates and the weights were found."""
    index = {p: i for i, p in enumerate(pids)}
    groups = np.array([index[p] for p, _ in members], dtype=np.int64)
    urn_arr = np.array([u for _, u in members], dtype=np.int64)
    since_days = np.array([attr.day_number(since[m][0]) for m in members], dtype=float)
    graph = _predecessors(results_urns if scoped else None)
    pred_urns = sorted({p for ps in graph.values() for p in ps})
    cohorts = _cohorts(pred_urns if scoped else None)
    rolls = _rolls(sorted({*results_urns, *urn_arr.tolist()}) if scoped else None)
    n_g = len(pids)
    used = np.zeros((n_g, len(attr.WEIGHT_LEVELS)), dtype=np.int64)
    rows: dict[str, dict[int, list[dict[str, Any]]]] = {r: defaultdict(list) for r in attr.RULES}
    cols_x: list[np.ndarray] = []
    cols_w: list[np.ndarray] = []
    for ks in KEY_STAGES:
        cohort = agg.COHORT[ks]
        for year in YEARS:
            by_urn = map_by.get((ks, year), {})
            ru = np.array([by_urn.get(int(u), -1) for u in urn_arr], dtype=np.int64)
            own = _lookup(ru, values.get((year, cohort), {}))
            if year == 2019:  # the 2018/19 files carry no cohort count: the same URN's 2017/18 cohort
                own = np.where(np.isnan(own), _lookup(ru, values.get((year - 1, cohort), {})), own)
            pre = np.full(len(ru), np.nan)
            need = np.flatnonzero(~np.isfinite(own) & (ru >= 0))
            if len(need):
                table = {**cohorts.get((ks, year - 1), {}), **cohorts.get((ks, year), {})}
                for i in need:
                    pre[i] = attr.nearest_with(int(ru[i]), graph, table)
            roll = _lookup(ru, rolls)
            roll = np.where(np.isnan(roll), _lookup(urn_arr, rolls), roll)
            w, level = attr.fill_weights(own, pre, roll, ks)
            masks = attr.rule_masks(since_days, year)
            for measure in agg.KS_MEASURES[ks]:
                vals = values.get((year, measure))
                if not vals:
                    continue
                x = _lookup(ru, vals)
                if not np.isfinite(x).any():
                    continue
                has = np.isfinite(x) & np.isfinite(w)
                for lv in range(len(attr.WEIGHT_LEVELS)):
                    used[:, lv] += np.bincount(groups[has & (level == lv)], minlength=n_g)
                for rule in attr.RULES:
                    xm = np.where(masks[rule], x, np.nan)
                    g = agg.grouped_weighted_means(measure, groups, xm, w, n_g)
                    ok = np.isfinite(xm) & np.isfinite(w)
                    by_level = [np.bincount(groups[ok & (level == lv)], minlength=n_g) for lv in range(3)]
                    col = -1
                    if rule in BOOTSTRAPPED:  # results from before joining carry the analytic interval only
                        col = len(cols_x)
                        cols_x.append(xm)
                        cols_w.append(w)
                    idx = np.flatnonzero((g["schools"] > 0) & np.isfinite(g["mean"]))
                    if not len(idx):
                        continue
                    mean, se, low, high = (_floats(g[k][idx]) for k in ("mean", "se", "low", "high"))
                    n_s, n_p = g["schools"][idx].tolist(), np.rint(g["pupils"][idx]).astype(int).tolist()
                    lvs = [b[idx].tolist() for b in by_level]
                    for j, i in enumerate(idx.tolist()):
                        rows[rule][pids[i]].append(
                            {
                                "key_stage": ks,
                                "year": year,
                                "measure": measure,
                                "mean": mean[j],
                                "se": se[j],
                                "low": low[j],
                                "high": high[j],
                                "boot_low": None,
                                "boot_high": None,
                                "schools": n_s[j],
                                "pupils": n_p[j],
                                "weights": {"cohort": lvs[0][j], "predecessor": lvs[1][j], "roll": lvs[2][j]},
                                "_col": col,
                            }
                        )
    _bootstrap(pids, groups, cols_x, cols_w, rows)
    for lst in rows["before_joining"].values():
        for r in lst:
            r.pop("_col", None)
    extra: dict[int, dict[str, Any]] = {}
    by_trust_basis: dict[int, Counter[str]] = defaultdict(Counter)
    for (p, _), (_, b) in since.items():
        by_trust_basis[p][b] += 1
    for i, p in enumerate(pids):
        extra[p] = {
            "three_years": rows["three_years"].get(p, []),
            "before_joining": rows["before_joining"].get(p, []),
            "since": dict(sorted(by_trust_basis[p].items())),
            "weights": {
                "values": int(used[i].sum()),
                **{name: int(used[i, lv]) for lv, name in enumerate(attr.WEIGHT_LEVELS)},
            },
        }
    return dict(rows["in_trust"]), extra


def _bootstrap(
    pids: list[int],
    groups: np.ndarray,
    cols_x: list[np.ndarray],
    cols_w: list[np.ndarray],
    rows: dict[str, dict[int, list[dict[str, Any]]]],
) -> None:
    """Fill boot_low/boot_high of every row: members of one trust are contiguous (sorted by partnership)."""
    if not cols_x or not len(groups):
        for by in rows.values():
            for lst in by.values():
                for r in lst:
                    r.pop("_col", None)
        return
    X = np.column_stack(cols_x)
    W = np.column_stack(cols_w)
    ok = np.isfinite(X) & np.isfinite(W) & (W > 0)
    starts = np.searchsorted(groups, np.arange(len(pids)))
    ends = np.searchsorted(groups, np.arange(len(pids)), side="right")
    blocks: list[np.ndarray] = []
    enough: list[np.ndarray] = []
    targets: list[tuple[list[dict[str, Any]], dict[int, int], int]] = []
    offset = 0
    for i, p in enumerate(pids):
        a, b = int(starts[i]), int(ends[i])
        mine = [r for rule in BOOTSTRAPPED for r in rows[rule].get(p, [])]
        if not mine:
            continue
        cols = np.flatnonzero(ok[a:b].sum(axis=0) >= attr.MIN_BOOT_SCHOOLS)
        if len(cols):
            means, en = attr.bootstrap_means(
                attr.bootstrap_draws(b - a, (p,)), W[a:b][:, cols], X[a:b][:, cols]
            )
            blocks.append(means)
            enough.append(en)
        targets.append((mine, {int(c): offset + j for j, c in enumerate(cols)}, offset))
        offset += len(cols)
    lo, hi = (
        attr.percentile_intervals(np.hstack(blocks), np.concatenate(enough))
        if blocks
        else (np.array([]),) * 2
    )
    for mine, where, _ in targets:
        for r in mine:
            j = where.get(r.pop("_col"))
            if j is not None:
                r["boot_low"], r["boot_high"] = _f(lo[j]), _f(hi[j])
