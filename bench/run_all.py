"""Run every benchmark (bench/bench_*.py) in turn and print a summary; `make bench` calls this.

    .venv/bin/python bench/run_all.py [--only load,import] [--skip import] [--timeout 1800] [-- extra args]

Each script runs in its own process with the current environment (so DATABASE_URL etc. pass through), prints
its own report, and writes bench/results/<name>.json. The summary lists each script's exit status, its wall
time and the ratio(s) against its plain baseline read back from its results file. Exit status is non-zero if
any benchmark failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def bench_name(script: Path) -> str:
    return script.stem.removeprefix("bench_")


def ratios_of(data: Any, prefix: str = "") -> dict[str, Any]:
    """Every top-level (and one level nested) key that names a ratio, e.g. "ratio", "p95_..._over_baseline"."""
    out: dict[str, Any] = {}
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, (int, float)) and (
            "ratio" in key or "over_baseline" in key or key.endswith("_x")
        ):
            out[name] = value
        elif isinstance(value, dict) and not prefix and ("ratio" in key):
            out.update(ratios_of(value, prefix=f"{key}."))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every bench/bench_*.py and summarise.")
    parser.add_argument("--only", default="", help="comma-separated names to run (e.g. load,import)")
    parser.add_argument("--skip", default="", help="comma-separated names to skip")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per benchmark")
    args = parser.parse_args(argv)
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}

    scripts = [s for s in sorted(BENCH.glob("bench_*.py")) if (not only or bench_name(s) in only)]
    scripts = [s for s in scripts if bench_name(s) not in skip]
    if not scripts:
        print("no benchmarks to run")
        return 1
    summary: list[tuple[str, str, float, dict[str, Any]]] = []
    for script in scripts:
        name = bench_name(script)
        print(f"\n===== {script.relative_to(BENCH.parent)} =====", flush=True)
        started = time.perf_counter()
        try:
            rc = subprocess.run(
                [sys.executable, str(script)], cwd=BENCH.parent, timeout=args.timeout
            ).returncode
            status = "ok" if rc == 0 else f"exit {rc}"
        except subprocess.TimeoutExpired:
            status = f"timeout after {args.timeout:.0f} s"
        elapsed = time.perf_counter() - started
        ratios: dict[str, Any] = {}
        result_file = RESULTS / f"{name}.json"
        if result_file.exists() and result_file.stat().st_mtime >= time.time() - elapsed - 1:
            try:
                ratios = ratios_of(json.loads(result_file.read_text()))
            except (OSError, ValueError) as exc:
                ratios = {"unreadable": str(exc)}
        elif status == "ok":
            ratios = {"note": f"no fresh {result_file.relative_to(BENCH.parent)}"}
        summary.append((name, status, elapsed, ratios))

    print("\n===== Summary =====")
    print(f"{'benchmark':<14} {'status':<22} {'seconds':>8}  ratios against the plain baseline")
    for name, status, elapsed, ratios in summary:
        shown = ", ".join(f"{k}={v}" for k, v in ratios.items()) or "-"
        print(f"{name:<14} {status:<22} {elapsed:>8.1f}  {shown}")
    return 0 if all(status == "ok" for _, status, _, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
