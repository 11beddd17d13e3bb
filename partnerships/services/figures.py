"""Trust figures: every partnership's stored aggregates (`TrustAggregate`), recomputed from the member mapping,
the census and the results in a handful of queries; the maths is `partnerships.aggregates` (vectorised)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from partnerships import aggregates as agg
from partnerships.aggregates import KEY_STAGES, YEARS
from partnerships.models import MemberMapping, Membership, TrustAggregate, current_q
from partnerships.services.attributed import _lookup, attributed_performance, member_since  # noqa: F401
from partnerships.services.mapping import MappingSummary, _ks_measures, map_members
from schools.models import CensusRecord, Result, School


def _label(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(((k or "Not known"), v) for k, v in counter.items()))


def result_values(
    urns: list[int] | None, years: Iterable[int], measures: list[str]
) -> dict[tuple[int, str], dict[int, float]]:
    """(year, measure) -> {urn: value} for the given schools (None: every URN the member mapping points to),
    looked up by school.

    SQLite's planner prefers the (measure, year, value) index for this shape and then scans every school's rows;
    the unary `+` on year and measure (a no-op in SQLite) makes it probe the school index instead. PostgreSQL
    plans it well as written."""
    from django.db import connection

    table = Result._meta.db_table
    plus = "+" if connection.vendor == "sqlite" else ""
    years = list(years)
    out: dict[tuple[int, str], dict[int, float]] = defaultdict(dict)
    tail = (
        f"AND {plus}year IN ({', '.join(['%s'] * len(years))}) "
        f"AND {plus}measure IN ({', '.join(['%s'] * len(measures))}) "
        "AND value IS NOT NULL"
    )
    if urns is None:
        batches: list[tuple[str, list[Any]]] = [
            (
                f"SELECT school_id, year, measure, value FROM {table} "
                f"WHERE school_id IN (SELECT DISTINCT results_urn FROM {MemberMapping._meta.db_table} "
                f"WHERE results_urn IS NOT NULL) {tail}",
                [*years, *measures],
            )
        ]
    else:
        batches = [
            (
                f"SELECT school_id, year, measure, value FROM {table} WHERE school_id IN "
                f"({', '.join(['%s'] * len(urns[i : i + 2000]))}) {tail}",
                [*urns[i : i + 2000], *years, *measures],
            )
            for i in range(0, len(urns), 2000)
        ]
    with connection.cursor() as cursor:
        for sql, params in batches:
            cursor.execute(sql, params)
            for urn, year, measure, value in cursor.fetchall():
                out[(year, measure)][urn] = value
    return out


@dataclass
class RecomputeSummary:
    trusts: int
    members: int
    mapping: MappingSummary | None
    seconds: dict[str, float]


def recompute(map_first: bool = True) -> RecomputeSummary:
    """Recompute and store every partnership's aggregates (idempotent). Also refreshes the member mapping."""
    import time

    t0 = time.perf_counter()
    mapping = map_members() if map_first else None
    t1 = time.perf_counter()
    aggregates = compute_aggregates()
    t2 = time.perf_counter()
    store_aggregates(aggregates)
    t3 = time.perf_counter()
    return RecomputeSummary(
        trusts=len(aggregates),
        members=sum(a.members for a in aggregates),
        mapping=mapping,
        seconds={"map": round(t1 - t0, 3), "compute": round(t2 - t1, 3), "store": round(t3 - t2, 3)},
    )


@transaction.atomic
def recompute_trust(partnership_id: int, today: dt.date | None = None) -> TrustAggregate | None:
    """Recompute and store one partnership's figures after a membership change: its members' results mapping,
    then counts, pupils, Ofsted mix, geography and results (both attribution rules). Rows of other trusts are
    left alone; the stored row is rewritten only when a figure changed. Returns the stored figures (None when
    the partnership has no current member). Safe to run again or as a background job."""
    today = today or timezone.localdate()
    urns = list(
        Membership.objects.filter(current_q(today), partnership_id=partnership_id).values_list(
            "school_id", flat=True
        )
    )
    # A membership change never changes an existing member's results mapping (that follows imports and the full
    # recompute): only schools new to the mapping are mapped here.
    mapped = set(MemberMapping.objects.filter(urn__in=urns).values_list("urn", flat=True).distinct())
    unmapped = [u for u in urns if u not in mapped]
    if unmapped:
        map_members(only=unmapped)
    aggregates = compute_aggregates([partnership_id], today=today)
    if not aggregates:
        TrustAggregate.objects.filter(partnership_id=partnership_id).delete()
        return None
    new = aggregates[0]
    if TrustAggregate.objects.filter(partnership_id=partnership_id).exists():
        new.save(force_update=True)
    else:
        new.save(force_insert=True)
    return new


_AGG_FIELDS = [
    f.name for f in TrustAggregate._meta.concrete_fields if f.name not in ("partnership", "computed_at")
]


@transaction.atomic
def store_aggregates(aggregates: list[TrustAggregate]) -> dict[str, int]:
    """Replace the stored aggregates by `aggregates`, writing only rows that changed (a rerun on the same data
    writes nothing, and `computed_at` then keeps the time the figures last changed)."""
    existing = {a.partnership_id: a for a in TrustAggregate.objects.all()}
    wanted = {a.partnership_id for a in aggregates}
    stale = [pid for pid in existing if pid not in wanted]
    TrustAggregate.objects.filter(partnership_id__in=stale).delete()
    new, changed = [], []
    for a in aggregates:
        old = existing.get(a.partnership_id)
        if old is None:
            new.append(a)
        elif any(getattr(old, f) != getattr(a, f) for f in _AGG_FIELDS):
            changed.append(a)
    TrustAggregate.objects.bulk_create(new, batch_size=500)
    TrustAggregate.objects.bulk_update(changed, [*_AGG_FIELDS, "computed_at"], batch_size=200)
    return {
        "inserted": len(new),
        "updated": len(changed),
        "deleted": len(stale),
        "unchanged": len(aggregates) - len(new) - len(changed),
    }


def compute_aggregates(
    partnership_ids: Iterable[int] | None = None, today: dt.date | None = None
) -> list[TrustAggregate]:
    """All partnerships' aggregates (or those of `partnership_ids`) in a handful of queries; the maths is
    partnerships.aggregates and partnerships.attribution (vectorised). Members are the memberships current on
    `today` (default: today): a future-dated membership is not counted until its date."""
    now = timezone.now()
    today = today or timezone.localdate()
    mem_qs = Membership.objects.filter(current_q(today))
    if partnership_ids is not None:
        mem_qs = mem_qs.filter(partnership_id__in=list(partnership_ids))
    mrows = list(
        mem_qs.order_by("partnership_id", "school_id").values_list("partnership_id", "school_id", "joined")
    )
    members = [(p, u) for p, u, _ in mrows]
    pids = sorted({p for p, _ in members})
    scoped = partnership_ids is not None
    member_urns = sorted({u for _, u in members})
    member_sq: Any = (
        member_urns if scoped else mem_qs.values("school_id")
    )  # a subquery: no long parameter lists
    fields = (
        "urn",
        "name",
        "phase",
        "la_name",
        "region_name",
        "latitude",
        "longitude",
        "establishment_type",
        "ofsted_rating",
        "is_primary",
        "is_secondary",
        "open_date",
        "source",
    )
    schools: dict[int, dict[str, Any]] = {
        row["urn"]: row for row in School.objects.filter(urn__in=member_sq).values(*fields)
    }
    nor: dict[int, tuple[int, int]] = {}
    for urn, year, n in CensusRecord.objects.filter(school_id__in=member_sq, nor__isnull=False).values_list(
        "school_id", "year", "nor"
    ):
        if n is not None and (urn not in nor or year > nor[urn][0]):
            nor[urn] = (year, n)
    mapping: dict[tuple[int, int, int], int | None] = {}
    methods: dict[tuple[int, int, int], str] = {}
    map_by: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    for urn, ks, year, results_urn, method in (
        MemberMapping.objects.filter(urn__in=member_sq)
        .exclude(method="none")
        .values_list("urn", "key_stage", "year", "results_urn", "method")
    ):
        mapping[(urn, ks, year)] = results_urn
        methods[(urn, ks, year)] = method
        if results_urn is not None:
            map_by[(ks, year)][urn] = results_urn
    measures = [m for ks in KEY_STAGES for m in _ks_measures(ks)]
    results_urns = sorted({r for d in map_by.values() for r in d.values()})
    values = result_values(results_urns if scoped else None, YEARS, measures)
    since = member_since(mrows, schools, member_sq)
    perf, extra = attributed_performance(members, pids, map_by, values, since, results_urns, scoped)

    by_trust: dict[int, list[int]] = defaultdict(list)
    for p, u in members:
        by_trust[p].append(u)
    out = []
    for pid in pids:
        urn_list = by_trust[pid]
        rows = [schools.get(u, {"urn": u}) for u in urn_list]
        lat = np.array(
            [r.get("latitude") if r.get("latitude") is not None else np.nan for r in rows], dtype=float
        )
        lon = np.array(
            [r.get("longitude") if r.get("longitude") is not None else np.nan for r in rows], dtype=float
        )
        geo = agg.geography(lat, lon, [r.get("la_name") for r in rows])
        located = np.isfinite(lat) & np.isfinite(lon)
        dist = iter(geo.to_centroid)
        phases = Counter(r.get("phase") or "" for r in rows)
        regions = Counter(r.get("region_name") or "" for r in rows)
        las = Counter(r.get("la_name") or "" for r in rows)
        nor_rows = [nor[u] for u in urn_list if u in nor]
        trust_perf = perf.get(pid, [])
        trust_extra = extra.get(pid, {})
        ks2 = _headline(trust_perf, 2)
        ks4 = _headline(trust_perf, 4)
        mcount: dict[str, dict[str, int]] = {}
        for ks in KEY_STAGES:
            c = Counter(methods.get((u, ks, 2019), "none") for u in urn_list)
            mcount[f"ks{ks}"] = {k: c.get(k, 0) for k in ("direct", "link", "chain", "none")}
        member_rows = []
        for r, ok in zip(rows, located, strict=True):
            u = r["urn"]
            member_rows.append(
                {
                    "urn": u,
                    "name": r.get("name", f"URN {u}"),
                    "phase": r.get("phase", ""),
                    "la": r.get("la_name", ""),
                    "region": r.get("region_name", ""),
                    "type": r.get("establishment_type", ""),
                    "ofsted": r.get("ofsted_rating", ""),
                    "pupils": nor[u][1] if u in nor else None,
                    "since": _iso(since[(pid, u)][0]),
                    "since_basis": since[(pid, u)][1],
                    "source": r.get("source", ""),
                    "lat": r.get("latitude"),
                    "lon": r.get("longitude"),
                    "miles_to_centroid": round(next(dist), 2) if ok else None,
                    "ks2_results_urn": _latest_mapped(mapping, u, 2),
                    "ks4_results_urn": _latest_mapped(mapping, u, 4),
                }
            )
        main_phase = phases.most_common(1)[0][0] if phases else ""
        out.append(
            TrustAggregate(
                partnership_id=pid,
                computed_at=now,
                members=len(urn_list),
                pupils=sum(n for _, n in nor_rows) if nor_rows else None,
                pupils_year=max(y for y, _ in nor_rows) if nor_rows else None,
                primary_members=sum(1 for r in rows if r.get("phase") in ("primary", "middle_primary")),
                secondary_members=sum(
                    1 for r in rows if r.get("phase") in ("secondary", "middle_secondary", "all_through")
                ),
                main_phase=main_phase,
                main_region=(regions.most_common(1)[0][0] if regions else ""),
                n_regions=len([k for k in regions if k]),
                n_las=geo.n_las,
                phases=_label(phases),
                regions=_label(regions),
                las=_label(las),
                ofsted=_label(Counter(r.get("ofsted_rating") or "" for r in rows)),
                establishment_types=_label(Counter(r.get("establishment_type") or "" for r in rows)),
                median_centroid_miles=_r(geo.median_centroid_miles),
                max_centroid_miles=_r(geo.max_centroid_miles),
                max_pair_miles=_r(geo.max_pair_miles),
                share_pairs_within_50=_r(geo.share_pairs_within_50, 4),
                located_members=geo.located,
                centroid_lat=geo.centroid_lat,
                centroid_lon=geo.centroid_lon,
                compactness=geo.label,
                ks2_headline=ks2[0],
                ks2_headline_year=ks2[1],
                ks4_headline=ks4[0],
                ks4_headline_year=ks4[1],
                performance=trust_perf,
                mapping=mcount,
                member_rows=member_rows,
                attribution=trust_extra,
            )
        )
    return out


def _latest_mapped(mapping: dict[tuple[int, int, int], int | None], urn: int, ks: int) -> int | None:
    """The URN holding the member's results in the latest year that has any."""
    for year in sorted(YEARS, reverse=True):
        r = mapping.get((urn, ks, year))
        if r is not None:
            return r
    return None


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _r(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(float(x), digits)


def _headline(perf: list[dict[str, Any]], ks: int) -> tuple[float | None, int | None]:
    """KS2: mean of the reading, writing and maths progress means; KS4: Progress 8 - latest year with them."""
    want = ("READPROG", "WRITPROG", "MATPROG") if ks == 2 else ("P8MEA",)
    for year in sorted(YEARS, reverse=True):
        vals = [
            p["mean"] for p in perf if p["key_stage"] == ks and p["year"] == year and p["measure"] in want
        ]
        if len(vals) == len(want):
            return round(sum(vals) / len(vals), 3), year
    return None, None
