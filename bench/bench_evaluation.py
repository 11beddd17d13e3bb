"""Benchmark the national 'what works' evaluation against a naive per-school pandas loop, in the same run.

    .venv/bin/python bench/bench_evaluation.py [--pack DIR] [--db DATABASE_URL] [--sample 300] [--repeat 3]

1. Engine (pure, in-process): `evaluation.national.evaluate_national` on inputs built from the pack files
   (`evaluation.pack.load_inputs`, not timed): lineage, panel, events, gaps for every event type and measure,
   every group's effect with its 999-draw cluster bootstrap and event-study leads. Best of --repeat.
2. Full command (optional, --db): `manage.py evaluation run --json` on a database that already holds the
   imported pack and a similarity run, as a subprocess (what a user waits for, Python start-up included), plus
   the command's own read/compute/write split.
3. Naive baseline: `bench.baselines.naive_effects` - for each treated school, filter the long results frame
   for the school, filter its family, group by year, subtract, average - on the first --sample events of each
   event type for every measure; per-school-measure time x (events x measures) is the naive estimate of the
   school-level effects alone (it does no bootstrap at all, which favours the baseline). The school effects of the
   sample are checked equal to the engine's. Ratio = naive estimate / engine time.

Writes bench/results/evaluation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")

from bench.baselines import naive_effects  # noqa: E402
from evaluation import national  # noqa: E402
from evaluation.pack import load_inputs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--db", default="", help="DATABASE_URL of a database with the pack imported (optional)")
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    load_start = os.getloadavg()[0]  # other work on the machine inflates the times: recorded with them

    t = time.perf_counter()
    inp = load_inputs(Path(args.pack))
    load_s = time.perf_counter() - t

    times = []
    res = None
    for _ in range(args.repeat):
        t = time.perf_counter()
        res = national.evaluate_national(inp)
        times.append(time.perf_counter() - t)
    assert res is not None
    engine_s = min(times)
    n_events = sum(len(e) for e in res.events.values())
    measures = res.prepared.panel.measures

    # naive baseline on a sample, all measures
    prep = res.prepared
    panel = prep.panel
    long = []
    for m_i, m in enumerate(measures):
        u, t_i = np.nonzero(np.isfinite(panel.Y[:, :, m_i]))
        long.append((panel.units[u], panel.years[t_i], np.full(len(u), m), panel.Y[u, t_i, m_i]))
    import pandas as pd

    long_df = pd.concat(
        [pd.DataFrame({"unit": a, "year": b, "measure": c, "value": d}) for a, b, c, d in long],
        ignore_index=True,
    )
    naive_s = 0.0
    naive_units = 0
    max_diff = 0.0
    for et, ev in res.events.items():
        sample = ev.head(args.sample)
        for m_i, m in enumerate(measures):
            t = time.perf_counter()
            eff = naive_effects(long_df, sample, inp.families, prep.excluded, m)
            naive_s += time.perf_counter() - t
            naive_units += len(sample)
            ours = res.gaps[et].effect[: len(sample), m_i]
            both = np.isfinite(eff) & np.isfinite(ours)
            assert (np.isfinite(eff) == np.isfinite(ours)).all(), (et, m)
            if both.any():
                max_diff = max(max_diff, float(np.abs(eff[both] - ours[both]).max()))
    per_unit = naive_s / naive_units
    naive_estimate = per_unit * n_events * len(measures)

    command = None
    if args.db:
        env = dict(os.environ, DATABASE_URL=args.db)
        t = time.perf_counter()
        stdout = subprocess.run(
            [sys.executable, "manage.py", "evaluation", "run", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        wall = time.perf_counter() - t
        j = json.loads(stdout)
        command = {
            "wall_seconds": round(wall, 3),
            "read_seconds": j["read_seconds"],
            "compute_seconds": j["compute_seconds"],
            "write_seconds": j["write_seconds"],
            "total_seconds_in_process": j["total_seconds"],
            "estimates": j["estimates"],
            "school_events": j["school_events"],
            "backend": "postgresql" if args.db.startswith("postgres") else "sqlite",
        }

    heads = []
    for et, kind, e in res.estimates:
        if kind != "trust" and e.measure in national.HEADLINE.values():
            heads.append(
                {
                    "event_type": et,
                    "group": e.group,
                    "measure": e.measure,
                    "effect": round(e.effect, 4),
                    "ci_low": round(e.ci_low, 4),
                    "ci_high": round(e.ci_high, 4),
                    "n_treated": e.n_treated,
                    "n_comparison": e.n_comparison,
                    "lead_minus2": round(e.leads[-2].effect, 4) if np.isfinite(e.leads[-2].effect) else None,
                    "lead_minus2_ci": [round(e.leads[-2].ci_low, 4), round(e.leads[-2].ci_high, 4)]
                    if np.isfinite(e.leads[-2].ci_low)
                    else None,
                }
            )
    out = {
        "what": "national what-works evaluation (pack inputs): engine vs naive per-school pandas loop",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        },
        "inputs_load_seconds": round(load_s, 3),
        "events": n_events,
        "measures": list(measures),
        "estimates": len(res.estimates),
        "engine_seconds_best": round(engine_s, 3),
        "engine_seconds_all": [round(x, 3) for x in times],
        "naive": {
            "sample_events_per_type": args.sample,
            "school_measures_timed": naive_units,
            "seconds": round(naive_s, 3),
            "per_school_measure_ms": round(per_unit * 1000, 3),
            "estimate_seconds_all_events": round(naive_estimate, 2),
            "bootstrap": "not included",
            "max_abs_diff_vs_engine": max_diff,
        },
        "ratio_naive_over_engine": round(naive_estimate / engine_s, 1),
        "target_seconds": 10,
        "command": command,
        "headline": heads,
    }
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "evaluation.json").write_text(json.dumps(out, indent=1) + "\n")
    print(
        f"events {n_events}, estimates {len(res.estimates)}; engine {engine_s:.2f} s (best of {args.repeat}); "
        f"naive {per_unit * 1000:.2f} ms per school-measure -> {naive_estimate:.1f} s for all; "
        f"ratio {naive_estimate / engine_s:.1f}x; max |diff| {max_diff:.2e}"
    )
    if command:
        print(
            f"command ({command['backend']}): wall {command['wall_seconds']:.2f} s; in-process total "
            f"{command['total_seconds_in_process']:.2f} s (read {command['read_seconds']:.2f}, compute "
            f"{command['compute_seconds']:.2f}, write {command['write_seconds']:.2f})"
        )


if __name__ == "__main__":
    main()
