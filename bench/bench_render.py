"""Render budget: server time of one request, single user, uncached, for the school page and the search pages.

    .venv/bin/python bench/bench_render.py [--sqlite-url URL] [--postgres-url URL] [--databases sqlite,postgres]
                                           [--n 200]

For each database (a subprocess each: Django is configured once per process), in one run:

- `school_page`: GET /schools/<urn>/ for `--n` distinct URNs sampled (seeded) from the database;
- `search_page`: GET /schools/?q=<town or postcode district> for `--n` distinct terms;
- `api_search`: GET /api/schools?q=<term> for the same terms;
- `healthz`: GET /healthz (no database, no template): the bare Django stack, the plain baseline;
- `search_page_like` / `api_search_like`: the same search requests with the search served by the plain
  pre-index query path (`bench/baseline_search.py`: LIKE '%term%' scans, COUNT + page) — the baseline the
  search index is measured against, in the same run.

Requests go through Django's test client (the whole middleware stack and template rendering, no network) with
DEBUG off; every URL is requested once, so the whole-page cache never answers (the per-process filter-option
cache is warmed first, as a running server's is). Each request's queries are counted (CaptureQueriesContext).
Prints p50/p95 and max queries per page and the ratios; writes bench/results/render.json. Target (issue 13):
school page and search pages <= 10 ms p50. Tests assert the query counts, never the times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_MS = 10.0


def measure(url: str, n: int, seed: int) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
    os.environ.setdefault("DEBUG", "1")
    sys.path.insert(0, str(ROOT))
    import random
    from unittest import mock
    from urllib.parse import quote_plus

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.baseline_search import like_search_page
    from schools.models import School

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    rng = random.Random(seed)
    urns = rng.sample(list(School.objects.values_list("urn", flat=True)), 3 * n + 10)
    towns = sorted(set(School.objects.exclude(town="").values_list("town", flat=True)))
    districts = sorted(
        set(School.objects.exclude(postcode_district="").values_list("postcode_district", flat=True))
    )
    terms = rng.sample(towns, min(len(towns), 3 * n)) + rng.sample(districts, min(len(districts), n + 10))
    rng.shuffle(terms)
    client = Client()
    for path in ("/healthz", "/schools/", "/schools/?q=warm", "/api/schools?q=warm", f"/schools/{urns[-1]}/"):
        client.get(path)  # per-process caches (filter options, result years), as a running server has them

    def run(paths: list[str]) -> dict[str, Any]:
        times, counts = [], []
        for path in paths:
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - t0)
            assert response.status_code == 200, (path, response.status_code)
            assert response.get("X-Page-Cache") != "hit", path
            counts.append(len(ctx.captured_queries))
        ordered = sorted(times)
        return {
            "requests": len(times),
            "p50_ms": round(statistics.median(times) * 1000, 2),
            "p95_ms": round(ordered[max(0, int(0.95 * len(ordered)) - 1)] * 1000, 2),
            "mean_ms": round(statistics.fmean(times) * 1000, 2),
            "max_queries": max(counts),
            "median_queries": statistics.median(counts),
        }

    out: dict[str, Any] = {"schools": School.objects.count(), "vendor": connection.vendor}
    load_before = os.getloadavg()[0]
    out["healthz"] = run(["/healthz"] * n)
    out["school_page"] = run([f"/schools/{u}/" for u in urns[:n]])
    out["search_page"] = run([f"/schools/?q={quote_plus(t)}" for t in terms[:n]])
    out["api_search"] = run([f"/api/schools?q={quote_plus(t)}" for t in terms[n : 2 * n]])
    with mock.patch("schools.finder.search_page", like_search_page):
        out["search_page_like"] = run([f"/schools/?q={quote_plus(t)}" for t in terms[2 * n : 3 * n]])
        out["api_search_like"] = run([f"/api/schools?q={quote_plus(t)}" for t in terms[3 * n : 4 * n]])
    out["loadavg_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    out["ratios"] = {
        "search_page_like_over_index_p50": round(
            out["search_page_like"]["p50_ms"] / out["search_page"]["p50_ms"], 2
        ),
        "api_search_like_over_index_p50": round(
            out["api_search_like"]["p50_ms"] / out["api_search"]["p50_ms"], 2
        ),
        "school_page_over_healthz_p50": round(out["school_page"]["p50_ms"] / out["healthz"]["p50_ms"], 1),
    }
    out["target_p50_ms"] = TARGET_MS
    out["target_met"] = {
        k: out[k]["p50_ms"] <= TARGET_MS for k in ("school_page", "search_page", "api_search")
    }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sqlite-url", default=f"sqlite:///{ROOT / 'db.sqlite3'}")
    ap.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/schoolpartners"),
    )
    ap.add_argument("--databases", default="sqlite,postgres")
    ap.add_argument("--n", type=int, default=200, help="distinct URLs per page kind")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure this database URL, print JSON
    ap.add_argument("--out", type=Path, default=RESULTS / "render.json")
    args = ap.parse_args(argv)
    if args.one:
        print("RENDER_JSON " + json.dumps(measure(args.one, args.n, args.seed)))
        return 0
    urls = {"sqlite": args.sqlite_url, "postgres": args.postgres_url}
    results: dict[str, Any] = {}
    for label in [d.strip() for d in args.databases.split(",") if d.strip()]:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", urls[label], "--n", str(args.n), "--seed", str(args.seed)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RENDER_JSON ")]
        if proc.returncode != 0 or not line:
            results[label] = {"skipped": (proc.stderr or proc.stdout).strip()[-800:]}
            print(f"{label}: skipped\n{results[label]['skipped']}")
            continue
        results[label] = json.loads(line[0][len("RENDER_JSON ") :])
    print(f"\n{'database':9} {'page':18} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, r in results.items():
        for page in (
            "healthz",
            "school_page",
            "search_page",
            "api_search",
            "search_page_like",
            "api_search_like",
        ):
            if page in r:
                p = r[page]
                print(f"{label:9} {page:18} {p['p50_ms']:8.2f} {p['p95_ms']:8.2f} {p['max_queries']:8d}")
        if "ratios" in r:
            print(f"{label:9} ratios {r['ratios']}; target p50 <= {TARGET_MS:g} ms met: {r['target_met']}")
    result = {
        "benchmark": "render",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "n": args.n,
        "baseline": "bench/baseline_search.py (pre-index LIKE search) and /healthz, same run, same process",
        "databases": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
