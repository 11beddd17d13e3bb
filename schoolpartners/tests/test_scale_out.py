"""Scale-out, proven (issue 13): two app servers (gunicorn, as `schoolpartners serve --no-worker` runs it) on two
loopback ports and one background worker (`schoolpartners db_worker`), all separate processes against ONE
PostgreSQL database (this test's) and ONE Redis (a database number of its own, flushed at the start).

- a session signed in on server A is valid on server B, and signing out on B ends it on A (cached_db sessions
  in the shared cache);
- a page rendered (and cached) by A is a hit on B: `X-Page-Cache: hit`, the same ETag, one page key in Redis,
  and B answers A's ETag with 304;
- a job enqueued through B is done by the worker, and A shows it done.

Runs only when DATABASE_URL is PostgreSQL (the test suite's PostgreSQL pass, as in CI) and Redis answers on
127.0.0.1:6379 (REQUIRE_REDIS=1, set by CI, turns "Redis missing" into a failure). Nothing is mocked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from schoolpartners.tests.redis_support import REDIS_HOST, REDIS_PORT, require_redis
from schoolpartners.tests.test_outage import free_port

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = int(os.environ.get("REDIS_SCALE_OUT_DB", "12"))  # this test's own Redis database, flushed first
PASSWORD = "scale-out-Password-1"


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        DATABASE_URL=_database_url(),
        REDIS_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        SECRET_KEY=os.environ["SECRET_KEY"],  # the same key on every server, as in production
        DEBUG="0",
        SERVE_WORKER="0",
        JOB_RETRY_BACKOFF_SECONDS="0",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        LOG_LEVEL="WARNING",
    )
    return env


def _wait_healthy(proc: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"the server exited with {proc.returncode}: {out[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{base} did not start")
        time.sleep(0.2)


@pytest.fixture
def cluster() -> Iterator[dict[str, Any]]:
    if connection.vendor != "postgresql":
        pytest.skip("the scale-out test runs on PostgreSQL (DATABASE_URL=postgres://...)")
    require_redis()
    import redis

    store = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    store.flushdb()
    env = _env()
    procs: list[subprocess.Popen[bytes]] = []
    bases = []
    try:
        for _ in range(2):
            port = free_port()
            cmd = [sys.executable, "-m", "schoolpartners.cli", "serve", "--no-worker", "--port", str(port)]
            procs.append(
                subprocess.Popen(
                    [*cmd, "--workers", "1"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        worker_cmd = [
            sys.executable,
            "-m",
            "schoolpartners.cli",
            "db_worker",
            "--interval",
            "0.2",
            "--no-reload",
        ]
        procs.append(subprocess.Popen(worker_cmd, cwd=ROOT, env=env))
        for proc, base in zip(procs, bases, strict=False):
            _wait_healthy(proc, base)
        yield {"a": bases[0], "b": bases[1], "redis": store, "worker": procs[2]}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        store.flushdb()


def _sign_in(client: httpx.Client, base: str, username: str) -> None:
    page = client.get(f"{base}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    r = client.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
    )
    assert r.status_code == 302 and "sessionid" in client.cookies, r.text[:500]


def _csrf(client: httpx.Client, url: str) -> str:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(url).text)
    assert token
    return token.group(1)


def test_two_app_servers_and_a_worker_share_sessions_pages_and_jobs(cluster: dict[str, Any]) -> None:
    a, b, store = cluster["a"], cluster["b"], cluster["redis"]
    staff: Any = UserFactory(username="ops", is_staff=True)
    staff.set_password(PASSWORD)
    staff.save()

    # A page rendered by A is a hit on B (the shared Redis page cache), with the same validators.
    anonymous = httpx.Client(timeout=30)
    first = anonymous.get(f"{a}/schools/")
    assert first.status_code == 200 and first.headers["X-Page-Cache"] == "miss"
    page_keys = store.keys("*page:v1:*")
    assert len(page_keys) == 1  # one key, in the shared Redis
    second = anonymous.get(f"{b}/schools/")
    assert second.headers["X-Page-Cache"] == "hit" and second.text == first.text
    assert second.headers["ETag"] == first.headers["ETag"] and "public" in second.headers["Cache-Control"]
    assert store.keys("*page:v1:*") == page_keys
    assert anonymous.get(f"{b}/schools/", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304

    # A session signed in on A is valid on B (same cookie jar: one site behind one load balancer).
    browser = httpx.Client(timeout=30)
    _sign_in(browser, a, "ops")
    session = browser.cookies["sessionid"]
    assert store.keys(f"*django.contrib.sessions.cached_db{session}")  # the session lives in the shared cache
    r = browser.get(f"{b}/notifications/")
    assert r.status_code == 200 and "private" in r.headers["Cache-Control"]

    # A job enqueued through B is done by the worker; A shows it done.
    r = browser.post(
        f"{b}/jobs/recompute/",
        data={"recompute": "brokerage", "csrfmiddlewaretoken": _csrf(browser, f"{b}/jobs/recompute/")},
    )
    assert r.status_code == 302 and re.fullmatch(r"/jobs/\d+/", r.headers["Location"]), r.text[:300]
    job_url = r.headers["Location"]
    api_url = "/api" + job_url.rstrip("/").replace("/jobs/", "/jobs/")
    deadline = time.monotonic() + 90
    while (body := browser.get(f"{a}{api_url}").json())["state"] != "done":
        assert body["state"] in ("queued", "running"), body
        assert cluster["worker"].poll() is None, "the worker exited"
        assert time.monotonic() < deadline, f"the worker never finished the job: {body}"
        time.sleep(0.3)
    assert body["attempts"] == 1 and body["message"].startswith("Derived needs and offers")
    assert 'id="job-done"' in browser.get(f"{a}{job_url}").text

    # The public write (brokerage derive) moved the data version on: both servers miss the old page now.
    assert anonymous.get(f"{a}/schools/").headers["X-Page-Cache"] == "miss"
    assert anonymous.get(f"{b}/schools/").headers["X-Page-Cache"] == "hit"

    # Signing out on B ends the session on A too.
    r = browser.post(
        f"{b}/accounts/logout/", data={"csrfmiddlewaretoken": _csrf(browser, f"{b}/accounts/logout/")}
    )
    assert r.status_code in (200, 302)
    browser.cookies.set("sessionid", session)  # even a kept copy of the cookie is no longer valid
    r = browser.get(f"{a}/notifications/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/accounts/login/")
