"""Member -> results mapping: for every current member, the URN whose results stand for it (itself or the
nearest predecessor with results), stored as `MemberMapping`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction

from partnerships import aggregates as agg
from partnerships.aggregates import KEY_STAGES, YEARS
from partnerships.models import MemberMapping, Membership
from partnerships.services.attributed import _predecessors
from partnerships.services.seats import SeatSync, sync_mat_seats
from schools.models import CensusRecord, Result, SchoolLink


def _ks_measures(ks: int) -> list[str]:
    return [*agg.KS_MEASURES[ks], agg.COHORT[ks]]


def predecessor_graph() -> dict[int, list[int]]:
    """urn -> predecessor URNs, from GIAS links whose type contains "Predecessor"."""
    graph: dict[int, list[int]] = defaultdict(list)
    for urn, link in (
        SchoolLink.objects.filter(link_type__icontains="predecessor")
        .values_list("urn", "link_urn")
        .order_by("urn", "link_urn")
    ):
        graph[urn].append(link)
    return graph


def results_presence(
    urns: list[int] | None = None,
) -> tuple[dict[tuple[int, int], set[int]], dict[tuple[int, int], dict[int, float]]]:
    """(ks, year) -> URNs with any stored result of that key stage; and (ks, year) -> cohort by URN (of `urns`
    only when given)."""
    has: dict[tuple[int, int], set[int]] = defaultdict(set)
    size: dict[tuple[int, int], dict[int, float]] = defaultdict(dict)
    for ks in KEY_STAGES:
        cohort = agg.COHORT[ks]
        base = Result.objects.all() if urns is None else Result.objects.filter(school_id__in=urns)
        rows = (
            base.filter(year__in=YEARS, measure__in=_ks_measures(ks))
            .order_by()
            .values_list("school_id", "year")
            .distinct()
        )
        for urn, year in rows.iterator(chunk_size=20000):
            has[(ks, year)].add(urn)
        cohorts = base.filter(year__in=YEARS, measure=cohort, value__isnull=False).values_list(
            "school_id", "year", "value"
        )
        for urn, year, value in cohorts.iterator(chunk_size=20000):
            if value is not None:
                size[(ks, year)][urn] = value
    return has, size


def member_urns() -> list[int]:
    return sorted(set(Membership.objects.filter(left__isnull=True).values_list("school_id", flat=True)))


@dataclass
class MappingSummary:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    seats: SeatSync | None = None


def _closure(urns: list[int], graph: dict[int, list[int]], max_hops: int = 20) -> list[int]:
    """The URNs and every predecessor reachable from them."""
    seen = set(urns)
    frontier = list(urns)
    for _ in range(max_hops):
        frontier = [p for u in frontier for p in graph.get(u, ()) if p not in seen]
        if not frontier:
            break
        seen.update(frontier)
    return sorted(seen)


def census_rolls(urns: list[int] | None = None) -> dict[int, float]:
    """urn -> number on roll from the census nearest the results years (2018/19, else the latest held)."""
    qs = CensusRecord.objects.filter(nor__isnull=False)
    if urns is not None:
        qs = qs.filter(school_id__in=urns)
    best: dict[int, tuple[int, float]] = {}
    for urn, year, nor in qs.values_list("school_id", "year", "nor").iterator(chunk_size=20000):
        rank = abs(year - YEARS[-1])
        if nor is not None and (urn not in best or rank < best[urn][0]):
            best[urn] = (rank, float(nor))
    return {u: v for u, (_, v) in best.items()}


@transaction.atomic
def map_members(only: list[int] | None = None) -> MappingSummary:
    """Store, for every current member URN (or the URNs `only`), key stage (2, 4) and year (2016-2019), the URN
    whose results stand for it (itself, or the nearest predecessor with results; of several predecessors the
    larger cohort, else the larger census roll, else the lower URN). Idempotent: only changed rows are written;
    with `only`, rows of other URNs are left alone."""
    out = MappingSummary(seats=sync_mat_seats() if only is None else None)
    urns = member_urns() if only is None else sorted(set(only))
    graph = predecessor_graph() if only is None else _predecessors(urns, hops=20)
    scope = None if only is None else _closure(urns, graph)
    has, size = results_presence(scope)
    roll = census_rolls(scope)
    want: dict[tuple[int, int, int], tuple[int | None, str, int, list[int]]] = {}
    for urn in urns:
        for ks in KEY_STAGES:
            for year in YEARS:
                # The 2018/19 files carry no cohort: a merger's predecessors are ranked by their 2017/18 cohort.
                sz = size[(ks, year)] if year != 2019 else {**size[(ks, year - 1)], **size[(ks, year)]}
                m = agg.map_to_results(urn, graph, has[(ks, year)], sz, roll=roll)
                want[(urn, ks, year)] = (m.results_urn, m.method, m.hops, list(m.path))
    mm = MemberMapping.objects.all() if only is None else MemberMapping.objects.filter(urn__in=urns)
    existing = {(r.urn, r.key_stage, r.year): r for r in mm}
    stale = [r.pk for k, r in existing.items() if k not in want]
    out.deleted = len(stale)
    for i in range(0, len(stale), 5000):
        MemberMapping.objects.filter(pk__in=stale[i : i + 5000]).delete()
    new, changed = [], []
    for key, (results_urn, method, hops, path) in want.items():
        row = existing.get(key)
        if row is None:
            new.append(
                MemberMapping(
                    urn=key[0],
                    key_stage=key[1],
                    year=key[2],
                    results_urn=results_urn,
                    method=method,
                    hops=hops,
                    path=path,
                )
            )
        elif (row.results_urn, row.method, row.hops, list(row.path)) != (results_urn, method, hops, path):
            row.results_urn, row.method, row.hops, row.path = results_urn, method, hops, path
            changed.append(row)
    MemberMapping.objects.bulk_create(new, batch_size=2000)
    MemberMapping.objects.bulk_update(changed, ["results_urn", "method", "hops", "path"], batch_size=2000)
    out.rows, out.inserted, out.updated = len(want), len(new), len(changed)
    out.unchanged = len(want) - len(new) - len(changed)
    return out
