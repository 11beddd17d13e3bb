"""Benchmark: recompute every trust's aggregates (`partnerships.services.recompute` without the member mapping;
both attribution rules, in the trust and 3 or more years, plus results from before joining and bootstrap
intervals) against a plain per-trust ORM loop measured in the same run, and one trust after a membership change.

Run from the repository root on a database holding the national data (after `make data`):

    .venv/bin/python -m bench.bench_trusts [--repeat 3] [--database-url URL]

Times, in the same run:
- map: `services.map_members()` (member URN -> URN with results; idempotent, so later runs write nothing);
- compute: `services.compute_aggregates()` (a handful of set queries, vectorised maths), median of --repeat;
- recompute: `services.recompute(map_first=False)` (compute + store; a rerun writes only changed rows), median,
  and once into an empty TrustAggregate table (every row inserted);
- one trust: `services.recompute_trust` of the largest trust after one member leaves and after it is back
  (rolled back), median of --repeat; target <= 100 ms;
- baseline: for each partnership in turn, ORM queries for its members, their since dates, census, mapping,
  results and predecessors' cohorts, then `aggregates.weighted_mean` per key stage, year and measure under the
  in-trust rule with the same weight fallbacks, and `aggregates.geography` (no store, no bootstrap).
Wall times are taken on a shared machine; CPU seconds of this process are reported beside them.
Checks that both give the same weighted means, prints the times and the ratio baseline / compute, and writes
bench/results/trusts.json. Target: recompute <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def baseline(services: Any, agg: Any) -> dict[int, dict[tuple[int, int, str], float | None]]:
    """The plain way: one trust at a time through the ORM, with the same rules (partnerships/attribution.py):
    members current today, results of a year counted when the member was in the trust by 1 September of it,
    weights from the value's own cohort, else its nearest predecessor's, else the census roll."""
    import datetime as dt

    from django.db.models import Q

    from partnerships import attribution as attr
    from partnerships.models import MemberMapping, Membership, Partnership
    from schools.models import CensusRecord, Result, SchoolLink

    today = dt.date.today()
    current = (Q(joined__isnull=True) | Q(joined__lte=today)) & (Q(left__isnull=True) | Q(left__gt=today))
    out: dict[int, dict[tuple[int, int, str], float | None]] = {}
    for p in Partnership.objects.all():
        members = list(Membership.objects.filter(current, partnership=p).select_related("school"))
        if not members:
            continue
        urns = [m.school_id for m in members]
        agg.geography(
            [m.school.latitude if m.school.latitude is not None else float("nan") for m in members],
            [m.school.longitude if m.school.longitude is not None else float("nan") for m in members],
            [m.school.la_name for m in members],
        )
        maps = {
            (r.urn, r.key_stage, r.year): r.results_urn for r in MemberMapping.objects.filter(urn__in=urns)
        }
        ru = {v for v in maps.values() if v}
        res = {
            (r.school_id, r.year, r.measure): r.value
            for r in Result.objects.filter(school_id__in=ru, year__in=services.YEARS, value__isnull=False)
        }
        preds: dict[int, list[int]] = {}
        frontier = set(ru)
        for _ in range(5):
            links = list(
                SchoolLink.objects.filter(urn__in=frontier, link_type__icontains="predecessor").order_by(
                    "urn", "link_urn"
                )
            )
            for lk in links:
                preds.setdefault(lk.urn, []).append(lk.link_urn)
            frontier = {lk.link_urn for lk in links} - set(preds)
            if not frontier:
                break
        pred_urns = {u for v in preds.values() for u in v}
        pres = {
            (r.school_id, r.year, r.measure): r.value
            for r in Result.objects.filter(
                school_id__in=pred_urns, year__in=services.YEARS, measure__in=list(agg.COHORT.values())
            )
        }
        roll: dict[int, float] = {}
        for c in CensusRecord.objects.filter(school_id__in=ru | set(urns), nor__isnull=False).order_by(
            "-year"
        ):
            if c.school_id not in roll or c.year == services.YEARS[-1]:
                roll[c.school_id] = float(c.nor or 0)
        since: dict[int, float] = {}
        for m in members:
            link = (
                SchoolLink.objects.filter(urn=m.school_id, link_type__icontains="predecessor")
                .exclude(established=None)
                .order_by("-established")
                .values_list("established", flat=True)
                .first()
            )
            d, _ = attr.since_date(m.joined, m.school.open_date, link)
            if d is None:
                first = (
                    Result.objects.filter(school_id=m.school_id, year__in=services.YEARS)
                    .order_by("year")
                    .values_list("year", flat=True)
                    .first()
                )
                d = attr.year_start(first) if first else None
            since[m.school_id] = attr.day_number(d)
        figures: dict[tuple[int, int, str], float | None] = {}
        for ks in services.KEY_STAGES:
            cohort = agg.COHORT[ks]
            for year in services.YEARS:
                start = attr.year_start(year).toordinal()
                for measure in agg.KS_MEASURES[ks]:
                    xs, ws = [], []
                    for u in urns:
                        r = maps.get((u, ks, year))
                        if r is None or (r, year, measure) not in res or not since[u] <= start:
                            continue
                        w = res.get(
                            (r, year, cohort), res.get((r, year - 1, cohort)) if year == 2019 else None
                        )
                        if w is None or not w > 0:
                            table = {
                                q: v
                                for (q, y, mm), v in pres.items()
                                if mm == cohort and y in (year, year - 1) and v is not None
                            }
                            table.update(
                                {q: v for (q, y, mm), v in pres.items() if mm == cohort and y == year and v}
                            )
                            w = attr.nearest_with(r, preds, table)
                        if not w > 0:
                            n = roll.get(r, roll.get(u))
                            w = n / attr.ROLL_YEAR_GROUPS[ks] if n else float("nan")
                        xs.append(res[(r, year, measure)])
                        ws.append(w)
                    if xs:
                        wm = agg.weighted_mean(measure, xs, ws)
                        if wm.mean is not None:
                            figures[(ks, year, measure)] = wm.mean
        out[p.pk] = figures
    return out


def one_trust_after_a_change(services: Any, repeat: int) -> dict[str, Any]:
    """`recompute_trust` of the largest trust after one of its members leaves, and after it comes back (each in
    a transaction rolled back at the end, so the database is unchanged)."""
    import datetime as dt

    from django.db import transaction

    from partnerships.models import Membership, TrustAggregate

    a = TrustAggregate.objects.order_by("-members").first()
    assert a is not None
    pid = a.partnership_id
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        with transaction.atomic():
            m = Membership.objects.filter(partnership_id=pid, left__isnull=True).order_by("school_id").first()
            assert m is not None
            m.left = dt.date.today() - dt.timedelta(days=1)
            m.save(update_fields=["left"])
            for _step in ("leave", "back"):
                t, c = time.perf_counter(), time.process_time()
                got = services.recompute_trust(pid)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                if _step == "leave":
                    assert got is not None and got.members == a.members - 1
                    m.left = None
                    m.save(update_fields=["left"])
                else:
                    assert got is not None and got.members == a.members
            transaction.set_rollback(True)
    return {
        "partnership_id": pid,
        "members": a.members,
        "seconds": round(statistics.median(times), 4),
        "cpu_seconds": round(statistics.median(cpu), 4),
        "runs": [round(x, 4) for x in times],
        "target_seconds": 0.1,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "trusts.json")
    args = ap.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
    import django

    django.setup()
    from django.db import connection

    from partnerships import aggregates as agg
    from partnerships import services
    from partnerships.models import Membership, TrustAggregate

    if not Membership.objects.exists():
        print(
            "No memberships in the database: run `make data` (or schoolpartners import) first.",
            file=sys.stderr,
        )
        return 2
    t = time.perf_counter()
    mapping = services.map_members()
    map_s = time.perf_counter() - t

    TrustAggregate.objects.all().delete()
    t = time.perf_counter()
    services.recompute(map_first=False)  # fresh: every row inserted
    fresh_s = time.perf_counter() - t
    compute_times, recompute_times, compute_cpu = [], [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        rows = services.compute_aggregates()
        compute_times.append(time.perf_counter() - t)
        compute_cpu.append(time.process_time() - c)
        t = time.perf_counter()
        services.recompute(map_first=False)
        recompute_times.append(time.perf_counter() - t)
    one = one_trust_after_a_change(services, args.repeat)
    t = time.perf_counter()
    base = baseline(services, agg)
    base_s = time.perf_counter() - t

    # same figures both ways
    checked = 0
    for a in rows:
        for p in a.performance:
            expected = base[a.partnership_id].get((p["key_stage"], p["year"], p["measure"]))
            assert expected is not None and abs(expected - p["mean"]) < 1e-9, (a.partnership_id, p)
            checked += 1
    compute_s = statistics.median(compute_times)
    recompute_s = statistics.median(recompute_times)
    result = {
        "benchmark": "trusts",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": list(os.getloadavg()),
        },
        "database": connection.vendor,
        "partnerships": len(rows),
        "memberships": sum(a.members for a in rows),
        "stored": TrustAggregate.objects.count(),
        "weighted_means_checked": checked,
        "map_members_seconds": round(map_s, 3),
        "map_members_written": mapping.inserted + mapping.updated + mapping.deleted,
        "compute_seconds": round(compute_s, 3),
        "compute_cpu_seconds": round(statistics.median(compute_cpu), 3),
        "attribution_rules": ["in_trust", "three_years", "before_joining"],
        "one_trust_after_membership_change": one,
        "recompute_seconds": round(recompute_s, 3),
        "recompute_runs": [round(x, 3) for x in recompute_times],
        "recompute_fresh_seconds": round(fresh_s, 3),
        "baseline_per_trust_orm_seconds": round(base_s, 3),
        "ratio": round(base_s / compute_s, 2),
        "target_recompute_seconds": 2.0,
        "within_target": max(recompute_s, fresh_s) <= 2.0,
        "one_trust_within_target": one["seconds"] <= 0.1,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(rows)} partnerships, {result['memberships']} memberships ({connection.vendor})")
    print(f"map members      {map_s:7.3f} s")
    print(
        f"compute (fast)   {compute_s:7.3f} s   recompute incl. store {recompute_s:.3f} s, into an empty table "
        f"{fresh_s:.3f} s (target <= 2 s)"
    )
    print(f"baseline (ORM)   {base_s:7.3f} s   ratio baseline / compute = {result['ratio']}x")
    print(
        f"one trust ({one['members']} schools) after a membership change: {one['seconds']:.4f} s "
        f"(CPU {one['cpu_seconds']:.4f} s; target <= 0.1 s)"
    )
    print(f"{checked} weighted means identical; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
