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


DB_LABEL = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
LOAD_SCENARIOS = {
    "healthz": "`/healthz` (baseline: no database, no template)",
    "cached": "one search page again and again (page-cache hits)",
    "school_pages": "school pages, distinct URNs (page-cache misses)",
    "search_pages": "search pages, distinct towns/districts (misses)",
    "api_search": "`/api/schools?q=`, distinct towns/districts (misses)",
}


def _ms(value: float | None) -> str:
    return "— (every request timed out)" if value is None else ms(value)


def _target(t: dict[str, Any] | None) -> str:
    if not t:
        return "—"
    return f"≥ {t['min_rps']:,.0f} req/s" + (f", p95 ≤ {t['max_p95_ms']:,.0f} ms" if t["max_p95_ms"] else "")


def rows_load(r: Results) -> list[str]:
    ld = r.get("load")
    if not ld or "databases" not in ld:
        return []
    out = []
    for db, res in ld["databases"].items():
        if "scenarios" not in res:
            continue
        sc = res["scenarios"]
        parts = [
            f"{name.replace('_', ' ')} {sc[name]['rps']:,.0f} req/s (p95 {_ms(sc[name]['p95_ms'])} ms)"
            for name in ("school_pages", "search_pages", "api_search", "cached", "healthz")
            if "rps" in sc.get(name, {})
        ]
        errors = sum(x.get("errors", 0) for x in sc.values())
        timeouts = sum(x.get("timeouts", 0) for x in sc.values())
        missed = [n for n, x in sc.items() if x.get("target_met") is False]
        out.append(
            f"| site under load, wrk {ld['wrk']['connections']} connections, {ld['wrk']['seconds']} s per scenario, "
            f"{DB_LABEL.get(db, db)}, {res['server']['workers']} gunicorn workers (`bench_load.py`) | distinct "
            "school and search pages ≥ 300 req/s, p95 ≤ 250 ms; cached ≥ 1,500 req/s; 0 errors | "
            + "; ".join(parts)
            + f"; **{errors} errors, {timeouts} timeouts** "
            f"({load_note(res.get('loadavg_1min_before'), res.get('loadavg_1min_after'))}) | "
            f"distinct school pages at {x(res['ratios_rps_over_healthz'].get('school_pages', 0))} the "
            "`/healthz` throughput of the same run"
            + (f" — **targets missed: {', '.join(m.replace('_', ' ') for m in missed)}**" if missed else "")
            + " |"
        )
    return out


def rows_render(r: Results) -> list[str]:
    rd = r.get("render")
    if not rd:
        return []
    out = []
    for db, res in rd["databases"].items():
        if "school_page" not in res:
            continue
        sp, se, api = res["school_page"], res["search_page"], res["api_search"]
        ra = res["ratios"]
        out.append(
            f"| render budget, one request at a time, uncached, {DB_LABEL.get(db, db)} (`bench_render.py`) | "
            f"p50 ≤ {res['target_p50_ms']:g} ms | school page **{sp['p50_ms']:.1f} ms** ({sp['max_queries']} "
            f"queries), search page **{se['p50_ms']:.1f} ms** ({se['max_queries']}), API search "
            f"**{api['p50_ms']:.1f} ms** ({api['max_queries']}) p50 "
            f"({load_note(*res.get('loadavg_1min', []))}) | search through the index "
            f"{x(ra['search_page_like_over_index_p50'])} (page) and {x(ra['api_search_like_over_index_p50'])} "
            "(API) faster than the pre-index LIKE search"
            + ("" if all(res["target_met"].values()) else " — **target not met**")
            + " |"
        )
    return out


def load_table(r: Results) -> str:
    ld = r["load"]
    lines = [
        "| database | scenario | req/s | p50 ms | p95 ms | p99 ms | errors | timeouts | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for db, res in ld["databases"].items():
        if "scenarios" not in res:
            lines.append(f"| {DB_LABEL.get(db, db)} | skipped: {res.get('skipped', '')[:80]} | | | | | | | |")
            continue
        for name, sc in res["scenarios"].items():
            if "rps" not in sc:
                continue
            met = {True: " (met)", False: " (**missed**)", None: ""}[sc.get("target_met")]
            lines.append(
                f"| {DB_LABEL.get(db, db)} | {LOAD_SCENARIOS.get(name, name)} | {sc['rps']:,.0f} | "
                f"{_ms(sc['p50_ms'])} | {_ms(sc['p95_ms'])} | {_ms(sc['p99_ms'])} | {sc['errors']:,} | "
                f"{sc['timeouts']:,} | {_target(ld['targets'].get(name))}{met} |"
            )
    return "\n".join(lines) + "\n"


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


def rows_lineage(r: Results) -> list[str]:
    t = r.get("lineage")
    if not t:
        return []
    return [
        f"| results lineage of all {n(t['open_schools'])} open schools, {t['database']} (`bench_lineage.py`) | "
        f"≤ {t['target_seconds']:g} s | **{s(t['lineage_seconds'])}** (pure walk {s(t['pure_walk_seconds'])}) | "
        f"{x(t['ratio_baseline_over_lineage'])} faster than a per-school loop ({n(t['through_links'])} reached "
        f"through GIAS links, {n(t['mismatches'])} differences) |"
    ]


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


def rows_evaluation_designs(r: Results) -> list[str]:
    d = (r.get("evaluation") or {}).get("designs")
    if not d:
        return []
    c, es, pl = d["command"], d["event_study"], d["plain_loop"]
    return [
        f"| what works, every design and placebo (`bench_evaluation_designs.py`) | ≤ {d['target_seconds']:g} s "
        f"incl. DB; event-study fit ≤ {es['target_seconds']:g} s | **{s(c['wall_seconds'])}** wall, "
        f"{s(c['cpu_seconds'])} CPU for `schoolpartners evaluation run` on {d['backend']} "
        f"({load_note(*d['load_average_1min_start_end'])}); event-study fit {s(es['seconds_best'])} "
        f"({s(es.get('cpu_seconds_best', es['seconds_best']))} CPU) | matched "
        f"DiD {x(pl['ratio_over_matched_did'])} faster than a plain per-school loop |"
    ]


def _sg(v: float | None, nd: int = 2) -> str:
    if v is None:
        return "–"
    t = f"{v:+.{nd}f}"
    return t.replace("-", "−") if not t.startswith("-0." + "0" * nd) else f"{0:.{nd}f}"


def _ci(e: dict[str, Any], nd: int = 2) -> str:
    return f"{_sg(e.get('effect'), nd)} [{_sg(e.get('ci_low'), nd)}, {_sg(e.get('ci_high'), nd)}]"


def _groups(d: Results) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in d["designs"]:
        out.setdefault((row["event_type"], row["group"]), []).append(row)
    return out


UNIT = {"KS2_PROGRESS": "KS2 points", "P8MEA": "P8"}
LABEL = {"matched_did": "matched DiD", "pipeline": "pipeline", "event_study": "event study"}


def evaluation_designs(r: Results) -> str:
    """README: per group, the headline design (passed its placebos) beside the naive family comparison."""
    d = r["evaluation"]["designs"]
    naive = {(h["event_type"], h["group"]): h for h in d["naive"]}
    lines = [
        "| event · group | headline design (passed its placebos) | effect [95% CI] | schools | naive family "
        "comparison |",
        "|---|---|---|---|---|",
    ]
    for (et, group), rows in _groups(d).items():
        head = next((x for x in rows if x["headline"]), None)
        nv = naive.get((et, group))
        unit = UNIT.get(rows[0]["measure"], rows[0]["measure"])
        name = f"{et.replace('_', ' ')} · {group.split(': ', 1)[-1]} ({unit})"
        nv_text = f"{_ci(nv)}" if nv else "–"
        if head:
            lines.append(
                f"| {name} | {LABEL[head['design']]} | {_ci(head)} | {n(head['n_treated'])} | {nv_text} |"
            )
        else:
            lines.append(f"| {name} | none passed | – | – | {nv_text} |")
    return "\n".join(lines) + "\n"


def evaluation_designs_detail(r: Results) -> str:
    """docs/evaluation.md: every design with its placebos, balance, counts, simulation and timings."""
    d = r["evaluation"]["designs"]
    lines = [
        "| event · group | design | effect [95% CI] | treated / comparison | placebo: same earlier results | "
        "placebo: two years early | verdict | max abs SMD after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (et, group), rows in _groups(d).items():
        for x_ in rows:
            smd = [abs(b["smd_after"]) for b in x_.get("balance") or [] if b.get("smd_after") is not None]
            pl = x_["placebos"]
            verdict = x_["status"] + (" (headline)" if x_["headline"] else "")
            lines.append(
                f"| {et.replace('_', ' ')} · {group.split(': ', 1)[-1]} | {LABEL[x_['design']]} | {_ci(x_)} | "
                f"{n(x_['n_treated'])} / {n(x_['n_comparison'])} | "
                f"{_ci(pl['rtm']) if pl.get('rtm', {}).get('effect') is not None else 'not possible'} | "
                f"{_ci(pl['early']) if pl.get('early', {}).get('effect') is not None else 'not possible'} | "
                f"{verdict} | {f'{max(smd):.2f}' if smd else '–'} |"
            )
    st = d["steps"].get("conversion", {})
    sp = d["steps"].get("sponsor_change", {})
    sim = d["simulation"]
    cov = "; ".join(
        f"{LABEL.get(k, 'family (old)')} {sim['planted_1'][k]['coverage']:.0%} of the planted effect, "
        f"{sim['null'][k]['coverage']:.0%} of zero (bias {_sg(sim['null'][k]['bias'])})"
        for k in ("matched_did", "pipeline", "family")
    )
    c, es, pl_ = d["command"], d["event_study"], d["plain_loop"]
    lines += [
        "",
        f"Counts at each step: {n(st.get('links', 0))} GIAS predecessor links, {n(st.get('dated', 0))} dated and "
        f"{n(st.get('undated', 0))} undated ({n(st.get('undated_to_academy', 0))} of those lead to an academy); "
        f"{n(st.get('events', 0))} conversions and {n(sp.get('events', 0))} sponsor changes dated 2016–2018; "
        f"{n(st.get('with_results', 0))} conversions with a headline result before and after, "
        f"{n(st.get('matched', 0))} matched (sponsor changes {n(sp.get('with_results', 0))} and "
        f"{n(sp.get('matched', 0))}).",
        "",
        f"Dip simulation ({sim['runs']} seeded worlds each): {cov}.",
        "",
        f"Timing (`bench/bench_evaluation_designs.py`, {d['backend']}, "
        f"{load_note(*d['load_average_1min_start_end'])}): `schoolpartners evaluation run` {s(c['wall_seconds'])} "
        f"wall, {s(c['cpu_seconds'])} CPU (read {s(c['read_seconds'])}, compute {s(c['compute_seconds'])} of which "
        f"designs and placebos {s(c['designs_seconds'])}, write {s(c['write_seconds'])}); the event-study fit for "
        f"{n(es['treated'])} primary converters against {n(es['comparison'])} schools {s(es['seconds_best'])} "
        f"({s(es.get('cpu_seconds_best', es['seconds_best']))} CPU); "
        f"the matched DiD of that group {s(d['matched_did']['seconds_best'])}, a plain per-school loop "
        f"≈ {s(pl_['estimate_seconds_group'])} ({x(pl_['ratio_over_matched_did'])}).",
    ]
    return "\n".join(lines) + "\n"


def readme_performance(r: Results) -> str:
    lines = [
        "| benchmark (script) | target | measured | ratio against the baseline measured in the same run |",
        "|---|---|---|---|",
    ]
    for rows in (
        rows_import,
        rows_load,
        rows_render,
        rows_similarity,
        rows_lineage,
        rows_trusts,
        rows_brokerage,
        rows_evaluation,
        rows_evaluation_designs,
    ):
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
    "load-table": load_table,
    "evaluation-designs": evaluation_designs,
    "evaluation-designs-detail": evaluation_designs_detail,
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
