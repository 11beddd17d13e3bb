"""20 parallel anonymous exports of the whole register against the app as `make run` serves it (issue 18, row 3:
ten parallel `/schools/export.xlsx` gave gunicorn worker timeouts, 500s and a cheap API probe failing 10 of 40
times): no 5xx, and `/api/schools?q=` answers every request meanwhile. The register here has 1,500 schools with
EXPORT_ROW_BUDGET=500, so its export takes the same path as the national one (a file built once by the job
worker). The time of the probe (p95) is measured by bench/bench_exports.py, never asserted here."""

from __future__ import annotations

import csv
import io
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from schoolpartners.tests.journeys.conftest import _postgres_database, _wait_until_up
from schoolpartners.tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
SCHOOLS = 1500
SEED = f"""
import django
django.setup()
from schools import search
from schools.models import School
School.objects.bulk_create(
    School(urn=500000 + i, name=f"Oak Academy {{i}}", town="Leeds", la_name="Leeds", region_name="Yorkshire",
           phase="primary", status="open", establishment_type="Academy converter")
    for i in range({SCHOOLS})
)
search.rebuild()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("exportload")
    drop = None
    base_url = os.environ.get("DATABASE_URL", "")
    if base_url.startswith(("postgres://", "postgresql://")):
        database_url, drop = _postgres_database(base_url, f"{base_url.rsplit('/', 1)[-1]}_exportload")
    else:
        database_url = f"sqlite:///{tmp / 'db.sqlite3'}"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "EXPORT_ROW_BUDGET": "500",
        "EXPORT_CACHE_DIR": str(tmp / "exports"),
        "EXPENSIVE_THROTTLE": "100/min",
        "CACHE_KEY_PREFIX": f"exportload-{secrets.token_hex(4)}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DEBUG", None)
    for argv in (
        [sys.executable, "-m", "schoolpartners.cli", "migrate", "--noinput", "-v", "0"],
        [sys.executable, "-c", SEED],
    ):
        done = subprocess.run(
            argv,
            env={**env, "DJANGO_SETTINGS_MODULE": "schoolpartners.settings"},
            cwd=ROOT,
            capture_output=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "schoolpartners.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, log)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if drop is not None:
            drop()


def test_twenty_parallel_exports_no_5xx_and_the_cheap_endpoint_keeps_answering(server: str) -> None:
    probes: list[int | str] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=server, timeout=30) as c:
            while not stop.is_set() or len(probes) < 20:
                try:
                    probes.append(c.get("/api/schools?q=").status_code)
                except httpx.HTTPError as exc:
                    probes.append(type(exc).__name__)
                time.sleep(0.05)

    def export(i: int) -> int:
        with httpx.Client(base_url=server, timeout=60) as c:
            return c.get(f"/schools/export.{('csv', 'xlsx')[i % 2]}").status_code

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(export, range(20)))
    finally:
        stop.set()
        prober.join(timeout=120)
    assert all(s < 500 for s in statuses), statuses
    assert set(statuses) <= {200, 202}, statuses
    assert probes and all(p == 200 for p in probes), probes
    # the two files are built once each by the worker, then served whole
    deadline = time.monotonic() + 120
    bodies: dict[str, bytes] = {}
    with httpx.Client(base_url=server, timeout=60) as c:
        while len(bodies) < 2 and time.monotonic() < deadline:
            for fmt in ("csv", "xlsx"):
                r = c.get(f"/schools/export.{fmt}")
                assert r.status_code in (200, 202), r.status_code
                if r.status_code == 200:
                    bodies[fmt] = r.content
            time.sleep(0.5)
    assert set(bodies) == {"csv", "xlsx"}, "the worker did not build the files"
    rows = list(csv.reader(io.StringIO(bodies["csv"].decode("utf-8-sig"))))
    assert len(rows) == SCHOOLS + 1 and rows[1][2].startswith("Oak Academy")
    assert bodies["xlsx"][:2] == b"PK"
