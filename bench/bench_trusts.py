"""Benchmark: recompute every trust's aggregates (`partnerships.services.recompute` without the member mapping)
against a plain per-trust ORM loop measured in the same run.

Run from the repository root on a database holding the national data (after `make data`):

    .venv/bin/python -m bench.bench_trusts [--repeat 3] [--database-url URL]

Times, in the same run:
- map: `services.map_members()` (member URN -> URN with results; idempotent, so later runs write nothing);
- compute: `services.compute_aggregates()` (a handful of set queries, vectorised maths), median of --repeat;
- recompute: `services.recompute(map_first=False)` (compute + store; a rerun writes only changed rows), median,
  and once into an empty TrustAggregate table (every row inserted);
- baseline: for each partnership in turn, ORM queries for its members, their census, mapping and results, then
  `aggregates.weighted_mean` per key stage, year and measure and `aggregates.geography` (no store).
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
    """The plain way: one trust at a time through the ORM."""
    from partnerships.models import MemberMapping, Membership, Partnership
    from schools.models import CensusRecord, Result

    out: dict[int, dict[tuple[int, int, str], float | None]] = {}
    for p in Partnership.objects.filter(memberships__left__isnull=True).distinct():
        members = list(Membership.objects.filter(partnership=p, left__isnull=True).select_related("school"))
        urns = [m.school_id for m in members]
        nor = {
            c.school_id: c.nor
            for c in CensusRecord.objects.filter(school_id__in=urns, nor__isnull=False).order_by("year")
        }
        agg.geography(
            [m.school.latitude if m.school.latitude is not None else float("nan") for m in members],
            [m.school.longitude if m.school.longitude is not None else float("nan") for m in members],
            [m.school.la_name for m in members],
        )
        maps = {
            (r.urn, r.key_stage, r.year): r.results_urn for r in MemberMapping.objects.filter(urn__in=urns)
        }
        res = {
            (r.school_id, r.year, r.measure): r.value
            for r in Result.objects.filter(
                school_id__in=[v for v in maps.values() if v], year__in=services.YEARS, value__isnull=False
            )
        }
        figures: dict[tuple[int, int, str], float | None] = {}
        for ks in services.KEY_STAGES:
            cohort = agg.COHORT[ks]
            for year in services.YEARS:
                for measure in agg.KS_MEASURES[ks]:
                    xs, ws = [], []
                    for u in urns:
                        r = maps.get((u, ks, year))
                        if r is None or (r, year, measure) not in res:
                            continue
                        w = res.get(
                            (r, year, cohort), res.get((r, year - 1, cohort)) if year == 2019 else None
                        )
                        xs.append(res[(r, year, measure)])
                        ws.append(w if w is not None else float("nan"))
                    if xs:
                        wm = agg.weighted_mean(measure, xs, ws)
                        if wm.mean is not None:
                            figures[(ks, year, measure)] = wm.mean
        out[p.pk] = figures
        _ = sum(v or 0 for v in nor.values())
    return out


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
    compute_times, recompute_times = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        rows = services.compute_aggregates()
        compute_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        services.recompute(map_first=False)
        recompute_times.append(time.perf_counter() - t)
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
        "recompute_seconds": round(recompute_s, 3),
        "recompute_runs": [round(x, 3) for x in recompute_times],
        "recompute_fresh_seconds": round(fresh_s, 3),
        "baseline_per_trust_orm_seconds": round(base_s, 3),
        "ratio": round(base_s / compute_s, 2),
        "target_recompute_seconds": 2.0,
        "within_target": max(recompute_s, fresh_s) <= 2.0,
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
    print(f"{checked} weighted means identical; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
