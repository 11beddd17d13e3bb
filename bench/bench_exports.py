"""Whole-register exports under load (issue 18, row 3): does a cheap request keep answering while 20 anonymous
clients download `/schools/export.{csv,xlsx}` at once?

    .venv/bin/python bench/bench_exports.py [--database-url URL] [--workers 5] [--exports 20] [--probe-seconds 10]
                                            [--no-in-request]

Serves the app as `make run` does (`schoolpartners serve`: gunicorn with --workers and one job worker) against the
database (default: db.sqlite3 with the national data, `make data`), with a fresh export folder, and measures the
latency of `GET /api/schools?q=` (one client, back to back):

1. `idle`: for --probe-seconds with nothing else running (the plain baseline);
2. `exports`: while --exports parallel downloads of the whole register run (half CSV, half XLSX), from their start
   until the last answer and the built files are served; the downloads' statuses are counted;
3. `in_request` (unless --no-in-request): the same with EXPORT_ROW_BUDGET above the register's size, i.e. every
   download built inside its web request as before issue 18 (the reproduction: 5xx and timeouts).

Prints p50/p95/max per phase and the ratio of the p95 during the exports to the idle p95; writes
bench/results/exports.json. Target: no 5xx, probe p95 < 1 s during the exports.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PROBE = "/api/schools?q="
TARGET_P95_S = 1.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    database_url: str, workers: int, export_dir: Path, budget: int | None, log: Path
) -> tuple[Any, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        EXPORT_CACHE_DIR=str(export_dir),
        EXPENSIVE_THROTTLE="1000/min",
        CACHE_KEY_PREFIX=f"bench-exports-{secrets.token_hex(4)}",
        PYTHONPATH=str(ROOT),
    )
    env.pop("DEBUG", None)
    if budget is not None:
        env["EXPORT_ROW_BUDGET"] = str(budget)
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "schoolpartners.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"the server did not start: {log.read_text()[-2000:]}")


def stop(proc: Any) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def summary(latencies: list[float], failures: int) -> dict[str, Any]:
    ordered = sorted(latencies)

    def rank(p: float) -> float | None:  # nearest-rank percentile of the answered requests, in ms
        return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)] * 1000, 1) if ordered else None

    return {
        "requests": len(ordered) + failures,
        "ok": len(ordered),
        "failed": failures,
        "p50_ms": rank(0.50),
        "p95_ms": rank(0.95),
        "max_ms": rank(1.0),
    }


def probe_until(url: str, done: threading.Event, seconds: float | None = None) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    end = time.monotonic() + seconds if seconds else None
    with httpx.Client(base_url=url, timeout=30) as c:
        while (end is None and not done.is_set()) or (end is not None and time.monotonic() < end):
            t = time.perf_counter()
            try:
                ok = c.get(PROBE).status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - t)
            else:
                failures += 1
    return summary(latencies, failures)


def exports_phase(url: str, n: int, wait_for_files: bool) -> dict[str, Any]:
    done = threading.Event()
    result: dict[str, Any] = {}
    prober = threading.Thread(target=lambda: result.update(probe=probe_until(url, done)))
    prober.start()
    t0 = time.perf_counter()

    def one(i: int) -> int | str:
        try:
            with httpx.Client(base_url=url, timeout=120) as c:
                return c.get(f"/schools/export.{('csv', 'xlsx')[i % 2]}").status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=n) as pool:
        statuses = list(pool.map(one, range(n)))
    files_s = None
    if wait_for_files:
        with httpx.Client(base_url=url, timeout=120) as c:
            ready: set[str] = set()
            deadline = time.monotonic() + 600
            while len(ready) < 2 and time.monotonic() < deadline:
                for fmt in ("csv", "xlsx"):
                    if fmt not in ready and c.get(f"/schools/export.{fmt}").status_code == 200:
                        ready.add(fmt)
                time.sleep(0.5)
            files_s = round(time.perf_counter() - t0, 1) if len(ready) == 2 else None
    done.set()
    prober.join()
    counts: dict[str, int] = {}
    for s in statuses:
        counts[str(s)] = counts.get(str(s), 0) + 1
    return {
        "statuses": counts,
        "server_errors": sum(1 for s in statuses if not isinstance(s, int) or s >= 500),
        "seconds_until_files_served": files_s,
        "probe": result["probe"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", f"sqlite:///{ROOT / 'db.sqlite3'}")
    )
    ap.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    ap.add_argument("--exports", type=int, default=20)
    ap.add_argument("--probe-seconds", type=float, default=10)
    ap.add_argument("--no-in-request", action="store_true")
    args = ap.parse_args()
    out: dict[str, Any] = {
        "benchmark": "exports",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_start": os.getloadavg(),
        },
        "database": args.database_url.split(":", 1)[0],
        "workers": args.workers,
        "exports": args.exports,
        "probe": PROBE,
    }
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start(args.database_url, args.workers, Path(tmp) / "exports", None, Path(tmp) / "a.log")
        try:
            out["idle"] = probe_until(url, threading.Event(), args.probe_seconds)
            out["cached_file"] = exports_phase(url, args.exports, wait_for_files=True)
        finally:
            stop(proc)
        if not args.no_in_request:
            proc, url = start(args.database_url, args.workers, Path(tmp) / "e2", 10**9, Path(tmp) / "b.log")
            try:
                out["in_request"] = exports_phase(url, args.exports, wait_for_files=False)
            finally:
                stop(proc)
    out["machine"]["load_end"] = os.getloadavg()
    idle, during = out["idle"]["p95_ms"], out["cached_file"]["probe"]["p95_ms"]
    out["ratio_p95_during_exports_to_idle"] = round(during / idle, 2) if idle and during else None
    out["target_met"] = bool(
        during is not None
        and during < TARGET_P95_S * 1000
        and out["cached_file"]["server_errors"] == 0
        and out["cached_file"]["probe"]["failed"] == 0
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "exports.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"idle probe {PROBE}: p50 {out['idle']['p50_ms']} ms, p95 {idle} ms")
    for phase in ("cached_file", "in_request"):
        if phase in out:
            p = out[phase]
            print(
                f"{phase}: {args.exports} exports {p['statuses']}, 5xx/errors {p['server_errors']}; probe p95 "
                f"{p['probe']['p95_ms']} ms, max {p['probe']['max_ms']} ms, failed {p['probe']['failed']}"
                f"/{p['probe']['requests']}"
            )
    print(
        f"probe p95 during the exports is {out['ratio_p95_during_exports_to_idle']}x the idle p95; "
        f"target (no 5xx, p95 < 1 s) {'met' if out['target_met'] else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
