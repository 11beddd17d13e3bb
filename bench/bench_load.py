"""Load benchmark of record: the real site under gunicorn, driven by wrk, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_load.py [--sqlite-url URL] [--postgres-url URL] [--databases sqlite,postgres]
                                         [--seconds 15] [--connections 50] [--workers N] [--profile]

For each database (SQLite: db.sqlite3 at the repo root loaded by `make data`; PostgreSQL: --postgres-url,
$BENCH_POSTGRES_URL or the Makefile's PG_URL; a database that holds no schools is reported as skipped):

1. Samples (seeded) thousands of real URNs, towns and postcode districts from that database and writes them as
   request paths, one file per scenario, for the Lua script bench/wrk/rotate.lua.
2. Starts the server as `schoolpartners serve` does (gunicorn, its default 2 x cores + 1 sync workers, no job
   worker) on a free loopback port, DEBUG=0, and waits for /healthz. A short warm-up (not recorded) lets each
   worker open its database connection and fill its per-process caches (filter options).
3. Runs wrk (`-t2 -c50 -d15s --timeout 2s --latency`) once per scenario:
   - `healthz`: /healthz, no database and no template (the bare stack: gunicorn, WSGI, middleware);
   - `cached`: one search page again and again (whole-page cache hits after the first request);
   - `school_pages`: /schools/<urn>/ over thousands of distinct URNs (page-cache misses);
   - `search_pages`: /schools/?q=<town or district> over thousands of distinct queries (misses);
   - `api_search`: /api/schools?q=<town or district> over thousands of distinct queries (misses).
   wrk runs on the same two cores as the server (loopback only): it is far cheaper than a Python generator,
   but it still takes CPU from the server.
4. Prints the table (scenario, req/s, p50, p95, p99, errors, timeouts) for both databases, the targets
   (issue 13) and whether each is met, and the ratio of each scenario's throughput to /healthz measured in the
   same run; writes bench/results/load.json. With --profile, for each scenario that misses its target it
   records one gunicorn worker with py-spy while wrk repeats the scenario, and writes the top functions (own
   and total samples) to bench/results/load_profile.json.

Exit status 1 if any request failed or timed out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk" / "rotate.lua"
DEFAULT_SQLITE = f"sqlite:///{ROOT / 'db.sqlite3'}"
DEFAULT_POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/schoolpartners")
PCTS = ("p50", "p90", "p95", "p99", "max")
SCENARIOS = ["healthz", "cached", "school_pages", "search_pages", "api_search"]
# Targets of issue 13 (2 cores, 50 connections): (min req/s, max p95 ms or None).
TARGETS: dict[str, tuple[float, float | None]] = {
    "school_pages": (300, 250),
    "search_pages": (300, 250),
    "api_search": (300, 250),
    "cached": (1500, None),
}


# --- data sample (in a subprocess per database: Django is configured once per process) ------------------------

SAMPLE_CODE = r"""
import json, os, random, sys
import django
django.setup()
from django.db.models import Count
from schools.models import School
seed, n_urns, n_queries = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
total = School.objects.count()
rng = random.Random(seed)
towns = list(School.objects.exclude(town="").values_list("town", flat=True).annotate(n=Count("urn"))
             .filter(n__gte=1).order_by("town"))
districts = list(School.objects.exclude(postcode_district="").values_list("postcode_district", flat=True)
                 .distinct().order_by("postcode_district"))
queries = rng.sample(towns, min(len(towns), n_queries * 2 // 3))
queries += rng.sample(districts, min(len(districts), n_queries - len(queries)))
rng.shuffle(queries)
urns = list(School.objects.values_list("urn", flat=True).order_by("urn"))
print(json.dumps({"schools": total, "urns": rng.sample(urns, min(len(urns), n_urns)), "queries": queries}))
"""


def sample_database(url: str, seed: int, n_urns: int, n_queries: int) -> dict[str, Any] | str:
    env = dict(
        os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="schoolpartners.settings", PYTHONPATH=str(ROOT)
    )
    env.setdefault("DEBUG", "1")  # only a read of the register here; the server itself runs with DEBUG=0
    proc = subprocess.run(
        [sys.executable, "-c", SAMPLE_CODE, str(seed), str(n_urns), str(n_queries)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        return f"cannot read schools from {redact(url)}: {proc.stderr.strip().splitlines()[-1:]}"
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if not data["schools"]:
        return f"{redact(url)} holds no schools (run `make data` / the import commands against it)"
    return data


def redact(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url


def scenario_paths(sample: dict[str, Any]) -> dict[str, list[str]]:
    queries = sample["queries"]
    return {
        "healthz": ["/healthz"],
        "cached": [f"/schools/?q={quote_plus(queries[0])}"],
        "school_pages": [f"/schools/{u}/" for u in sample["urns"]],
        "search_pages": [f"/schools/?q={quote_plus(q)}" for q in queries],
        "api_search": [f"/api/schools?q={quote_plus(q)}" for q in reversed(queries)],
    }


# --- server --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, workers: int | None, log: Path) -> subprocess.Popen[bytes]:
    """`schoolpartners serve` (which execs gunicorn with the same process id), without the job worker."""
    exe = Path(sys.executable).with_name("schoolpartners")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "schoolpartners.cli"]
    cmd += ["serve", "--port", str(port), "--no-worker"]
    if workers:
        cmd += ["--workers", str(workers)]
    env = dict(os.environ, DATABASE_URL=url, DEBUG="0", LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # production mode refuses to start without one
    with log.open("wb") as fh:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)


def get(base: str, path: str, timeout: float = 30) -> int:
    import httpx

    try:
        return httpx.get(base + path, timeout=timeout).status_code
    except httpx.HTTPError:
        return 0


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(
                f"bench_load: the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        if get(base, "/healthz", 2) == 200:
            return time.perf_counter() - started
        time.sleep(0.2)
    raise SystemExit(f"bench_load: no /healthz within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # gunicorn arbiter: graceful shutdown of its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def worker_pids(arbiter: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(arbiter)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


# --- wrk -----------------------------------------------------------------------------------------------------


def run_wrk(
    wrk: str, base: str, paths_file: Path, seconds: int, connections: int, threads: int
) -> dict[str, Any]:
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "2s",
        "--latency",
        "-s",
        str(LUA),
        base,
        "--",
        str(paths_file),
        str(threads),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"^WRK_JSON (\{.*\})$", proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        return {"failed": (proc.stdout + proc.stderr)[-2000:]}
    raw = json.loads(m.group(1))
    if raw["max_us"] == 0:  # no response completed in time: wrk's latency histogram is empty
        for k in ("p50_us", "p90_us", "p95_us", "p99_us", "max_us"):
            raw[k] = None
    secs = raw["duration_us"] / 1e6
    errors = raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["status_errors"]
    return {
        "requests": raw["requests"],
        "seconds": round(secs, 2),
        "rps": round(raw["requests"] / secs, 1) if secs else 0.0,
        **{f"{k}_ms": None if raw[f"{k}_us"] is None else round(raw[f"{k}_us"] / 1000, 1) for k in PCTS},
        "errors": errors,
        "timeouts": raw["timeouts"],
        "statuses": raw["statuses"],
        "error_detail": {
            k: raw[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors")
        },
        "distinct_paths": sum(1 for _ in paths_file.open()),
    }


def verdict(name: str, r: dict[str, Any]) -> bool | None:
    if name not in TARGETS or "rps" not in r:
        return None
    rps, p95 = TARGETS[name]
    fast = p95 is None or (r["p95_ms"] is not None and r["p95_ms"] <= p95)
    return r["rps"] >= rps and fast and r["errors"] == 0 and r["timeouts"] == 0


def settle(base: str, limit: float = 30.0) -> float:
    """Wait until the requests still queued from the previous scenario are served (gunicorn's sync workers
    finish every accepted request, even one whose client gave up), so a scenario does not pay for the one before:
    /healthz must answer within 50 ms three times in a row. Returns the seconds waited."""
    import httpx

    started, quick = time.perf_counter(), 0
    while quick < 3 and time.perf_counter() - started < limit:
        t0 = time.perf_counter()
        try:
            ok = httpx.get(base + "/healthz", timeout=limit).status_code == 200
        except httpx.HTTPError:
            ok = False
        quick = quick + 1 if ok and time.perf_counter() - t0 < 0.05 else 0
        time.sleep(0.1)
    return round(time.perf_counter() - started, 1)


# --- py-spy profile of a missed target ---------------------------------------------------------------------------


def profile_scenario(
    wrk: str, base: str, paths_file: Path, arbiter: int, seconds: int, connections: int, threads: int
) -> dict[str, Any]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return {"skipped": "py-spy not installed (.venv/bin/pip install py-spy)"}
    pids = worker_pids(arbiter)
    if not pids:
        return {"skipped": "no gunicorn worker found"}
    out = Path(tempfile.mkstemp(prefix="bench_load_spy_", suffix=".txt")[1])
    rec = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pids[0]),
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    run_wrk(wrk, base, paths_file, seconds, connections, threads)
    _, err = rec.communicate(timeout=120)
    if rec.returncode != 0 or not out.exists() or not out.stat().st_size:
        return {"skipped": f"py-spy failed: {err.decode(errors='replace')[-500:]}"}
    return summarise_stacks(out.read_text())


ROOT_FRAMES = re.compile(r"\((gunicorn/|<frozen runpy>)")


def summarise_stacks(raw: str, top: int = 25) -> dict[str, Any]:
    """Collapsed stacks ("f1;f2;f3 count") -> total samples, top functions by own and by inclusive samples,
    and the share of samples under a few known parts of the stack."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r" \(/.*?/(site-packages|search)/", " (", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            if not ROOT_FRAMES.search(f):  # the worker loop every sample shares says nothing
                inclusive[f] += n
    parts = {
        "Django templates (django/template)": "django/template/",
        "ORM: building, compiling, instances (django/db/models)": "django/db/models/",
        "database driver execute": "execute (django/db/backends",
        "socket write of the response (gunicorn util.write)": "write (gunicorn/util.py",
        "middleware and handlers (django/core, csp, whitenoise)": "django/core/handlers",
    }
    shares = {}
    for label, needle in parts.items():
        hit = sum(
            int(c)
            for s, _, c in (ln.rpartition(" ") for ln in raw.splitlines())
            if c.isdigit() and needle in s
        )
        shares[label] = round(100 * hit / total, 1) if total else 0.0
    return {
        "samples": total,
        "share_percent": shares,
        "top_own": [{"function": f, "percent": round(100 * n / total, 1)} for f, n in own.most_common(top)],
        "top_inclusive": [
            {"function": f, "percent": round(100 * n / total, 1)} for f, n in inclusive.most_common(top)
        ],
    }


# --- one database --------------------------------------------------------------------------------------------


def bench_database(label: str, url: str, args: argparse.Namespace, wrk: str) -> dict[str, Any]:
    sample = sample_database(url, args.seed, args.urns, args.queries)
    if isinstance(sample, str):
        print(f"\n{label}: skipped: {sample}")
        return {"database": redact(url), "skipped": sample}
    tmp = Path(tempfile.mkdtemp(prefix=f"bench_load_{label}_"))
    files = {}
    for name, paths in scenario_paths(sample).items():
        files[name] = tmp / f"{name}.txt"
        files[name].write_text("\n".join(paths) + "\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    proc = start_server(url, port, args.workers, log)
    out: dict[str, Any] = {"database": redact(url), "schools": sample["schools"]}
    try:
        boot = wait_ready(base, proc, log)
        workers = len(worker_pids(proc.pid))
        # Warm-up (not recorded, paths not used by the runs below except the cached page).
        warm = tmp / "warm.txt"
        warm.write_text(
            "\n".join(
                [f"/schools/?q={quote_plus(q)}" for q in random.Random(7).sample(sample["queries"], 20)]
                + ["/schools/", "/api/schools?q=a", scenario_paths(sample)["cached"][0]]
            )
            + "\n"
        )
        run_wrk(wrk, base, warm, args.warmup, min(args.connections, 2 * workers), 1)
        load_before = os.getloadavg()[0]
        runs: dict[str, Any] = {}
        for name in SCENARIOS:
            waited = settle(base)
            r = run_wrk(wrk, base, files[name], args.seconds, args.connections, args.wrk_threads)
            r["target_met"] = verdict(name, r)
            r["settle_seconds_before"] = waited
            runs[name] = r
        load_after = os.getloadavg()[0]
        profiles = {}
        if args.profile:
            for name in SCENARIOS:
                if runs[name].get("target_met") is False:
                    settle(base)
                    profiles[name] = profile_scenario(
                        wrk,
                        base,
                        files[name],
                        proc.pid,
                        min(args.seconds, 10),
                        args.connections,
                        args.wrk_threads,
                    )
        base_rps = runs["healthz"].get("rps") or 0
        out.update(
            {
                "server": {
                    "command": "schoolpartners serve --no-worker",
                    "workers": workers,
                    "boot_seconds": round(boot, 1),
                },
                "loadavg_1min_before": round(load_before, 2),
                "loadavg_1min_after": round(load_after, 2),
                "scenarios": runs,
                "ratios_rps_over_healthz": {
                    n: round(r["rps"] / base_rps, 3)
                    for n, r in runs.items()
                    if n != "healthz" and base_rps and "rps" in r
                },
            }
        )
        if profiles:
            out["profiles"] = profiles
    finally:
        stop_server(proc)
    return out


def cell(value: float | None) -> str:
    return f"{value:8,.1f}" if value is not None else f"{'—':>8}"


def print_table(results: dict[str, Any]) -> None:
    print(
        f"\n{'database':10} {'scenario':13} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'timeouts':>8}  target"
    )
    for label, res in results.items():
        if "skipped" in res:
            print(f"{label:10} skipped: {res['skipped']}")
            continue
        for name, r in res["scenarios"].items():
            if "rps" not in r:
                print(f"{label:10} {name:13} wrk failed: {r.get('failed', '')[:200]}")
                continue
            t = TARGETS.get(name)
            target = "" if t is None else f"≥ {t[0]:,.0f} req/s" + (f", p95 ≤ {t[1]:.0f} ms" if t[1] else "")
            met = {True: "met", False: "MISSED", None: ""}[r["target_met"]]
            print(
                f"{label:10} {name:13} {r['rps']:8,.1f} {cell(r['p50_ms'])} {cell(r['p95_ms'])} {cell(r['p99_ms'])} "
                f"{r['errors']:7,d} {r['timeouts']:8,d}  {target} {met}"
            )


def git_commit() -> str | None:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_profiles(result: dict[str, Any], path: Path) -> None:
    """The py-spy summaries of the scenarios that missed their target, on their own (bench/results/)."""
    profiles = {
        db: res["profiles"]
        for db, res in result["databases"].items()
        if isinstance(res.get("profiles"), dict)
    }
    if profiles:
        summary = {"benchmark": "load_profile", "when": result["when"], "commit": result["commit"]}
        path.write_text(json.dumps({**summary, "profiles": profiles}, indent=2) + "\n")
        print(f"wrote {path.name} (py-spy: where the time goes in the scenarios that missed their target)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sqlite-url", default=DEFAULT_SQLITE)
    ap.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    ap.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    ap.add_argument("--seconds", type=int, default=15, help="wrk duration per scenario")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default: serve's 2 x cores + 1)"
    )
    ap.add_argument("--urns", type=int, default=5000, help="distinct URNs for school pages")
    ap.add_argument("--queries", type=int, default=3000, help="distinct search terms")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=10, help="seconds of warm-up (not recorded)")
    ap.add_argument(
        "--profile", action="store_true", help="py-spy profile of each scenario that misses its target"
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = ap.parse_args(argv)
    wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("bench_load: wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    urls = {"sqlite": args.sqlite_url, "postgres": args.postgres_url}
    results = {}
    for label in [d.strip() for d in args.databases.split(",") if d.strip()]:
        print(f"\n== {label}: {redact(urls[label])}")
        results[label] = bench_database(label, urls[label], args, wrk)
    print_table(results)
    result = {
        "benchmark": "load",
        "generator": "wrk (bench/wrk/rotate.lua)",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "wrk": {
            "connections": args.connections,
            "threads": args.wrk_threads,
            "seconds": args.seconds,
            "timeout_s": 2,
        },
        "targets": {k: {"min_rps": v[0], "max_p95_ms": v[1]} for k, v in TARGETS.items()},
        "baseline": "/healthz (no database, no template), same server, same run",
        "databases": results,
        "ratios": {  # for bench/run_all.py's summary: throughput of each scenario over /healthz's, same server
            f"{db}_{name}_rps_over_healthz": value
            for db, res in results.items()
            for name, value in res.get("ratios_rps_over_healthz", {}).items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    write_profiles(result, args.out.with_name(args.out.stem + "_profile.json"))
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    failed = sum(
        r.get("errors", 0) + r.get("timeouts", 0)
        for res in results.values()
        for r in res.get("scenarios", {}).values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
