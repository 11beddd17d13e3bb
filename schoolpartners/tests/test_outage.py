"""Honest when the database is down: pages answer 503 with the GOV.UK "service unavailable" page, the API answers
503 with a problem JSON body, `/readyz` fails naming the database, and `/healthz` (liveness) still answers 200.

The outage test serves the real app (gunicorn, a subprocess) against a PostgreSQL URL on a closed port."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from schoolpartners import health

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def down_server() -> Iterator[str]:
    closed = free_port()  # bound then released: nothing listens there
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed}/x",
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="schoolpartners.settings",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        LOG_LEVEL="CRITICAL",
    )
    cmd = [sys.executable, "-m", "gunicorn", "schoolpartners.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"the server exited with {proc.returncode}: {out[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_liveness_does_not_need_the_database(down_server):
    response = httpx.get(f"{down_server}/healthz", timeout=10)
    assert response.status_code == 200 and response.text == "ok\n"


def test_pages_answer_503_with_the_govuk_page(down_server):
    for url in ("/schools/", "/", "/schools/100000/"):
        response = httpx.get(f"{down_server}{url}", timeout=20)
        assert response.status_code == 503, (url, response.status_code, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        assert "Sorry, the service is unavailable" in response.text
        assert "govuk-frontend.min.css" in response.text
        assert response.headers["Retry-After"]


def test_signing_in_answers_503(down_server):
    with httpx.Client(base_url=down_server, timeout=20) as c:
        form = c.get("/accounts/login/")
        assert form.status_code == 200  # the form itself needs no database
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token
        response = c.post(
            "/accounts/login/", data={"username": "a", "password": "b", "csrfmiddlewaretoken": token.group(1)}
        )
    assert response.status_code == 503
    assert "Sorry, the service is unavailable" in response.text


def test_api_answers_503_with_a_problem_body(down_server):
    for url in ("/api/schools?q=oak", "/api/schools/100000", "/api/partnerships/trusts"):
        response = httpx.get(f"{down_server}{url}", timeout=20)
        assert response.status_code == 503, (url, response.status_code, response.text[:500])
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 503 and body["title"] == "Service unavailable"
        assert body["type"].endswith("/unavailable") and "database" in body["detail"]


def test_readyz_fails_naming_the_database(down_server):
    response = httpx.get(f"{down_server}/readyz", timeout=30)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "database" in body["failing"]
    assert body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["detail"]
    assert body["checks"]["cache"]["ok"] is True
    assert "cache" not in body["failing"]


# --- the registry, in process --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_ok_when_every_check_passes(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["status"] == "ok" and "failing" not in body
    assert {"database", "cache", "jobs"} <= set(body["checks"])  # the job queue's check (jobs app)
    assert all(r["ok"] for r in body["checks"].values())
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_registered_check_that_fails_makes_readyz_fail(client):
    def jobs() -> None:
        raise ConnectionError("worker heartbeat is 300 s old")

    real = health.CHECKS.get("jobs")
    health.register_check("jobs", jobs)
    try:
        response = client.get("/readyz")
        body = json.loads(response.content)
        assert response.status_code == 503
        assert body["failing"] == ["jobs"]
        assert body["checks"]["jobs"]["detail"] == "ConnectionError: worker heartbeat is 300 s old"
        assert body["checks"]["database"]["ok"] is True
    finally:
        health.unregister_check("jobs")
        if real is not None:
            health.register_check("jobs", real)
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_a_check_may_report_a_detail(client):
    health.register_check("queue", lambda: "3 waiting")
    try:
        body = json.loads(client.get("/readyz").content)
        assert body["checks"]["queue"] == {
            "ok": True,
            "detail": "3 waiting",
            "ms": body["checks"]["queue"]["ms"],
        }
    finally:
        health.unregister_check("queue")
