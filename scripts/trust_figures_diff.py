"""How many trusts' stored figures differ between two databases (e.g. before and after issue 11's rules).

    .venv/bin/python scripts/trust_figures_diff.py OLD.sqlite3 NEW.sqlite3 [--json out.json]

Compares, per DfE trust id: member count, pupils, and every stored pupil-weighted figure (key stage, year, measure ->
mean; a figure present on one side only counts as a change). Prints the counts by what changed.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path


def load(path: Path) -> dict[str, dict[str, object]]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out: dict[str, dict[str, object]] = {}
    for tid, members, pupils, perf, ks2, ks4 in con.execute(
        "SELECT p.external_id, a.members, a.pupils, a.performance, a.ks2_headline, a.ks4_headline "
        "FROM partnerships_trustaggregate a JOIN partnerships_partnership p ON p.id = a.partnership_id "
        "WHERE p.kind = 'mat'"
    ):
        figures = {(r["key_stage"], r["year"], r["measure"]): r["mean"] for r in json.loads(perf)}
        out[tid] = {"members": members, "pupils": pupils, "figures": figures, "ks2": ks2, "ks4": ks4}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    old, new = load(args.old), load(args.new)
    changed = {"members": 0, "pupils": 0, "figures": 0, "headline": 0, "any": 0}
    for tid in sorted(set(old) | set(new)):
        a, b = old.get(tid), new.get(tid)
        if a is None or b is None:
            changed["any"] += 1
            continue
        fa, fb = a["figures"], b["figures"]
        assert isinstance(fa, dict) and isinstance(fb, dict)
        f = set(fa) != set(fb) or any(abs(fa[k] - fb[k]) > 1e-9 for k in fa)
        h = a["ks2"] != b["ks2"] or a["ks4"] != b["ks4"]
        m, p = a["members"] != b["members"], a["pupils"] != b["pupils"]
        changed["members"] += m
        changed["pupils"] += p
        changed["figures"] += f
        changed["headline"] += h
        changed["any"] += m or p or f or h
    result = {"trusts_old": len(old), "trusts_new": len(new), "changed": changed}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
