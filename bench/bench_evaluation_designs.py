"""Benchmark and record the credible designs of issue 12 on the database, in one run.

    .venv/bin/python bench/bench_evaluation_designs.py [--db DATABASE_URL] [--sim-runs 200] [--loop-sample 30]

1. `schoolpartners evaluation run --json` as a subprocess on the database (what a user waits for: every design
   and placebo nationally, the naive family comparison, reading and writing the database); wall time, the
   child's CPU time and the command's own read / compute / write split. Its designs, placebos, balance and
   counts are what README.md and docs/evaluation.md show (scripts/bench_figures.py).
2. In-process: the event-study fit alone (Sun & Abraham, linearmodels PanelOLS) for primary conversions, the
   largest group; and the matched DiD of that group.
3. Baseline, same run: a plain per-school loop for the same matched DiD (for each treated school, compute the
   distance to every comparison school in Python/numpy one school at a time, sort, take the nearest) on
   --loop-sample treated schools, scaled to the group; ratio = loop estimate / matched DiD time.
4. The dip simulation (`evaluation.simulation.coverage`): coverage of the planted effect (1.0) and of zero over
   --sim-runs seeded worlds per design.

Updates the "designs" key of bench/results/evaluation.json (the rest is written by bench_evaluation.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")


def _loop_matched(Y, years, rows, lp, fp, tf, k, caliper):  # type: ignore[no-untyped-def]
    """The plain per-school loop: one treated school at a time, distances to every pool school."""
    out = []
    for r, a, b in zip(rows, lp, fp, strict=True):
        if r < 0:
            continue
        pre = [t for t, y in enumerate(years) if y <= a and np.isfinite(Y[r, t])]
        post = [t for t, y in enumerate(years) if y == b and np.isfinite(Y[r, t])]
        if not pre or not post:
            continue
        best = []
        for u in range(len(Y)):
            if tf[u] <= years[post[0]] or not np.isfinite(Y[u, pre + post]).all():
                continue
            d = float(np.sqrt(np.mean((Y[u, pre] - Y[r, pre]) ** 2)))
            best.append((d, u))
        best.sort()
        m = [u for d, u in best[:k] if d <= caliper]
        if m:
            out.append(
                Y[r, post].mean()
                - Y[r, pre].mean()
                - np.mean([Y[u, post].mean() - Y[u, pre].mean() for u in m])
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="", help="DATABASE_URL (default: the app's database)")
    ap.add_argument("--sim-runs", type=int, default=200)
    ap.add_argument("--loop-sample", type=int, default=30)
    args = ap.parse_args()
    env = dict(os.environ)
    if args.db:
        env["DATABASE_URL"] = args.db
        os.environ["DATABASE_URL"] = args.db
    load_start = os.getloadavg()[0]

    # 1. the command
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    j = json.loads(stdout)

    # 2. in-process fits on the same database
    import django

    django.setup()
    from django.db import connection

    from evaluation import credible, designs, national, services, simulation

    inp = services.load_inputs()
    prep = national.prepare(inp)
    panel = prep.panel
    units = panel.units
    tf_map = credible.treated_from(inp, prep)
    tf = np.fromiter((tf_map.get(int(u), credible.NEVER) for u in units), dtype=np.int64, count=len(units))
    cluster = credible._clusters(inp, units)
    Y = panel.Y[:, :, panel.measures.index("KS2_PROGRESS")]
    ev = prep.events[(prep.events["event_type"] == "conversion") & (prep.events["phase"] == "primary")]
    rows = panel.rows(ev["unit"].astype(int).tolist())
    lp = ev["last_pre"].to_numpy(dtype=np.int64)
    fp = ev["first_post"].to_numpy(dtype=np.int64)
    es_times, es_cpu, md_times = [], [], []
    for _ in range(3):
        t = time.perf_counter()
        c0 = time.process_time()
        es = designs.event_study(Y, panel.years, rows, lp, fp, tf > int(panel.years.max()), cluster)
        es_times.append(time.perf_counter() - t)
        es_cpu.append(time.process_time() - c0)
        t = time.perf_counter()
        md = designs.matched_did(
            Y,
            panel.years,
            rows,
            lp,
            fp,
            np.ones(len(Y), dtype=bool),
            cluster,
            None,
            designs.DEFAULT_DESIGN,
            tf,
        )
        md_times.append(time.perf_counter() - t)
    # 3. the plain loop on a sample, scaled
    sample = min(args.loop_sample, len(rows))
    t = time.perf_counter()
    _loop_matched(Y, panel.years, rows[:sample], lp[:sample], fp[:sample], tf, 5, 0.25 * 2)
    loop_s = time.perf_counter() - t
    loop_estimate = loop_s / max(sample, 1) * len(rows)

    # 4. the dip simulation
    t = time.perf_counter()
    planted = simulation.coverage(1.0, runs=args.sim_runs, seed=1000)
    null = simulation.coverage(0.0, runs=args.sim_runs, seed=5000)
    sim_s = time.perf_counter() - t

    out = {
        "what": "credible designs (issue 12): the evaluation run on the database, fits, plain loop, dip simulation",
        "backend": connection.vendor,
        "load_average_1min_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "command": {
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "read_seconds": j["read_seconds"],
            "compute_seconds": j["compute_seconds"],
            "write_seconds": j["write_seconds"],
            "total_seconds_in_process": j["total_seconds"],
            "designs_seconds": j["counts"].get("designs_seconds"),
        },
        "target_seconds": 20,
        "event_study": {
            "group": "conversion · primary",
            "treated": es.n_treated,
            "comparison": es.n_comparison,
            "seconds_best": round(min(es_times), 3),
            "cpu_seconds_best": round(min(es_cpu), 3),
            "target_seconds": 5,
        },
        "matched_did": {"seconds_best": round(min(md_times), 3), "treated_matched": md.n_matched},
        "plain_loop": {
            "sample": sample,
            "seconds": round(loop_s, 2),
            "estimate_seconds_group": round(loop_estimate, 1),
            "ratio_over_matched_did": round(loop_estimate / min(md_times), 1),
        },
        "simulation": {"runs": args.sim_runs, "seconds": round(sim_s, 1), "planted_1": planted, "null": null},
        "steps": j["counts"].get("steps", {}),
        "designs": j["designs"],
        "naive": [h for h in j["headline"] if h["group"] != "all"],
    }
    path = ROOT / "bench" / "results" / "evaluation.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["designs"] = out
    path.write_text(json.dumps(data, indent=1) + "\n")
    c = out["command"]
    print(
        f"evaluation run ({out['backend']}): wall {c['wall_seconds']} s, CPU {c['cpu_seconds']} s "
        f"(designs {c['designs_seconds']} s in process); event study {out['event_study']['seconds_best']} s; "
        f"matched DiD {out['matched_did']['seconds_best']} s vs plain loop ≈ {loop_estimate:.1f} s "
        f"({out['plain_loop']['ratio_over_matched_did']}x); simulation {sim_s:.0f} s"
    )
    for name in ("matched_did", "pipeline", "family"):
        print(
            f"  {name}: coverage planted {planted[name]['coverage']:.3f}, null {null[name]['coverage']:.3f}"
        )


if __name__ == "__main__":
    main()
