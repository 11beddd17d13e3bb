"""Benchmark: what the shared cache and HTTP caching save per anonymous school page (issue 13, item 3).

Run from the repository root on a database holding the national data (after `make data`):

    .venv/bin/python -m bench.bench_http_cache [--pages 200] [--redis redis://127.0.0.1:6379/11]

Server time per request, in-process through Django's test client (no network, no client cost), over --pages
distinct school pages (`/schools/<urn>/`), in the same run:
- render: the page cache emptied before each request (what a cache miss costs);
- hit (LocMem): the same URLs again, from the per-process cache;
- hit (Redis): the same URLs, from a real Redis (its own database number, flushed first) after one warm pass;
- 304: a conditional GET with the ETag the page sent (If-None-Match): no rendering, no cache read;
- baseline: `/healthz` (the plain request path: middleware, no database).
Prints medians and p95 in ms and the ratios render / each, and writes bench/results/http_cache.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def timed(client: Any, urls: list[str], before: Any = None, **headers: Any) -> tuple[list[float], list[Any]]:
    times, responses = [], []
    for url in urls:
        if before is not None:
            before()
        t0 = time.perf_counter()
        r = client.get(url, **headers.get(url, {})) if headers else client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        responses.append(r)
    return times, responses


def summary(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {
        "median_ms": round(statistics.median(s), 3),
        "p95_ms": round(s[int(0.95 * (len(s) - 1))], 3),
        "n": len(s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "http_cache.json")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import caches
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from schools.models import School

    urns = list(School.objects.order_by("?").values_list("urn", flat=True)[: args.pages])
    if len(urns) < args.pages:
        sys.exit("needs a database with the national data (make data)")
    urls = [f"/schools/{u}/" for u in urns]
    client = Client()
    cache = caches["default"]
    client.get(urls[0])  # warm imports and connections

    results: dict[str, Any] = {}
    base, _ = timed(client, ["/healthz"] * len(urls))
    results["baseline_healthz"] = summary(base)
    render, responses = timed(client, urls, before=cache.clear)
    assert all(r.status_code == 200 and r["X-Page-Cache"] == "miss" for r in responses)
    results["render"] = summary(render)
    cache.clear()
    timed(client, urls)
    hit, responses = timed(client, urls)
    assert all(r["X-Page-Cache"] == "hit" for r in responses)
    results["hit_locmem"] = summary(hit)
    etags = {url: {"HTTP_IF_NONE_MATCH": r["ETag"]} for url, r in zip(urls, responses, strict=True)}
    not_modified, responses = timed(client, urls, **etags)
    assert all(r.status_code == 304 for r in responses)
    results["not_modified_304"] = summary(not_modified)
    redis_caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": args.redis,
            "KEY_PREFIX": "bench",
        }
    }
    with override_settings(CACHES=redis_caches):
        caches["default"].clear()
        timed(client, urls)
        hit_redis, responses = timed(client, urls)
        assert all(r["X-Page-Cache"] == "hit" for r in responses)
        results["hit_redis"] = summary(hit_redis)
        caches["default"].clear()
    r_med = results["render"]["median_ms"]
    out = {
        "pages": len(urls),
        "database": connection.vendor,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "results": results,
        "render_over_hit_locmem_ratio": round(r_med / results["hit_locmem"]["median_ms"], 1),
        "render_over_hit_redis_ratio": round(r_med / results["hit_redis"]["median_ms"], 1),
        "render_over_304_ratio": round(r_med / results["not_modified_304"]["median_ms"], 1),
        "hit_redis_over_baseline_ratio": round(
            results["hit_redis"]["median_ms"] / results["baseline_healthz"]["median_ms"], 2
        ),
        "page_max_age": settings.PAGE_MAX_AGE,
    }
    print(f"{len(urls)} school pages on {connection.vendor}; server time per request (median / p95 ms):")
    for name, s in results.items():
        print(f"  {name:18s} {s['median_ms']:8.2f} {s['p95_ms']:8.2f}")
    print(
        f"render / hit (LocMem) {out['render_over_hit_locmem_ratio']}x, render / hit (Redis) "
        f"{out['render_over_hit_redis_ratio']}x, render / 304 {out['render_over_304_ratio']}x; "
        f"Redis hit / healthz {out['hit_redis_over_baseline_ratio']}x"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
