"""Write the performance figures of README.md and the docs from bench/results/*.json (never copied by hand).

    python scripts/bench_figures.py           # rewrite every marked block
    python scripts/bench_figures.py --check   # exit 1 if a marked block differs from what the results give

A marked block is the text between ``<!-- bench:begin NAME -->`` and ``<!-- bench:end NAME -->`` in README.md,
bench/README.md or docs/**/*.md (docs rendered by the app, docs/methodology-*.md, carry no markers: they point
to README's table). NAME is a key of `BLOCKS`; each block is a function of the results files alone. `make bench`
runs this at the end; a test checks that the committed files equal what it generates.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
Results = dict[str, Any]
MARKER = re.compile(
    r"(<!-- bench:begin (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- bench:end (?P=name) -->)", re.S
)


def load_results(directory: Path = RESULTS) -> Results:
    return {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


# ----------------------------------------------------------------------------------------------- formatting
def x(ratio: float) -> str:
    """A ratio as the README writes it: 171×, 9.1×, 1.67×."""
    if ratio >= 10:
        return f"{ratio:,.0f}×"
    return f"{ratio:.1f}×" if ratio >= 2 else f"{ratio:.2f}".rstrip("0").rstrip(".") + "×"


def s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def n(count: int) -> str:
    return f"{count:,}"


def ms(value: float) -> str:
    return f"{value:,.0f}"


def load_note(*values: float | None) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    return f"load {lo:.1f}" if round(lo, 1) == round(hi, 1) else f"load {lo:.1f}–{hi:.1f}"


# ----------------------------------------------------------------------------------------------- README rows
def rows_import(r: Results) -> list[str]:
    imp = r.get("import")
    if not imp:
        return []
    out = []
    for backend, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        b = imp.get(backend)
        if not b:
            continue
        m = re.search(r"inserted (\d[\d,]*\d)", b.get("summary_total", ""))
        rows = f" ({m.group(1)} rows)" if m else ""
        base = b["baseline"]
        cpu = b["client_cpu_seconds"] + (b.get("server_cpu_seconds") or 0)
        out.append(
            f"| full pack import into {label} (`bench_import.py`) | ≤ 30 s | **{s(b['full_pack_seconds'])}** wall"
            f"{rows}; {cpu:.1f} CPU-s ({load_note(b.get('load_average_at_start'))}) | "
            f"{x(base['ratio'])} faster than batched `bulk_create(update_conflicts=True)` upserts of "
            f"`{base['file']}` ({n(base['result_rows'])} rows: ours {s(base['ours_seconds'])}, upserts "
            f"{s(base['baseline_estimated_seconds'])}) |"
        )
    return out


def rows_load(r: Results) -> list[str]:
    ld = r.get("load")
    if not ld:
        return []
    ep, q, ov = ld["endpoints"], ld["quiet"], ld["overall"]
    srv = ld["server"]
    sp, sc = ep["search_page"], ep["school_page"]
    met = sp["p95_ms"] <= 100 and ov["errors"] == 0
    db = "PostgreSQL" if str(ld.get("database", "")).startswith("postgres") else "SQLite"
    return [
        f"| site under load, {ld['load']['concurrency']} connections, {ld['load']['max_seconds']:.0f} s, {db}, "
        f"{srv['workers']} gunicorn workers (`bench_load.py`) | p95 ≤ 100 ms, 0 errors | "
        f"{ov['throughput_rps']:.0f} req/s, **{ov['errors']} errors**; search page p50/p95/p99 "
        f"{ms(sp['p50_ms'])}/{ms(sp['p95_ms'])}/{ms(sp['p99_ms'])} ms; school page "
        f"{ms(sc['p50_ms'])}/{ms(sc['p95_ms'])}/{ms(sc['p99_ms'])} ms; one request at a time: search "
        f"{ms(q['search_page']['p50_ms'])} ms, school page {ms(q['school_page']['p50_ms'])} ms (p50) "
        f"({load_note(ld['machine'].get('loadavg_1min_before'), ld['machine'].get('loadavg_1min_after'))}) | "
        f"p95 search / p95 `/healthz`: {x(ld['ratio'])} under load (queueing dominates), "
        f"{x(ld['quiet_ratios']['p95_search_page_over_baseline'])} one at a time"
        + ("" if met else " — **target not met**")
        + " |"
    ]


def rows_similarity(r: Results) -> list[str]:
    out = []
    sim = r.get("similarity")
    if sim:
        sec = sim["seconds"]
        same = "identical families and partners" if all(sim["checks"].values()) else "**results differ**"
        loads = sim["machine"].get("load_average_1min_start_end", [])
        out.append(
            f"| similar schools, national recompute, both phases (`bench_similarity.py`) | ≤ 1 s | "
            f"**{s(sec['fast_total_median'])}** (families, partners, coverage, strengths, challenge pairs; "
            f"{load_note(*loads)}) | {x(sim['ratio_naive_over_fast'])} faster than a brute force (full N×N "
            f"feature distances with a partial sort, miles for the N×50 family members only: "
            f"{s(sec['naive_families_partners_coverage'])} vs {s(sec['fast_families_partners_coverage_median'])};"
            f" {same}) |"
        )
    for key, label in (("similarity_db", "SQLite"), ("similarity_db_postgres", "PostgreSQL")):
        db = r.get(key)
        if db:
            out.append(
                f"| similar schools recompute incl. database read/write (`bench_similarity_db.py`) | — | "
                f"{s(db['seconds']['full_recompute_median'])} on {label} | {x(db['ratio'])} the in-memory core |"
            )
    return out


def rows_trusts(r: Results) -> list[str]:
    out = []
    for key, label in (("trusts", "SQLite"), ("trusts_postgres", "PostgreSQL")):
        t = r.get(key)
        if t:
            out.append(
                f"| trust aggregates, all {n(t['partnerships'])} partnerships, {label} (`bench_trusts.py`) | "
                f"≤ {t['target_recompute_seconds']:g} s | **{s(t['recompute_seconds'])}** (compute "
                f"{s(t['compute_seconds'])}"
                + (f", {s(t['compute_cpu_seconds'])} CPU" if "compute_cpu_seconds" in t else "")
                + f") | {x(t['ratio'])} faster than a per-trust ORM loop "
                f"({n(t['weighted_means_checked'])} identical weighted means) |"
            )
            one = t.get("one_trust_after_membership_change")
            if one:
                out.append(
                    f"| one trust ({n(one['members'])} schools) after a membership change, {label} "
                    f"(`bench_trusts.py`) | ≤ {one['target_seconds'] * 1000:g} ms | **{s(one['seconds'])}** "
                    f"({s(one['cpu_seconds'])} CPU) | `recompute_trust`, the largest trust, one member leaving "
                    "and coming back |"
                )
    return out


def rows_brokerage(r: Results) -> list[str]:
    b = r.get("brokerage")
    if not b:
        return []
    nat, reg = b["national"], b["region"]
    return [
        f"| brokerage, national instance (`bench_brokerage.py`) | ≤ {nat['target_seconds']:g} s | "
        f"**{s(nat['best']['total'])}** to optimum incl. building {n(b['instance']['arcs'])} arcs "
        f"({s(nat['best_cpu_seconds'])} CPU); what-if re-solve {s(b['what_if_exclude_20_seconds'])} | "
        f"OR-Tools {x(b['networkx_speed_ratio'])} faster than networkx `network_simplex` on the {reg['name']} "
        f"(same cost); greedy nearest-first objective {x(b['greedy_cost_ratio'])} worse (arc cost per served "
        f"need {x(b['greedy_arc_cost_per_served_ratio'])}) |"
    ]


def rows_evaluation(r: Results) -> list[str]:
    e = r.get("evaluation")
    if not e:
        return []
    cmd = e.get("command")
    command = f"; `schoolpartners evaluation run` {s(cmd['wall_seconds'])} wall incl. DB" if cmd else ""
    loads = e["machine"].get("load_average_1min_start_end", [])
    command += f" ({load_note(*loads)})" if loads else ""
    return [
        f"| what works, national evaluation (`bench_evaluation.py`) | ≤ {e['target_seconds']:g} s | "
        f"**{s(e['engine_seconds_best'])}** engine{command} | {x(e['ratio_naive_over_engine'])} faster than a "
        f"per-school pandas loop (same effects, max difference {e['naive']['max_abs_diff_vs_engine']:.0e}) |"
    ]


def readme_performance(r: Results) -> str:
    lines = [
        "| benchmark (script) | target | measured | ratio against the baseline measured in the same run |",
        "|---|---|---|---|",
    ]
    for rows in (rows_import, rows_load, rows_similarity, rows_trusts, rows_brokerage, rows_evaluation):
        lines += rows(r)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- other blocks
def adr_brokerage(r: Results) -> str:
    b = r["brokerage"]
    nat = b["national"]
    return (
        f"The national optimum takes {s(nat['best_cpu_seconds'])} of CPU, {s(nat['best']['total'])} wall "
        f"(`bench/results/brokerage.json`), {x(b['networkx_speed_ratio'])} faster than networkx's network "
        f"simplex on a region ({b['region']['name']}, same cost), with explanations (reason, alternatives, why "
        "unmatched) derived from the same arcs.\n"
    )


def evaluation_timing(r: Results) -> str:
    e = r["evaluation"]
    nv = e["naive"]
    cmd = e.get("command")
    text = (
        f"`bench/results/evaluation.json`: the national evaluation ({n(e['events'])} events, "
        f"{len(e['measures'])} measures, {e['estimates']} estimates incl. 999-draw bootstraps and leads) takes "
        f"**{s(e['engine_seconds_best'])}** in the engine (best of {len(e['engine_seconds_all'])})"
    )
    if cmd:
        text += (
            f"; the full `schoolpartners evaluation run` on {cmd['backend']} takes "
            f"{s(cmd['total_seconds_in_process'])} in-process (read {s(cmd['read_seconds'])}, compute "
            f"{s(cmd['compute_seconds'])}, write {s(cmd['write_seconds'])}) and {s(cmd['wall_seconds'])} wall"
        )
    text += (
        f". A naive per-school pandas loop needs {nv['per_school_measure_ms']:.1f} ms per school and measure, "
        f"≈ {nv['estimate_seconds_all_events']:.0f} s for the school effects alone (no bootstrap): the engine "
        f"is ≈ {x(e['ratio_naive_over_engine'])} faster and gives the same school effects (max difference "
        f"{nv['max_abs_diff_vs_engine']:.0e}).\n"
    )
    return text


BLOCKS: dict[str, Callable[[Results], str]] = {
    "performance": readme_performance,
    "adr-brokerage": adr_brokerage,
    "evaluation-timing": evaluation_timing,
}


def documents(root: Path = ROOT) -> Iterable[Path]:
    yield root / "README.md"
    yield root / "bench" / "README.md"
    yield from sorted((root / "docs").rglob("*.md"))


def render(text: str, results: Results) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in BLOCKS:
            raise KeyError(f"unknown bench block {name!r}")
        return m.group(1) + BLOCKS[name](results) + m.group(4)

    return MARKER.sub(sub, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report stale blocks instead of rewriting them")
    args = ap.parse_args(argv)
    results = load_results()
    stale = []
    for path in documents():
        if not path.exists():
            continue
        text = path.read_text()
        new = render(text, results)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new)
    verb = "stale" if args.check else "rewrote"
    for p in stale:
        print(f"{verb}: {p}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
