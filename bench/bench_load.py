"""Load benchmark: the real site under gunicorn, 50 concurrent connections, a mix of pages and API calls.

    .venv/bin/python bench/bench_load.py [--database-url URL] [--concurrency 50] [--requests 6000] [--seconds 60]

1. Samples real towns, postcode districts and URNs from the database (default: db.sqlite3 at the repo root,
   or $DATABASE_URL); stops with a clear message when it holds no schools (run `make data`).
2. Starts `schoolpartners serve` on a free loopback port (gunicorn; --workers/--threads passed through) and
   waits until /healthz answers.
3. Warm-up (not recorded), then a quiet phase: a few sequential requests per endpoint (unloaded latency).
4. Load phase: an asyncio + httpx generator keeps --concurrency requests in flight over a weighted mix of
   search pages (/schools/?q=<town|district>), school pages (/schools/<urn>/), the API
   (/api/schools?q=<town>, /api/schools/<urn>) and the plain baseline /healthz, until --requests have been
   sent or --seconds have passed, whichever comes first. Loopback only.
5. Prints per endpoint: requests, errors, throughput, p50/p95/p99 latency, and the ratio
   p95(search page) / p95(baseline) measured in the same run; writes bench/results/load.json.

With --wrk (and `wrk` installed) it also runs wrk for a few seconds against one search page and the baseline;
the Python generator stays the figure of record.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DB = f"sqlite:///{ROOT / 'db.sqlite3'}"

# name -> weight in the load mix
MIX = {
    "search_page": 3,
    "school_page": 3,
    "api_search": 2,
    "api_school": 2,
    "baseline": 1,
}


# --- data sample ---------------------------------------------------------------------------------------------


@dataclass
class Sample:
    schools: int
    queries: list[str]  # towns and postcode districts
    urns: list[int]


def sample_database(database_url: str, seed: int, n_queries: int = 3000, n_urns: int = 5000) -> Sample:
    """Real towns, postcode districts and URNs from the database the server will use."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connections
    from django.db.models import Count
    from django.db.utils import DatabaseError

    from schools.models import School

    try:
        total = School.objects.count()
    except DatabaseError as exc:
        raise SystemExit(
            f"bench_load: cannot read schools from {redact(database_url)}: {exc}\nRun `make data`."
        ) from exc
    if total == 0:
        raise SystemExit(
            f"bench_load: the database {redact(database_url)} holds no schools.\n"
            "Load the national data first: `make data` (or `schoolpartners migrate && schoolpartners import --all`)."
        )
    rng = random.Random(seed)
    towns = list(
        School.objects.exclude(town="")
        .values_list("town", flat=True)
        .annotate(n=Count("urn"))
        .filter(n__gte=3)
        .order_by("town")
    )
    districts = list(
        School.objects.exclude(postcode_district="")
        .values_list("postcode_district", flat=True)
        .distinct()
        .order_by("postcode_district")
    )
    queries = rng.sample(towns, min(len(towns), n_queries * 2 // 3))
    queries += rng.sample(districts, min(len(districts), n_queries - len(queries)))
    urns = list(School.objects.values_list("urn", flat=True).order_by("urn"))
    picked = rng.sample(urns, min(len(urns), n_urns))
    connections.close_all()
    return Sample(schools=total, queries=queries or ["London"], urns=picked)


def redact(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


# --- server --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    database_url: str, port: int, workers: int | None, threads: int, log: Path
) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("schoolpartners")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "schoolpartners.cli"]
    cmd += ["serve", "--port", str(port), "--threads", str(threads)]
    if workers:
        cmd += ["--workers", str(workers)]
    env = dict(os.environ, DATABASE_URL=database_url, DEBUG="0", LOG_LEVEL="WARNING")
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # production mode refuses to start without one
    with log.open("wb") as fh:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> float:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(
                f"bench_load: the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(
        f"bench_load: the server did not answer /healthz within {timeout:.0f} s:\n{log.read_text()[-3000:]}"
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # gunicorn arbiter: graceful shutdown of its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- load generator ------------------------------------------------------------------------------------------


def make_url(endpoint: str, sample: Sample, rng: random.Random) -> str:
    if endpoint == "search_page":
        return f"/schools/?q={quote_plus(rng.choice(sample.queries))}"
    if endpoint == "school_page":
        return f"/schools/{rng.choice(sample.urns)}/"
    if endpoint == "api_search":
        return f"/api/schools?q={quote_plus(rng.choice(sample.queries))}"
    if endpoint == "api_school":
        return f"/api/schools/{rng.choice(sample.urns)}"
    if endpoint == "baseline":
        return "/healthz"
    raise ValueError(endpoint)


@dataclass
class Record:
    latencies: list[float] = field(default_factory=list)  # seconds, every completed request (errors too)
    errors: int = 0
    cache_hits: int = 0  # responses served from the whole-page cache (X-Page-Cache: hit)
    statuses: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)


async def run_load(
    base: str,
    sample: Sample,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    seed: int,
    mix: dict[str, int],
) -> tuple[dict[str, Record], float]:
    import httpx

    records: dict[str, Record] = {name: Record() for name in mix}
    names, weights = list(mix), list(mix.values())
    issued = 0
    deadline = time.perf_counter() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:

        async def worker(wid: int) -> None:
            nonlocal issued
            rng = random.Random(seed * 1000 + wid)
            while issued < max_requests and time.perf_counter() < deadline:
                issued += 1
                name = rng.choices(names, weights)[0]
                url = make_url(name, sample, rng)
                rec = records[name]
                t0 = time.perf_counter()
                try:
                    resp = await client.get(url)
                    await resp.aread()
                    status = str(resp.status_code)
                    ok = resp.status_code == 200
                    rec.cache_hits += resp.headers.get("X-Page-Cache") == "hit"
                except httpx.HTTPError as exc:
                    status, ok = type(exc).__name__, False
                rec.latencies.append(time.perf_counter() - t0)
                rec.statuses[status] += 1
                if not ok:
                    rec.errors += 1
                    if len(rec.error_examples) < 5:
                        rec.error_examples.append(f"{status} {url}")

        t_start = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - t_start
    return records, elapsed


def quiet_phase(base: str, sample: Sample, per_endpoint: int, seed: int) -> dict[str, Record]:
    """Sequential requests, one at a time: latency with no contention (and warm workers/caches)."""
    import httpx

    rng = random.Random(seed)
    records: dict[str, Record] = {name: Record() for name in MIX}
    with httpx.Client(base_url=base, timeout=60.0) as client:
        for name in MIX:
            for _ in range(per_endpoint):
                url = make_url(name, sample, rng)
                t0 = time.perf_counter()
                try:
                    resp = client.get(url)
                    status = str(resp.status_code)
                    records[name].cache_hits += resp.headers.get("X-Page-Cache") == "hit"
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                records[name].latencies.append(time.perf_counter() - t0)
                records[name].statuses[status] += 1
                if status != "200":
                    records[name].errors += 1
                    if len(records[name].error_examples) < 5:
                        records[name].error_examples.append(f"{status} {url}")
    return records


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k] * 1000


def summarise(rec: Record, elapsed: float | None) -> dict[str, Any]:
    lat = rec.latencies
    out: dict[str, Any] = {
        "requests": len(lat),
        "errors": rec.errors,
        "statuses": dict(rec.statuses),
        "page_cache_hits": rec.cache_hits,
        "p50_ms": round(percentile(lat, 50), 2),
        "p95_ms": round(percentile(lat, 95), 2),
        "p99_ms": round(percentile(lat, 99), 2),
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else None,
        "max_ms": round(max(lat) * 1000, 2) if lat else None,
    }
    if elapsed:
        out["throughput_rps"] = round(len(lat) / elapsed, 1)
    if rec.error_examples:
        out["error_examples"] = rec.error_examples
    return out


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 1) if b and b == b and a == a else None


# --- wrk (optional) ------------------------------------------------------------------------------------------


def run_wrk(base: str, sample: Sample, concurrency: int, seconds: int) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if not wrk:
        return {"skipped": "wrk not installed"}
    out: dict[str, Any] = {}
    rng = random.Random(2)
    # Distinct search pages in turn (a single URL would be answered by the whole-page cache after the first hit).
    paths = [make_url("search_page", sample, rng) for _ in range(5000)]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write("paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n")
        fh.write(
            "i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n"
        )
        script = fh.name
    for name, path, extra in (
        ("baseline", "/healthz", []),
        ("search_page", "/schools/?q=...", ["-s", script]),
    ):
        proc = subprocess.run(
            [wrk, "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", *extra, base + "/healthz"],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
        )
        out[name] = {"url": path, "output": proc.stdout.strip().splitlines()}
    os.unlink(script)
    return out


# --- main ----------------------------------------------------------------------------------------------------


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return ""


def print_table(title: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(
        f"  {'endpoint':<13} {'requests':>8} {'errors':>6} {'cached':>6} {'req/s':>8} "
        f"{'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}"
    )
    for name, r in rows.items():
        rps = r.get("throughput_rps", "")
        print(
            f"  {name:<13} {r['requests']:>8} {r['errors']:>6} {r['page_cache_hits']:>6} {rps!s:>8} "
            f"{r['p50_ms']:>9.1f} {r['p95_ms']:>9.1f} {r['p99_ms']:>9.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--requests", type=int, default=6000, help="upper bound on requests in the load phase"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="upper bound on the load phase duration")
    parser.add_argument(
        "--quiet-requests", type=int, default=10, help="sequential requests per endpoint first"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default: serve's 2 x cores + 1)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--wrk", action="store_true", help="also run wrk (if installed) for a few seconds")
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.seconds <= 0 or args.concurrency < 1:
        parser.error("--requests, --seconds and --concurrency must be positive")

    sample = sample_database(args.database_url, args.seed)
    print(
        f"bench_load: {sample.schools:,} schools in {redact(args.database_url)}; "
        f"{len(sample.queries)} search terms, {len(sample.urns)} URNs sampled"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkstemp(prefix="bench_load_server_", suffix=".log")[1])
    proc = start_server(args.database_url, port, args.workers, args.threads, log)
    try:
        boot = wait_ready(base, proc, log)
        print(f"server ready on {base} in {boot:.1f} s (log {log})")
        # Warm-up (not recorded): every worker opens its database connection, fills its page cache and
        # computes its per-process cached filter options before anything is measured.
        workers = args.workers or 2 * (os.cpu_count() or 1) + 1
        asyncio.run(
            run_load(
                base,
                sample,
                min(args.concurrency, 2 * workers),
                20 * workers * args.threads,
                30.0,
                args.seed + 1,
                MIX,
            )
        )
        load_before = os.getloadavg()[0]
        quiet = {
            n: summarise(r, None)
            for n, r in quiet_phase(base, sample, args.quiet_requests, args.seed).items()
        }
        print_table(f"Quiet phase: {args.quiet_requests} sequential requests per endpoint", quiet)

        records, elapsed = asyncio.run(
            run_load(base, sample, args.concurrency, args.requests, args.seconds, args.seed, MIX)
        )
        load = {n: summarise(r, elapsed) for n, r in records.items()}
        all_lat = Record(
            latencies=[x for r in records.values() for x in r.latencies],
            errors=sum(r.errors for r in records.values()),
        )
        overall = summarise(all_lat, elapsed)
        print_table(
            f"Load phase: {args.concurrency} concurrent connections, {overall['requests']} requests in {elapsed:.1f} s "
            f"({overall['throughput_rps']} req/s, {overall['errors']} errors)",
            load,
        )
        load_after = os.getloadavg()[0]
        wrk = run_wrk(base, sample, args.concurrency, 5) if args.wrk else None
    finally:
        stop_server(proc)

    ratios = {
        f"p95_{name}_over_baseline": ratio(load[name]["p95_ms"], load["baseline"]["p95_ms"])
        for name in MIX
        if name != "baseline"
    }
    quiet_ratios = {
        f"p95_{name}_over_baseline": ratio(quiet[name]["p95_ms"], quiet["baseline"]["p95_ms"])
        for name in MIX
        if name != "baseline"
    }
    headline = ratios["p95_search_page_over_baseline"]
    print(
        f"\nmachine: {os.cpu_count()} CPUs, 1-min load average {load_before:.1f} before / {load_after:.1f} after "
        "the load phase (the generator shares the machine with the server)"
    )
    print(
        f"\nRatio p95(search page) / p95(baseline /healthz), same run under load: {headline}x "
        f"({load['search_page']['p95_ms']:.1f} ms / {load['baseline']['p95_ms']:.1f} ms); "
        f"unloaded: {quiet_ratios['p95_search_page_over_baseline']}x"
    )
    errors = sum(r["errors"] for r in load.values())
    if errors:
        print(
            f"WARNING: {errors} failed requests; examples: "
            + "; ".join(e for r in load.values() for e in r.get("error_examples", [])[:2])
        )

    result = {
        "benchmark": "load",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_1min_before": round(load_before, 2),
            "loadavg_1min_after": round(load_after, 2),
        },
        "database": redact(args.database_url),
        "schools": sample.schools,
        "server": {
            "command": "schoolpartners serve",
            "workers": workers,
            "threads": args.threads,
            "boot_seconds": round(boot, 2),
        },
        "load": {
            "concurrency": args.concurrency,
            "max_requests": args.requests,
            "max_seconds": args.seconds,
            "elapsed_seconds": round(elapsed, 2),
            "mix": MIX,
            "generator": "python asyncio + httpx",
        },
        "endpoints": load,
        "overall": overall,
        "quiet": quiet,
        "baseline": "/healthz (no database, no template)",
        "ratio": headline,
        "ratios": ratios,
        "quiet_ratios": quiet_ratios,
    }
    if wrk is not None:
        result["wrk"] = wrk
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
