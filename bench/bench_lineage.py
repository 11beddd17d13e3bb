"""Benchmark: the results lineage of every open mainstream school against a plain per-school loop, same run.

Run from the repository root on a database holding the national data (after `make data`):

    .venv/bin/python -m bench.bench_lineage [--repeat 3] [--database-url URL]

Times, in the same run:
- lineage: `schools.history.results_lineages` for every open state-funded primary and secondary school of the
  2024/25 census against the schools with a 2018/19 headline (KS2 progress or Progress 8): two reads (links,
  open URNs) plus the pure walk (`schools.lineage`), median of --repeat; the pure walk alone is reported too;
- baseline: for each school in turn, itself when it has results, else one ORM query per level of GIAS links
  (both directions), nearest predecessor with results (larger cohort, then lower URN), as a page would do it.
Checks that both give the same source for every school, prints the times and the ratio baseline / lineage,
and writes bench/results/lineage.json. Target: lineage for every open school <= 1 s.
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

HEADLINES = (("READPROG", "WRITPROG", "MATPROG"), ("P8MEA",))


def baseline(targets: list[int], has: set[int], weight: dict[int, float]) -> dict[int, int | None]:
    """The plain way: one school at a time, one query per level of links."""
    from django.db.models import Q

    from schools.lineage import link_direction
    from schools.models import School, SchoolLink

    open_urns = set(
        School.objects.filter(status__in=("open", "pending_closure")).values_list("urn", flat=True)
    )
    out: dict[int, int | None] = {}
    for urn in targets:
        if urn in has:
            out[urn] = urn
            continue
        seen, frontier, found = {urn}, [urn], None
        for _ in range(10):
            nxt: list[int] = []
            for a, b, kind in SchoolLink.objects.filter(
                Q(urn__in=frontier) | Q(link_urn__in=frontier)
            ).values_list("urn", "link_urn", "link_type"):
                d = link_direction(kind)
                if a in frontier and (
                    d == "predecessor" or (d == "undirected" and b not in open_urns and a in open_urns)
                ):
                    p = b
                elif b in frontier and d == "successor":
                    p = a
                else:
                    continue
                if p not in seen:
                    seen.add(p)
                    nxt.append(p)
            hits = [p for p in nxt if p in has]
            if hits:
                found = min(hits, key=lambda u: (-weight.get(u, 0.0), u))
                break
            if not nxt:
                break
            frontier = nxt
        out[urn] = found
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
    import django

    django.setup()
    from django.db import connection

    from schools import history as queries
    from schools.lineage import resolve_lineages
    from similarity.sources import open_mainstream, pupils_of, urns_with_headline

    targets = sorted(open_mainstream())
    if not targets:
        print("no open schools in the 2024/25 census: load the data first (make data)")
        return 1
    has: set[int] = set()
    weight: dict[int, float] = {}
    for cols in HEADLINES:
        has |= urns_with_headline(2019, cols)
    for m in ("TELIG", "TPUP"):
        weight.update(pupils_of(2019, m))

    times: list[float] = []
    pure: list[float] = []
    fast: dict[int, Any] = {}
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        fast = queries.results_lineages(targets, has, weight)
        times.append(time.perf_counter() - t0)
        preds = queries.lineage_links()
        t0 = time.perf_counter()
        resolve_lineages(targets, preds, has, weight)
        pure.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    slow = baseline(targets, has, weight)
    base = time.perf_counter() - t0

    mismatches = [u for u in targets if fast[u].source != slow[u]]
    own = sum(1 for u in targets if fast[u].is_self)
    linked = sum(1 for u in targets if fast[u].found and not fast[u].is_self)
    lineage_s = statistics.median(times)
    result = {
        "benchmark": "lineage",
        "database": connection.vendor,
        "python": platform.python_version(),
        "open_schools": len(targets),
        "with_own_results": own,
        "through_links": linked,
        "no_results_in_lineage": len(targets) - own - linked,
        "lineage_seconds": round(lineage_s, 4),
        "pure_walk_seconds": round(statistics.median(pure), 4),
        "baseline_seconds": round(base, 4),
        "ratio_baseline_over_lineage": round(base / lineage_s, 1) if lineage_s else None,
        "target_seconds": 1.0,
        "meets_target": lineage_s <= 1.0,
        "mismatches": len(mismatches),
        "repeat": args.repeat,
    }
    print(
        f"Lineage of {len(targets):,} open schools ({own:,} own results, {linked:,} through links): "
        f"{lineage_s:.3f} s (pure walk {result['pure_walk_seconds']:.3f} s); plain per-school loop {base:.2f} s; "
        f"ratio {result['ratio_baseline_over_lineage']}x; mismatches {len(mismatches)}"
    )
    out = ROOT / "bench" / "results" / "lineage.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
