"""Benchmark: the national similar-schools recompute *with database I/O* (what `schoolpartners similarity recompute`
costs), against the in-memory core computation on the same frames as the plain baseline.

Run from the repository root after `make data` (or on any database holding the national data):

    .venv/bin/python -m bench.bench_similarity_db [--repeat 3] [--database-url URL]

Times, in the same run:
- baseline: `similarity.core.national_recompute` on frames already in memory (median of --repeat);
- read: `similarity.services.build_frames` (census, results, history and pupils from the database);
- full: `similarity.services.recompute` (read + compute + building rows + bulk insert in one transaction),
  which replaces the stored run of the default method (idempotent: the stored results do not change).
Prints the ratio full / baseline and writes bench/results/similarity_db.json with the timings and the coverage
figures read back from the database.
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

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "similarity_db.json")
    args = ap.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
    import django

    django.setup()
    from django.db import connection

    from schools.models import CensusRecord
    from similarity import queries, services
    from similarity.core import national_recompute
    from similarity.method import DEFAULT_METHOD
    from similarity.models import SimilarityRun

    method = DEFAULT_METHOD
    if not CensusRecord.objects.filter(year=method.year).exists():
        print(f"no {method.year} census in the database ({connection.vendor}): run `make data` first")
        return 1
    load_start = os.getloadavg()[0]

    reads = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        frames = services.build_frames(method)
        reads.append(time.perf_counter() - t0)
    national_recompute(frames, method)  # warm-up
    base = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        national_recompute(frames, method)
        base.append(time.perf_counter() - t0)

    current = SimilarityRun.objects.filter(is_current=True).first()
    keep_current = current is None or current.method_hash == method.hash
    fulls, steps = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        report = services.recompute(method, make_current=keep_current)
        fulls.append(time.perf_counter() - t0)
        steps.append(report.seconds)
    run = report.run
    baseline, full, read = statistics.median(base), statistics.median(fulls), statistics.median(reads)
    ratio = full / baseline
    step_median = {k: round(statistics.median(s[k] for s in steps), 3) for k in steps[0]}
    print(f"database: {connection.vendor}; populations {run.populations}")
    print(f"baseline: core on in-memory frames (median of {args.repeat}) {baseline:.3f} s")
    print(f"read frames from the database (median) {read:.3f} s")
    print(
        f"full recompute incl. DB read and write (median) {full:.2f} s; ratio full / baseline = {ratio:.1f}x"
    )
    for k, v in step_median.items():
        print(f"   {k:12s} {v:8.3f} s")
    coverage = {
        variant: queries.coverage_summary(run, robust=robust)
        for variant, robust in (("default", False), ("robust", True))
    }
    for variant, d in coverage.items():
        for phase, curve in d.items():
            print(
                f"   {variant:8s} {phase:10s} "
                + "  ".join(f"{r:>3s} mi {v:5.1f}%" for r, v in curve.items() if v is not None)
            )
    out = {
        "database": connection.vendor,
        "method_hash": method.hash,
        "description": method.description(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1min_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        },
        "populations": run.populations,
        "seconds": {
            "baseline_core_in_memory_median": round(baseline, 4),
            "read_frames_median": round(read, 4),
            "full_recompute_median": round(full, 3),
            "full_recompute_runs": [round(x, 3) for x in fulls],
            "full_recompute_steps_median": step_median,
        },
        "ratio": round(ratio, 1),
        "coverage_percent_from_db": {
            v: {p: {r: (round(x, 2) if x is not None else None) for r, x in c.items()} for p, c in d.items()}
            for v, d in coverage.items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
