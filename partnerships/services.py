"""Partnerships: member -> results mapping, stored trust aggregates, join/leave/form procedures, notifications,
designations, the ISSP register and the chain grant calculator.

Every write is one function under `transaction.atomic` that checks the actor's scoped role
(accounts.permissions), locks the request row (`select_for_update`, so a step cannot be taken twice), writes a
RequestStep, one audit event and in-app notifications.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, RoleAssignment
from accounts.permissions import can_act_for_school, can_act_for_trust, is_regional, require
from audit.services import record
from partnerships import aggregates as agg
from partnerships.models import (
    Activity,
    Designation,
    IsspActivity,
    IsspPost,
    Kind,
    MatSeat,
    MemberMapping,
    Membership,
    Notification,
    Partnership,
    PartnershipRequest,
    PartnershipResult,
    RequestKind,
    RequestSchool,
    RequestStatus,
    RequestStep,
    TrustAggregate,
)
from schools.models import CensusRecord, ImportRun, Result, School, SchoolLink

YEARS: tuple[int, ...] = (2016, 2017, 2018, 2019)
KEY_STAGES: tuple[int, ...] = (2, 4)


class ProcedureError(ValidationError):
    """A step that is not possible in the request's current state (shown to the user, nothing changed)."""


# =============================================================================================================
# MAT seats: at most one open MAT membership per school
# =============================================================================================================
def open_mat_membership(school: School) -> Membership | None:
    return (
        Membership.objects.filter(school=school, left__isnull=True, partnership__kind=Kind.MAT)
        .select_related("partnership")
        .first()
    )


def open_membership(
    partnership: Partnership,
    school: School,
    joined: dt.date | None,
    reason: str = "",
    source: str = "School Partners",
) -> Membership:
    """Open a membership (caller holds a transaction). A second open MAT membership is refused by the seat."""
    if partnership.kind == Kind.MAT:
        current = open_mat_membership(school)
        if current is not None:
            raise ProcedureError(
                f"{school.name} is already in a multi-academy trust ({current.partnership.name}); "
                "that membership must be closed first."
            )
    membership = Membership.objects.create(
        partnership=partnership, school=school, joined=joined, reason=reason[:200], source=source
    )
    if partnership.kind == Kind.MAT:
        try:
            with transaction.atomic():
                MatSeat.objects.create(school=school, membership=membership)
        except IntegrityError as exc:
            raise ProcedureError(f"{school.name} is already in a multi-academy trust.") from exc
    return membership


def close_membership(membership: Membership, left: dt.date, reason: str) -> Membership:
    membership.left = left
    membership.reason = reason[:200]
    membership.save(update_fields=["left", "reason"])
    MatSeat.objects.filter(membership=membership).delete()
    return membership


@dataclass
class SeatSync:
    created: int = 0
    removed: int = 0
    conflicts: list[int] = field(
        default_factory=list
    )  # schools with two open MAT memberships (no seat given)


@transaction.atomic
def sync_mat_seats() -> SeatSync:
    """Give every open MAT membership (e.g. imported ones) its seat; drop seats of closed memberships."""
    out = SeatSync()
    out.removed, _ = MatSeat.objects.exclude(membership__left__isnull=True).delete()
    stale = MatSeat.objects.exclude(membership__partnership__kind=Kind.MAT)
    out.removed += stale.delete()[0]
    open_mat = list(
        Membership.objects.filter(left__isnull=True, partnership__kind=Kind.MAT).values_list(
            "id", "school_id"
        )
    )
    by_school: dict[int, list[int]] = defaultdict(list)
    for mid, urn in open_mat:
        by_school[urn].append(mid)
    seated = set(MatSeat.objects.values_list("school_id", flat=True))
    new = []
    for urn, mids in by_school.items():
        if len(mids) > 1:
            out.conflicts.append(urn)
        elif urn not in seated:
            new.append(MatSeat(school_id=urn, membership_id=mids[0]))
    MatSeat.objects.bulk_create(new)
    out.created = len(new)
    return out


# =============================================================================================================
# Member -> results mapping
# =============================================================================================================
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


def results_presence() -> tuple[dict[tuple[int, int], set[int]], dict[tuple[int, int], dict[int, float]]]:
    """(ks, year) -> URNs with any stored result of that key stage; and (ks, year) -> cohort by URN."""
    has: dict[tuple[int, int], set[int]] = defaultdict(set)
    size: dict[tuple[int, int], dict[int, float]] = defaultdict(dict)
    for ks in KEY_STAGES:
        cohort = agg.COHORT[ks]
        rows = (
            Result.objects.filter(year__in=YEARS, measure__in=_ks_measures(ks))
            .order_by()
            .values_list("school_id", "year")
            .distinct()
        )
        for urn, year in rows.iterator(chunk_size=20000):
            has[(ks, year)].add(urn)
        cohorts = Result.objects.filter(year__in=YEARS, measure=cohort, value__isnull=False).values_list(
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


@transaction.atomic
def map_members() -> MappingSummary:
    """Store, for every current member URN, key stage (2, 4) and year (2016-2019), the URN whose results stand
    for it (itself, or the nearest predecessor with results). Idempotent: only changed rows are written."""
    out = MappingSummary(seats=sync_mat_seats())
    graph = predecessor_graph()
    has, size = results_presence()
    want: dict[tuple[int, int, int], tuple[int | None, str, int, list[int]]] = {}
    for urn in member_urns():
        for ks in KEY_STAGES:
            for year in YEARS:
                m = agg.map_to_results(urn, graph, has[(ks, year)], size[(ks, year)])
                want[(urn, ks, year)] = (m.results_urn, m.method, m.hops, list(m.path))
    existing = {(r.urn, r.key_stage, r.year): r for r in MemberMapping.objects.all()}
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


def _file_members(ks: int) -> tuple[set[int], str]:
    """URNs listed in INSTITUTIONS_INMAT of the key stage's MAT file, read from the file the import recorded (plain
    or .xz); when that file is gone, the stored open memberships whose source is that file."""
    import csv
    import io
    import lzma
    from pathlib import Path

    for run in ImportRun.objects.filter(kind="mat_performance", ok=True).order_by("-started_at"):
        name = Path(run.path).name.lower()
        if f"ks{ks}-mats" not in name:
            continue
        path = Path(run.path)
        if path.exists():
            raw = path.read_bytes()
            if path.suffix == ".xz":
                raw = lzma.decompress(raw)
            urns: set[int] = set()
            for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))):
                urns.update(
                    int(u) for u in (row.get("INSTITUTIONS_INMAT") or "").split(";") if u.strip().isdigit()
                )
            return urns, f"INSTITUTIONS_INMAT of {path.name}"
        stem = name.split(".")[0]
        stored = Membership.objects.filter(left__isnull=True, source__icontains=stem).values_list(
            "school_id", flat=True
        )
        return set(stored), f"stored memberships from {stem} (file not found)"
    return set(), "no MAT file imported"


def mapping_report() -> list[dict[str, Any]]:
    """Per key stage and year: the academies of that key stage's MAT file matched to results directly, through one
    predecessor link, through a chain, or not at all; URNs the register does not hold count as not found."""
    report = []
    for ks in KEY_STAGES:
        urns, basis = _file_members(ks)
        known = (
            set(School.objects.filter(urn__in=list(urns)).values_list("urn", flat=True)) if urns else set()
        )
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        for urn, year, method in MemberMapping.objects.filter(key_stage=ks).values_list(
            "urn", "year", "method"
        ):
            if urn in known:
                counts[year][method] += 1
        for year in YEARS:
            c = counts[year]
            members = len(urns)
            found = c["direct"] + c["link"] + c["chain"]
            report.append(
                {
                    "key_stage": ks,
                    "year": year,
                    "members": members,
                    "basis": basis,
                    "direct": c["direct"],
                    "link": c["link"],
                    "chain": c["chain"],
                    "found": found,
                    "none": members - found,
                    "not_in_register": members - len(known),
                    "found_pct": round(100.0 * found / members, 1) if members else None,
                    "direct_pct": round(100.0 * c["direct"] / members, 1) if members else None,
                }
            )
    return report


# =============================================================================================================
# Trust aggregates
# =============================================================================================================
def _latest_nor(urns: Iterable[int]) -> dict[int, tuple[int, int]]:
    """urn -> (year, number on roll) from the latest census holding a number on roll."""
    out: dict[int, tuple[int, int]] = {}
    urn_list = list(urns)
    for i in range(0, len(urn_list), 5000):
        rows = CensusRecord.objects.filter(
            school_id__in=urn_list[i : i + 5000], nor__isnull=False
        ).values_list("school_id", "year", "nor")
        for urn, year, nor in rows:
            if nor is not None and (urn not in out or year > out[urn][0]):
                out[urn] = (year, nor)
    return out


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
        f"AND {plus}year IN ({', '.join(['%s'] * len(years))}) AND {plus}measure IN ({', '.join(['%s'] * len(measures))}) "
        "AND value IS NOT NULL"
    )
    if urns is None:
        batches: list[tuple[str, list[Any]]] = [
            (
                f"SELECT school_id, year, measure, value FROM {table} WHERE school_id IN (SELECT DISTINCT results_urn FROM "
                f"{MemberMapping._meta.db_table} WHERE results_urn IS NOT NULL) {tail}",
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


def compute_aggregates(partnership_ids: Iterable[int] | None = None) -> list[TrustAggregate]:
    """All partnerships' aggregates in a handful of queries; the maths is partnerships.aggregates (vectorised)."""
    now = timezone.now()
    mem_qs = Membership.objects.filter(left__isnull=True)
    if partnership_ids is not None:
        mem_qs = mem_qs.filter(partnership_id__in=list(partnership_ids))
    members = list(mem_qs.order_by("partnership_id", "school_id").values_list("partnership_id", "school_id"))
    pids = sorted({p for p, _ in members})
    index = {p: i for i, p in enumerate(pids)}
    member_sq = mem_qs.values("school_id")  # a subquery: no long parameter lists
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
    for urn, ks, year, results_urn, method in MemberMapping.objects.exclude(method="none").values_list(
        "urn", "key_stage", "year", "results_urn", "method"
    ):
        mapping[(urn, ks, year)] = results_urn
        methods[(urn, ks, year)] = method
        if results_urn is not None:
            map_by[(ks, year)][urn] = results_urn
    measures = [m for ks in KEY_STAGES for m in _ks_measures(ks)]
    values = result_values(None, YEARS, measures)

    # ---- performance, vectorised over all trusts per (ks, year, measure)
    perf: dict[int, list[dict[str, Any]]] = defaultdict(list)
    member_groups = np.array([index[p] for p, _ in members], dtype=np.int64)
    member_list = [u for _, u in members]
    for ks in KEY_STAGES:
        cohort = agg.COHORT[ks]
        for year in YEARS:
            by_urn = map_by.get((ks, year), {})
            ru = np.array([by_urn.get(u, -1) for u in member_list], dtype=np.int64)
            weights = _lookup(ru, values.get((year, cohort), {}))
            if year == 2019:  # the 2018/19 files carry no cohort count: the same URN's 2017/18 cohort
                weights = np.where(
                    np.isnan(weights), _lookup(ru, values.get((year - 1, cohort), {})), weights
                )
            for measure in agg.KS_MEASURES[ks]:
                vals = values.get((year, measure))
                if not vals:
                    continue
                x = _lookup(ru, vals)
                if not np.isfinite(x).any():
                    continue
                g = agg.grouped_weighted_means(measure, member_groups, x, weights, len(pids))
                for i in np.flatnonzero((g["schools"] > 0) & np.isfinite(g["mean"])):
                    perf[pids[i]].append(
                        {
                            "key_stage": ks,
                            "year": year,
                            "measure": measure,
                            "mean": float(g["mean"][i]),
                            "se": _f(g["se"][i]),
                            "low": _f(g["low"][i]),
                            "high": _f(g["high"][i]),
                            "schools": int(g["schools"][i]),
                            "pupils": int(round(g["pupils"][i])),
                        }
                    )

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


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


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


# =============================================================================================================
# Reads for pages and API
# =============================================================================================================
COMPARE_SORTS = {
    "name": "partnership__name",
    "members": "members",
    "pupils": "pupils",
    "region": "main_region",
    "phase": "main_phase",
    "ks2": "ks2_headline",
    "ks4": "ks4_headline",
    "compactness": "compactness",
    "max_pair": "max_pair_miles",
    "las": "n_las",
}


@dataclass
class CompareParams:
    q: str = ""
    kind: str = ""
    region: str = ""
    phase: str = ""
    compactness: str = ""
    min_members: int | None = None
    max_members: int | None = None
    sort: str = "members"
    descending: bool = True


def compare_trusts(params: CompareParams) -> QuerySet[TrustAggregate]:
    qs = TrustAggregate.objects.select_related("partnership")
    if params.q:
        qs = qs.filter(
            Q(partnership__name__icontains=params.q) | Q(partnership__external_id__iexact=params.q)
        )
    if params.kind:
        qs = qs.filter(partnership__kind=params.kind)
    if params.region:
        qs = qs.filter(main_region=params.region)
    if params.phase:
        qs = qs.filter(main_phase=params.phase)
    if params.compactness:
        qs = qs.filter(compactness=params.compactness)
    if params.min_members is not None:
        qs = qs.filter(members__gte=params.min_members)
    if params.max_members is not None:
        qs = qs.filter(members__lte=params.max_members)
    field_name = COMPARE_SORTS.get(params.sort, "members")
    from django.db.models import F

    order = F(field_name).desc(nulls_last=True) if params.descending else F(field_name).asc(nulls_last=True)
    return qs.order_by(order, "partnership__name")


def compare_regions() -> list[str]:
    return sorted(r for r in TrustAggregate.objects.values_list("main_region", flat=True).distinct() if r)


def trust_results(partnership: Partnership) -> list[PartnershipResult]:
    return list(partnership.results.order_by("measure", "year"))


def sponsors() -> QuerySet[Partnership]:
    return (
        Partnership.objects.filter(Q(kind=Kind.SPONSOR) | Q(designations__kind="sponsor"))
        .distinct()
        .annotate(n=Count("memberships", filter=Q(memberships__left__isnull=True)))
        .order_by("name")
    )


# =============================================================================================================
# Notifications
# =============================================================================================================
def _users(qs: QuerySet[RoleAssignment]) -> list[Any]:
    ids = set(qs.values_list("user_id", flat=True))
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True))


def trust_admins(partnership_id: int) -> list[Any]:
    return _users(RoleAssignment.objects.filter(role=Role.TRUST_ADMIN, partnership_id=partnership_id))


def regional_approvers(region: str) -> list[Any]:
    return _users(RoleAssignment.objects.filter(role=Role.REGIONAL_APPROVER, region__iexact=region))


def school_users(urn: int) -> list[Any]:
    return _users(RoleAssignment.objects.filter(role=Role.SCHOOL_USER, school_id=urn))


def notify(users: Iterable[Any], text: str, url: str = "") -> int:
    seen = set()
    rows = []
    for u in users:
        if u.pk not in seen:
            seen.add(u.pk)
            rows.append(Notification(user=u, text=text[:500], url=url[:300]))
    Notification.objects.bulk_create(rows)
    return len(rows)


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_for(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user)


@transaction.atomic
def mark_all_read(user: Any) -> int:
    n = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    record("notifications.read", actor=user, object_type="user", object_id=user.pk, data={"count": n})
    return n


# =============================================================================================================
# Procedures
# =============================================================================================================
def _url(req: PartnershipRequest) -> str:
    return f"/partnerships/requests/{req.pk}/"


def _step(req: PartnershipRequest, step: str, outcome: str, actor: Any, note: str = "") -> None:
    RequestStep.objects.create(request=req, step=step, outcome=outcome, actor=actor, note=note[:500])
    record(
        f"partnerships.{req.kind}.{step}.{outcome}",
        actor=actor,
        object_type="partnership_request",
        object_id=req.pk,
        data={
            "status": req.status,
            "school": req.school_id,
            "partnership": req.partnership_id,
            "note": note[:500],
        },
    )


def _locked(request_id: int) -> PartnershipRequest:
    try:
        return PartnershipRequest.objects.select_for_update().get(pk=request_id)
    except PartnershipRequest.DoesNotExist as exc:
        raise ProcedureError("No such request.") from exc


def _expect(req: PartnershipRequest, *statuses: str) -> None:
    if req.status not in statuses:
        raise ProcedureError(
            f"This request is {req.get_status_display().lower()}; that step is not possible now."
        )


def _require_reason(approve: bool, reason: str) -> None:
    if not approve and not reason.strip():
        raise ProcedureError("Give a reason for declining.")


def _people(req: PartnershipRequest) -> list[Any]:
    people = []
    if req.school_id:
        people += school_users(req.school_id)
    for rs in req.schools.all():
        people += school_users(rs.school_id)
    if req.partnership_id:
        people += trust_admins(req.partnership_id)
    return people


@transaction.atomic
def submit_join(
    user: Any, school_urn: int, partnership_id: int, effective_date: dt.date, reason: str = ""
) -> PartnershipRequest:
    """Step 1 of joining a MAT: a user of that school asks. Refused when the school is already in a MAT."""
    require(can_act_for_school(user, school_urn), "You can only make requests for your own school.")
    school = School.objects.select_for_update().get(pk=school_urn)
    trust = Partnership.objects.get(pk=partnership_id)
    if not school.region_name:
        raise ProcedureError(
            f"The region of {school.name} is not known, so no regional director can approve; "
            "contact the regional director's office."
        )
    if trust.kind != Kind.MAT:
        raise ProcedureError("Schools can only request to join a multi-academy trust here.")
    current = open_mat_membership(school)
    if current is not None:
        raise ProcedureError(
            f"{school.name} is already in {current.partnership.name}; it must leave that trust first."
        )
    if PartnershipRequest.objects.filter(
        school=school,
        kind__in=[RequestKind.JOIN_MAT, RequestKind.LEAVE_MAT],
        status__in=[RequestStatus.AWAITING_TRUST, RequestStatus.AWAITING_REGION],
    ).exists():
        raise ProcedureError(f"{school.name} already has a request in progress.")
    req = PartnershipRequest.objects.create(
        kind=RequestKind.JOIN_MAT,
        status=RequestStatus.AWAITING_TRUST,
        school=school,
        partnership=trust,
        region=school.region_name,
        effective_date=effective_date,
        reason=reason[:500],
        created_by=user,
    )
    _step(req, "request", "submitted", user, reason)
    notify(
        trust_admins(trust.pk),
        f"{school.name} asks to join {trust.name}: the trust board's consent is needed.",
        _url(req),
    )
    return req


@transaction.atomic
def submit_leave(user: Any, school_urn: int, effective_date: dt.date, reason: str) -> PartnershipRequest:
    """Step 1 of leaving a MAT by mutual consent: the academy asks (a reason is required)."""
    require(can_act_for_school(user, school_urn), "You can only make requests for your own school.")
    school = School.objects.select_for_update().get(pk=school_urn)
    current = open_mat_membership(school)
    if current is None:
        raise ProcedureError(f"{school.name} is not in a multi-academy trust.")
    if not school.region_name:
        raise ProcedureError(
            f"The region of {school.name} is not known, so no regional director can approve."
        )
    if not reason.strip():
        raise ProcedureError("Give a reason for leaving.")
    if PartnershipRequest.objects.filter(
        school=school,
        kind__in=[RequestKind.JOIN_MAT, RequestKind.LEAVE_MAT],
        status__in=[RequestStatus.AWAITING_TRUST, RequestStatus.AWAITING_REGION],
    ).exists():
        raise ProcedureError(f"{school.name} already has a request in progress.")
    req = PartnershipRequest.objects.create(
        kind=RequestKind.LEAVE_MAT,
        status=RequestStatus.AWAITING_TRUST,
        school=school,
        partnership=current.partnership,
        region=school.region_name,
        effective_date=effective_date,
        reason=reason[:500],
        created_by=user,
    )
    _step(req, "request", "submitted", user, reason)
    notify(
        trust_admins(current.partnership_id),
        f"{school.name} asks to leave {current.partnership.name}.",
        _url(req),
    )
    return req


@transaction.atomic
def trust_consent(user: Any, request_id: int, consent: bool, reason: str = "") -> PartnershipRequest:
    """Step 2 (join and leave): the trust board of that MAT consents or declines (with a reason)."""
    req = _locked(request_id)
    require(
        req.partnership_id is not None and can_act_for_trust(user, req.partnership_id),
        "Only the trust's administrators can consent for the trust.",
    )
    _expect(req, RequestStatus.AWAITING_TRUST)
    _require_reason(consent, reason)
    if consent:
        req.status = RequestStatus.AWAITING_REGION
        req.save(update_fields=["status"])
        _step(req, "trust_consent", "consented", user, reason)
        notify(
            regional_approvers(req.region),
            f"{req.get_kind_display()}: {req.school} and {req.partnership} "
            "need the regional director's approval.",
            _url(req),
        )
    else:
        _decline(req, user, "trust_consent", reason)
    notify(
        _people(req),
        f"The trust board {'consented to' if consent else 'declined'} the request "
        f"({req.get_kind_display().lower()}) for {req.school}.",
        _url(req),
    )
    return req


def _decline(req: PartnershipRequest, user: Any, step: str, reason: str) -> None:
    req.status = RequestStatus.DECLINED
    req.decline_reason = reason[:500]
    req.decided_at = timezone.now()
    req.save(update_fields=["status", "decline_reason", "decided_at"])
    _step(req, step, "declined", user, reason)


@transaction.atomic
def regional_decision(
    user: Any, request_id: int, approve: bool, reason: str = "", effective_date: dt.date | None = None
) -> PartnershipRequest:
    """Last step (join, leave, form a MAT): the regional approver for the school's region approves or declines.

    Approval makes the change on the effective date: join opens the membership (refused if the school is in
    another MAT by then), leave closes it with the date and reason, forming a MAT creates the trust and its
    memberships."""
    req = _locked(request_id)
    require(
        bool(req.region) and is_regional(user, Role.REGIONAL_APPROVER, req.region),
        "Only the regional director's office for this region can decide.",
    )
    _expect(req, RequestStatus.AWAITING_REGION)
    _require_reason(approve, reason)
    if not approve:
        _decline(req, user, "regional_approval", reason)
        notify(
            _people(req),
            f"The regional director declined the request ({req.get_kind_display().lower()}).",
            _url(req),
        )
        return req
    when = effective_date or req.effective_date or timezone.localdate()
    req.effective_date = when
    if req.kind == RequestKind.JOIN_MAT:
        assert req.school is not None and req.partnership is not None
        open_membership(req.partnership, req.school, when, reason=f"Joined by consent (request {req.pk})")
        req.result_partnership = req.partnership
    elif req.kind == RequestKind.LEAVE_MAT:
        assert req.school is not None
        current = (
            Membership.objects.select_for_update()
            .filter(school=req.school, partnership=req.partnership, left__isnull=True)
            .first()
        )
        if current is None:
            raise ProcedureError("The school is no longer a member of this trust.")
        close_membership(current, when, f"Left by mutual consent (request {req.pk}): {req.reason}")
    elif req.kind == RequestKind.FORM_MAT:
        req.result_partnership = _create_partnership(req, Kind.MAT, when)
    else:
        raise ProcedureError("This kind of request needs no regional approval.")
    req.status = RequestStatus.APPROVED
    req.decided_at = timezone.now()
    req.save(update_fields=["status", "decided_at", "effective_date", "result_partnership"])
    _step(req, "regional_approval", "approved", user, reason)
    notify(
        _people(req),
        f"The regional director approved the request ({req.get_kind_display().lower()}); "
        f"effective {when:%d %B %Y}.",
        _url(req),
    )
    return req


def _create_partnership(req: PartnershipRequest, kind: str, when: dt.date) -> Partnership:
    schools = [rs.school for rs in req.schools.select_related("school")]
    region = Counter(s.region_name for s in schools).most_common(1)[0][0] if schools else ""
    p = Partnership.objects.create(
        kind=kind, name=req.new_name, lead_region=region, source=f"School Partners request {req.pk}"
    )
    for s in schools:
        open_membership(p, s, when, reason=f"Founding member (request {req.pk})")
    return p


@transaction.atomic
def submit_form(
    user: Any,
    kind: str,
    school_urns: list[int],
    name: str,
    effective_date: dt.date,
    reason: str = "",
    requesting_urn: int | None = None,
) -> PartnershipRequest:
    """Form a federation or a new MAT from several schools. The requesting school (the user's own) consents by
    asking; every other school must consent; a MAT then needs regional approval."""
    if kind not in (RequestKind.FORM_FEDERATION, RequestKind.FORM_MAT):
        raise ProcedureError("Unknown kind of partnership to form.")
    urns = sorted(set(school_urns))
    if requesting_urn is None:
        mine = [u for u in urns if can_act_for_school(user, u)]
        requesting_urn = mine[0] if mine else None
    require(
        requesting_urn is not None and requesting_urn in urns and can_act_for_school(user, requesting_urn),
        "You can only propose a partnership that includes your own school.",
    )
    if len(urns) < 2:
        raise ProcedureError("A federation or trust needs at least two schools.")
    if not name.strip():
        raise ProcedureError("Give the new partnership a name.")
    schools = list(School.objects.filter(urn__in=urns))
    if len(schools) != len(urns):
        raise ProcedureError("Some URNs are not schools in the register.")
    if kind == RequestKind.FORM_MAT:
        for s in schools:
            current = open_mat_membership(s)
            if current is not None:
                raise ProcedureError(f"{s.name} is already in {current.partnership.name}.")
    requester = next(s for s in schools if s.urn == requesting_urn)
    req = PartnershipRequest.objects.create(
        kind=kind,
        status=RequestStatus.AWAITING_SCHOOLS,
        school=requester,
        new_name=name.strip()[:200],
        region=requester.region_name,
        effective_date=effective_date,
        reason=reason[:500],
        created_by=user,
    )
    now = timezone.now()
    RequestSchool.objects.bulk_create(
        [
            RequestSchool(
                request=req,
                school=s,
                consented_at=now if s.urn == requesting_urn else None,
                consented_by=user if s.urn == requesting_urn else None,
            )
            for s in schools
        ]
    )
    _step(req, "request", "submitted", user, reason)
    for s in schools:
        if s.urn != requesting_urn:
            notify(
                school_users(s.urn),
                f"{requester.name} proposes to form {req.new_name} "
                f"({req.get_kind_display().lower()}) with {s.name}: your consent is needed.",
                _url(req),
            )
    return req


@transaction.atomic
def school_consent(
    user: Any, request_id: int, school_urn: int, consent: bool, reason: str = ""
) -> PartnershipRequest:
    """A school's consent to a proposed federation or MAT. The last consent forms a federation at once and sends
    a MAT to the regional director."""
    req = _locked(request_id)
    require(can_act_for_school(user, school_urn), "You can only consent for your own school.")
    _expect(req, RequestStatus.AWAITING_SCHOOLS)
    rs = RequestSchool.objects.select_for_update().filter(request=req, school_id=school_urn).first()
    if rs is None:
        raise PermissionDenied("Your school is not part of this proposal.")
    if rs.consented_at is not None:
        raise ProcedureError("Your school has already consented.")
    _require_reason(consent, reason)
    if not consent:
        _decline(req, user, "school_consent", reason)
        notify(_people(req), f"{rs.school.name} declined to form {req.new_name}.", _url(req))
        return req
    rs.consented_at = timezone.now()
    rs.consented_by = user
    rs.save(update_fields=["consented_at", "consented_by"])
    _step(req, "school_consent", "consented", user, f"{rs.school.name}: {reason}")
    if not req.schools.filter(consented_at__isnull=True).exists():
        if req.kind == RequestKind.FORM_FEDERATION:
            req.result_partnership = _create_partnership(
                req, Kind.FEDERATION, req.effective_date or timezone.localdate()
            )
            req.status = RequestStatus.APPROVED
            req.decided_at = timezone.now()
            req.save(update_fields=["status", "decided_at", "result_partnership"])
            notify(_people(req), f"{req.new_name} is formed: every school consented.", _url(req))
        else:
            req.status = RequestStatus.AWAITING_REGION
            req.save(update_fields=["status"])
            notify(
                regional_approvers(req.region),
                f"Every school consented to form {req.new_name}: the regional director's approval is needed.",
                _url(req),
            )
    return req


def requests_for(user: Any) -> QuerySet[PartnershipRequest]:
    """Requests a user may see: their schools', trusts' and region's, or all for staff."""
    qs = PartnershipRequest.objects.select_related("school", "partnership")
    if getattr(user, "is_staff", False):
        return qs
    roles = RoleAssignment.objects.filter(user=user)
    schools = [r.school_id for r in roles if r.role == Role.SCHOOL_USER]
    trusts = [r.partnership_id for r in roles if r.role == Role.TRUST_ADMIN]
    regions = [r.region for r in roles if r.role == Role.REGIONAL_APPROVER]
    q = Q(school_id__in=schools) | Q(schools__school_id__in=schools) | Q(partnership_id__in=trusts)
    for region in regions:
        q |= Q(region__iexact=region)
    return qs.filter(q).distinct()


def can_view_request(user: Any, req: PartnershipRequest) -> bool:
    return requests_for(user).filter(pk=req.pk).exists()


def request_actions(user: Any, req: PartnershipRequest) -> dict[str, Any]:
    """Which step this user may take now (for the page)."""
    out: dict[str, Any] = {"trust": False, "region": False, "schools": []}
    if req.status == RequestStatus.AWAITING_TRUST and req.partnership_id:
        out["trust"] = can_act_for_trust(user, req.partnership_id)
    if req.status == RequestStatus.AWAITING_REGION:
        out["region"] = is_regional(user, Role.REGIONAL_APPROVER, req.region)
    if req.status == RequestStatus.AWAITING_SCHOOLS:
        out["schools"] = [
            rs
            for rs in req.schools.select_related("school")
            if rs.consented_at is None and can_act_for_school(user, rs.school_id)
        ]
    return out


# =============================================================================================================
# Grants
# =============================================================================================================
def grant_for(urns: Iterable[int]) -> agg.Grant:
    """Chain grant for primary schools forming or joining a chain (amounts from settings GRANT_*)."""
    urn_list = sorted(set(urns))
    schools = {s.urn: s for s in School.objects.filter(urn__in=urn_list)}
    nor = _latest_nor(urn_list)
    rows = [
        (u, schools[u].name if u in schools else f"URN {u}", nor[u][1] if u in nor else None)
        for u in urn_list
    ]
    return agg.grant(
        rows, settings.GRANT_PER_CHAIN, settings.GRANT_PER_SMALL_SCHOOL, settings.GRANT_PER_MEDIUM_SCHOOL
    )


# =============================================================================================================
# Designations
# =============================================================================================================
def can_record_designation(user: Any, school: School | None) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_staff:
        return True
    if school is not None:
        return is_regional(user, Role.REGIONAL_APPROVER, school.region_name)
    return RoleAssignment.objects.filter(user=user, role=Role.REGIONAL_APPROVER).exists()


def designations(kind: str = "", region: str = "", urn: int | None = None) -> QuerySet[Designation]:
    """Recorded designations (public), filtered by kind, the school's region and the school's URN."""
    qs = Designation.objects.select_related("school", "partnership")
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        qs = qs.filter(school__region_name__iexact=region)
    if urn is not None:
        qs = qs.filter(school_id=urn)
    return qs


@transaction.atomic
def record_designation(
    user: Any,
    *,
    kind: str,
    valid_from: dt.date,
    school_urn: int | None = None,
    person_name: str = "",
    valid_to: dt.date | None = None,
    expertise: str = "",
    partnership_id: int | None = None,
) -> Designation:
    school = School.objects.get(pk=school_urn) if school_urn else None
    require(
        can_record_designation(user, school),
        "Only staff or the regional director's office can record designations.",
    )
    if school is None and not person_name.strip():
        raise ProcedureError("Name a school or a person.")
    if valid_to and valid_to < valid_from:
        raise ProcedureError("The end date is before the start date.")
    d = Designation.objects.create(
        kind=kind,
        school=school,
        person_name=person_name.strip()[:200],
        partnership_id=partnership_id,
        valid_from=valid_from,
        valid_to=valid_to,
        expertise=expertise[:300],
        recorded_by=user,
    )
    record(
        "partnerships.designation.recorded",
        actor=user,
        object_type="designation",
        object_id=d.pk,
        data={"kind": kind, "school": school_urn, "person": person_name[:200]},
    )
    return d


# =============================================================================================================
# ISSP register
# =============================================================================================================
def is_independent(school: School) -> bool:
    return school.type_group == "independent" or "independent" in (school.establishment_type or "").lower()


@transaction.atomic
def register_issp(
    user: Any, name: str, school_urns: list[int], activities: list[str], description: str = ""
) -> Partnership:
    """Record an independent-state school partnership with its schools and activities (staff or regional)."""
    return register_partnership(user, Kind.ISSP, name, school_urns, activities, description)


REGISTERABLE = (Kind.ISSP, Kind.SPONSOR, Kind.TEACHING_HUB, Kind.UMBRELLA)


@transaction.atomic
def register_partnership(
    user: Any,
    kind: str,
    name: str,
    school_urns: list[int],
    activities: list[str] | None = None,
    description: str = "",
) -> Partnership:
    """Record a partnership that needs no consent procedure here (ISSP, sponsor, teaching school hub, umbrella
    trust) with its schools (and, for an ISSP, its activities). Staff or a regional director's office only."""
    require(
        can_record_designation(user, None),
        "Only staff or the regional director's office can register partnerships.",
    )
    if kind not in REGISTERABLE:
        raise ProcedureError("MATs and federations are formed through requests.")
    schools = list(School.objects.filter(urn__in=school_urns))
    if len(schools) != len(set(school_urns)):
        raise ProcedureError("Some URNs are not schools in the register.")
    if kind == Kind.ISSP:
        if (
            len(schools) < 2
            or not any(is_independent(s) for s in schools)
            or all(is_independent(s) for s in schools)
        ):
            raise ProcedureError("An ISSP needs at least one independent and one state school.")
        if not activities:
            raise ProcedureError("Choose at least one activity.")
    if not name.strip():
        raise ProcedureError("Give the partnership a name.")
    region = Counter(s.region_name for s in schools).most_common(1)[0][0] if schools else ""
    p = Partnership.objects.create(
        kind=kind, name=name.strip()[:200], source="School Partners register", lead_region=region
    )
    for s in schools:
        open_membership(p, s, timezone.localdate())
    for a in sorted(set(activities or [])):
        IsspActivity.objects.create(partnership=p, activity=a, description=description[:500])
    record(
        f"partnerships.{kind}.registered",
        actor=user,
        object_type="partnership",
        object_id=p.pk,
        data={"schools": school_urns, "activities": activities or []},
    )
    return p


@transaction.atomic
def post_issp(
    user: Any, *, school_urn: int, activity: str, description: str = "", max_miles: int = 25
) -> IsspPost:
    """An independent school posts an offer; a state school posts what it is looking for (kind follows the school)."""
    require(can_act_for_school(user, school_urn), "You can only post for your own school.")
    school = School.objects.get(pk=school_urn)
    if activity not in Activity.values:
        raise ProcedureError("Unknown activity.")
    kind = IsspPost.OFFER if is_independent(school) else IsspPost.REQUEST
    post = IsspPost.objects.create(
        kind=kind,
        school=school,
        activity=activity,
        description=description[:1000],
        max_miles=max(1, min(int(max_miles), 200)),
        created_by=user,
    )
    record(
        "partnerships.issp.posted",
        actor=user,
        object_type="issp_post",
        object_id=post.pk,
        data={"kind": kind, "school": school_urn, "activity": activity},
    )
    matches = issp_matches(post)[:5]
    for m in matches:
        notify(
            school_users(m["post"].school_id),
            f"A possible ISSP match: {school.name} "
            f"({post.get_kind_display().lower()}, {post.get_activity_display().lower()}, {m['miles']:.1f} miles).",
            "/partnerships/issp/",
        )
    return post


def point_for(postcode: str = "", urn: int | None = None) -> tuple[float, float] | None:
    """Coordinates of a school (URN) or of a postcode (the register's schools at that postcode, else district)."""
    qs = School.objects.filter(latitude__isnull=False, longitude__isnull=False)
    if urn:
        s = qs.filter(urn=urn).values_list("latitude", "longitude").first()
        return (float(s[0]), float(s[1])) if s and s[0] is not None and s[1] is not None else None
    pc = " ".join(postcode.upper().split())
    if not pc:
        return None
    rows = list(qs.filter(postcode__iexact=pc).values_list("latitude", "longitude")[:50])
    if not rows:
        district = pc.split(" ")[0]
        rows = list(qs.filter(postcode_district__iexact=district).values_list("latitude", "longitude")[:500])
    if not rows:
        return None
    return float(np.mean([r[0] for r in rows])), float(np.mean([r[1] for r in rows]))


@dataclass
class IsspSearch:
    activity: str = ""
    la: str = ""
    region: str = ""
    point: tuple[float, float] | None = None
    miles: float | None = None


def search_issp(params: IsspSearch) -> dict[str, list[dict[str, Any]]]:
    """ISSPs (with their activities and schools) and open posts, filtered by activity, area and distance."""
    ps = Partnership.objects.filter(kind=Kind.ISSP).prefetch_related("activities", "memberships__school")
    if params.activity:
        ps = ps.filter(activities__activity=params.activity).distinct()
    partnerships = []
    for p in ps:
        schools = [m.school for m in p.memberships.all() if m.left is None]
        if params.la and not any(s.la_name.lower() == params.la.lower() for s in schools):
            continue
        if params.region and not any(s.region_name == params.region for s in schools):
            continue
        miles = _nearest(params.point, schools)
        if params.point and params.miles is not None and (miles is None or miles > params.miles):
            continue
        partnerships.append(
            {
                "partnership": p,
                "schools": schools,
                "miles": miles,
                "activities": [a.get_activity_display() for a in p.activities.all()],
            }
        )
    posts_qs = IsspPost.objects.filter(active=True).select_related("school")
    if params.activity:
        posts_qs = posts_qs.filter(activity=params.activity)
    if params.la:
        posts_qs = posts_qs.filter(school__la_name__iexact=params.la)
    if params.region:
        posts_qs = posts_qs.filter(school__region_name=params.region)
    posts = []
    for post in posts_qs:
        miles = _nearest(params.point, [post.school])
        if params.point and params.miles is not None and (miles is None or miles > params.miles):
            continue
        posts.append({"post": post, "miles": miles})
    return {"partnerships": sorted(partnerships, key=_by_miles), "posts": sorted(posts, key=_by_miles)}


def _by_miles(row: dict[str, Any]) -> tuple[bool, float]:
    return (row["miles"] is None, row["miles"] or 0.0)


def _nearest(point: tuple[float, float] | None, schools: list[School]) -> float | None:
    if point is None:
        return None
    d = [
        float(agg.haversine_miles(point[0], point[1], s.latitude, s.longitude))
        for s in schools
        if s.latitude is not None and s.longitude is not None
    ]
    return min(d) if d else None


def issp_matches(post: IsspPost) -> list[dict[str, Any]]:
    """Open posts of the other kind for the same activity, within both posts' distance limits, nearest first."""
    other = IsspPost.REQUEST if post.kind == IsspPost.OFFER else IsspPost.OFFER
    s = post.school
    if s.latitude is None or s.longitude is None:
        return []
    out = []
    for cand in IsspPost.objects.filter(kind=other, activity=post.activity, active=True).select_related(
        "school"
    ):
        c = cand.school
        if c.latitude is None or c.longitude is None:
            continue
        miles = float(agg.haversine_miles(s.latitude, s.longitude, c.latitude, c.longitude))
        if miles <= min(post.max_miles, cand.max_miles):
            out.append({"post": cand, "miles": miles})
    return sorted(out, key=lambda r: r["miles"])
