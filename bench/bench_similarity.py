"""Benchmark: national similar-schools recompute (KD-tree, N x 50) against a brute-force baseline.

Run from the repository root:  .venv/bin/python -m bench.bench_similarity [--pack ../shared/data] [--repeat 5]

Loads the data pack with pandas (not timed), then times in the same run:
- fast: `similarity.core.national_recompute` on both phases (prepare, families, default + robust partners,
  coverage by phase and region, strengths, challenge pairs);
- brute force (`bench.baselines.similarity_brute_force`): the full N x N feature distance matrix (in row
  blocks to bound memory) with a partial sort (`np.argpartition`) for the 50 nearest, great-circle miles for
  the N x 50 family members only, partners (default and robust) and coverage.
Asserts both give identical families and partners, prints both times and the ratio, and writes
bench/results/similarity.json with the times and the national coverage figures.
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

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.baselines import similarity_brute_force  # noqa: E402
from similarity.core import Families, Partners, coverage_rows, national_recompute, prepare_phase  # noqa: E402
from similarity.method import DEFAULT_METHOD  # noqa: E402
from similarity.pack import load_frames  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "similarity.json")
    args = ap.parse_args(argv)
    method = DEFAULT_METHOD
    load_start = os.getloadavg()[0]  # other work on the machine inflates the times: recorded with them

    t0 = time.perf_counter()
    frames = load_frames(args.pack)
    load_s = time.perf_counter() - t0
    print(
        f"loaded pack in {load_s:.2f} s (not timed): "
        + ", ".join(f"{p} {len(f)} rows" for p, f in frames.items())
    )

    fast_times, comparable = [], []
    result = national_recompute(frames, method)  # warm-up
    for _ in range(args.repeat):
        result = national_recompute(frames, method)
        fast_times.append(result.seconds["total"])
        comparable.append(
            sum(
                v
                for k, v in result.seconds.items()
                if k.split(".")[-1] in {"prepare", "families", "partners", "coverage"}
            )
        )
    fast = statistics.median(fast_times)
    fast_cmp = statistics.median(comparable)
    print(
        f"fast national recompute (median of {args.repeat}): {fast:.3f} s total; "
        f"families+partners+coverage {fast_cmp:.3f} s"
    )
    for k, v in sorted(result.seconds.items()):
        print(f"   {k:22s} {v * 1000:8.1f} ms")

    t0 = time.perf_counter()
    naive: dict[str, tuple[Families, Partners, Partners]] = {}
    for phase, df in frames.items():
        data = prepare_phase(df, phase, method)
        fam, p, rp = similarity_brute_force(data, method)
        coverage_rows(data, p, method.coverage_radii)
        coverage_rows(data, rp, method.coverage_radii)
        naive[phase] = (fam, p, rp)
    naive_s = time.perf_counter() - t0
    ratio = naive_s / fast_cmp
    print(
        f"brute force (families+partners+coverage): {naive_s:.2f} s; ratio brute force/fast = {ratio:.1f}x "
        f"(brute force / fast total incl. strengths and challenge pairs = {naive_s / fast:.1f}x)"
    )

    checks: dict[str, bool] = {}
    for phase, (fam, p, rp) in naive.items():
        res = result.phases[phase]
        checks[f"{phase}.families"] = bool(np.array_equal(fam.index, res.families.index))
        checks[f"{phase}.family_distances"] = bool(np.array_equal(fam.distance, res.families.distance))
        checks[f"{phase}.partners"] = bool(np.array_equal(p.index, res.partners.index))
        checks[f"{phase}.partner_miles"] = bool(np.array_equal(p.miles, res.partners.miles, equal_nan=True))
        checks[f"{phase}.robust_partners"] = bool(np.array_equal(rp.index, res.robust_partners.index))
    for k, ok in checks.items():
        print(f"check {k:28s} {'identical' if ok else 'DIFFERENT'}")
    assert all(checks.values()), "fast and brute-force implementations disagree"

    cov = result.coverage
    coverage = {
        variant: {
            phase: {f"{r:g}": round(cov.percent(phase, r, robust), 2) for r in method.coverage_radii}
            for phase in result.phases
        }
        for variant, robust in (("default", False), ("robust", True))
    }
    by_region = {
        variant: {
            phase: {
                row.region: {
                    f"{q:g}": round(cov.percent(phase, q, robust, row.region), 1)
                    for q in method.coverage_radii
                }
                for row in cov.rows
                if row.phase == phase
                and row.region
                and row.radius_miles == method.coverage_radii[0]
                and not row.robust
            }
            for phase in result.phases
        }
        for variant, robust in (("default", False), ("robust", True))
    }
    print("national coverage, % of schools with a better-performing family member within R miles:")
    for variant, d in coverage.items():
        for phase, curve in d.items():
            print(
                f"   {variant:8s} {phase:10s} " + "  ".join(f"{r:>3s} mi {v:5.1f}%" for r, v in curve.items())
            )
    tops = {p: int(r.partners.top_of_family.sum()) for p, r in result.phases.items()}
    within = {p: int(r.partners.within_radius.sum()) for p, r in result.phases.items()}
    out = {
        "method": method.to_dict(),
        "method_hash": method.hash,
        "description": method.description(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
            "load_average_1min_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        },
        "populations": result.populations,
        "excluded": {p: dict(r.data.excluded) for p, r in result.phases.items()},
        "seconds": {
            "load_pack_not_timed": round(load_s, 3),
            "fast_total_median": round(fast, 4),
            "fast_total_runs": [round(x, 4) for x in fast_times],
            "fast_families_partners_coverage_median": round(fast_cmp, 4),
            "fast_steps_last_run": {k: round(v, 4) for k, v in result.seconds.items()},
            "naive_families_partners_coverage": round(naive_s, 3),
        },
        "baseline": "brute force: N x N feature distances in row blocks, np.argpartition for the 50 nearest, "
        "miles for the N x 50 members only",
        "ratio_naive_over_fast": round(ratio, 1),
        "ratio_naive_over_fast_total": round(naive_s / fast, 1),
        "checks": checks,
        "coverage_percent": coverage,
        "coverage_percent_by_region": by_region,
        "top_of_family": tops,
        "partner_within_radius": within,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(
        f"1-minute load average at start / end: {load_start:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
