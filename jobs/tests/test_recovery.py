"""Retries, recovery and exactly-once (issue 13, ADR 0009), with a real worker (`db_worker`), never a mock:

- a failing job is retried with a bounded count and exponential backoff; its page and API show the attempts;
- bad input (`JobFailed`) fails at once; a job failing every attempt fails after `max_attempts`;
- a job whose worker was killed with SIGKILL midway is queued again by the next worker to start (its lease ran
  out) and completes exactly once: one audit event, one done state, the killed attempt's writes rolled back;
- the claim and the finish are fenced on the attempt: an attempt that was taken over cannot finish.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from jobs.models import Job, JobState
from jobs.tests.tasks import flaky_job, slow_job
from schoolpartners import jobs

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def keep_signals() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


@pytest.fixture(autouse=True)
def fast_retries(settings: Any) -> None:
    settings.JOB_RETRY_BACKOFF_SECONDS = 0


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", "--no-reload", verbosity=0)


def start(task: Any, owner: Any = None, **payload: Any) -> Job:
    job = jobs.create("test.job", owner=owner, title="A test job", payload=json.dumps(payload).encode())
    return jobs.enqueue(job, task)


def effects(job: Job) -> int:
    return AuditEvent.objects.filter(object_type="jobs.test", object_id=str(job.pk)).count()


def test_a_failing_job_is_retried_then_succeeds_once(client: Client) -> None:
    owner: Any = UserFactory(username="owner")
    job = start(flaky_job, owner, fail_times=2)
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.attempts, job.max_attempts) == (JobState.DONE, 3, 3)
    assert job.result == {"attempt": 3} and job.error is None
    assert effects(job) == 1  # the failed attempts' writes rolled back with them
    statuses = sorted(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == ["FAILED", "FAILED", "SUCCESSFUL"]
    client.force_login(owner)
    body = client.get(f"/api/jobs/{job.pk}").json()
    assert (body["attempts"], body["max_attempts"], body["state"]) == (3, 3, "done")
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "3 of at most 3 (2 retries)" in html


def test_a_job_failing_every_attempt_fails_after_the_bound() -> None:
    job = start(flaky_job, fail_times=99)
    run_worker()
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.attempts == 3
    assert job.message.startswith("Failed after 3 attempt(s): ConnectionError: flaky service (attempt 3)")
    assert DBTaskResult.objects.filter(status="FAILED").count() == 3
    assert effects(job) == 0


def test_bad_input_fails_at_once_without_retrying() -> None:
    job = start(flaky_job, bad_input=True)
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert job.error == {"detail": "This input can never work", "field": "x"}
    assert DBTaskResult.objects.count() == 1


def test_retries_back_off_exponentially(settings: Any) -> None:
    settings.JOB_RETRY_BACKOFF_SECONDS = 10
    assert [jobs.backoff(a) for a in (1, 2, 3, 4)] == [10, 20, 40, 80]
    job = start(flaky_job, fail_times=1)
    before = timezone.now()
    run_worker()  # attempt 1 fails; attempt 2 waits 10 s, so the batch worker stops
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.QUEUED, 1)
    assert job.run_after is not None and 9 <= (job.run_after - before).total_seconds() <= 12
    assert "Attempt 1 of 3 failed (ConnectionError); retrying in 10 s" == job.message
    waiting = DBTaskResult.objects.get(status="READY")
    assert waiting.run_after == job.run_after and str(waiting.pk) == job.task_id
    DBTaskResult.objects.filter(pk=waiting.pk).update(run_after=timezone.now())  # time passes
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DONE, 2)


def test_a_claim_is_won_once_and_a_taken_over_attempt_cannot_finish() -> None:
    job = start(slow_job)
    first = jobs.claim(job.pk)
    assert first is not None and first.attempts == 1
    assert jobs.claim(job.pk) is None  # running: nobody else may start it
    # The reaper takes the attempt over (no heartbeat for the lease), a second worker starts attempt 2...
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    assert jobs.reap() == [job.pk]
    second = jobs.claim(job.pk)
    assert second is not None and second.attempts == 2
    # ...so attempt 1, still alive after all, cannot mark the job done: its transaction rolls back.
    with pytest.raises(jobs.JobLost), transaction.atomic():
        jobs._finish_attempt(job.pk, 1, {"attempt": 1}, "late")
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.RUNNING, 2)


def test_the_reaper_leaves_live_jobs_alone_and_fails_exhausted_ones(settings: Any) -> None:
    live, dead = start(slow_job), start(slow_job)
    for j in (live, dead):
        jobs.claim(j.pk)
    old = timezone.now() - dt.timedelta(seconds=settings.JOB_LEASE_SECONDS + 5)
    Job.objects.filter(pk=dead.pk).update(heartbeat_at=old, attempts=3)  # its last attempt died
    assert jobs.reap() == []
    live.refresh_from_db()
    dead.refresh_from_db()
    assert live.state == JobState.RUNNING
    assert dead.state == JobState.FAILED and dead.message == "The worker stopped during attempt 3 of 3."


# --- a real worker process, killed midway -------------------------------------------------------------------
def _database_for_subprocess(tmp_path: Path) -> str:
    """A DATABASE_URL a worker process can open: the test database itself on PostgreSQL; on SQLite (an in-memory
    test database) a file copy of it, made now (so create the rows first)."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    path = tmp_path / "worker.sqlite3"
    with sqlite3.connect(path) as dest:
        connection.ensure_connection()
        connection.connection.backup(dest)  # type: ignore[union-attr]
    return f"sqlite:///{path}"


class Rows:
    """Read rows through the same database the worker writes (the file copy on SQLite)."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.removeprefix("sqlite:///") if url.startswith("sqlite:") else None

    def one(self, sql: str, *params: Any) -> tuple[Any, ...]:
        if self.sqlite:
            with sqlite3.connect(self.sqlite, timeout=30) as db:
                return tuple(db.execute(sql.replace("%s", "?"), params).fetchone())
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return tuple(cursor.fetchone())


def _worker(url: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=url, JOB_LEASE_SECONDS="1", JOB_RETRY_BACKOFF_SECONDS="0")
    env.pop("DEBUG", None)
    cmd = [sys.executable, "-m", "schoolpartners.cli", "db_worker", "--no-startup-delay", "--no-reload"]
    return subprocess.Popen([*cmd, "--interval", "0.2", *extra], cwd=ROOT, env=env)


@pytest.mark.parametrize("recovery", ["restart", "standby"])
def test_a_job_whose_worker_is_killed_midway_completes_exactly_once(tmp_path: Path, recovery: str) -> None:
    """restart: a worker started after the kill re-queues the job as it starts (and runs it, --batch);
    standby: a second worker, idle all along, re-queues it from its periodic reaper and runs it."""
    job = start(slow_job, sleep=120)
    url = _database_for_subprocess(tmp_path)
    rows = Rows(url)
    state_sql = "SELECT state, attempts, done FROM jobs_job WHERE id = %s"
    worker = _worker(url)
    standby = None
    try:
        deadline = time.monotonic() + 60
        while rows.one(state_sql, job.pk)[0] != "running":
            assert time.monotonic() < deadline, "the worker never started the job"
            assert worker.poll() is None, "the worker exited"
            time.sleep(0.1)
        if connection.vendor == "postgresql":
            # progress written by the heartbeat thread is visible while the attempt's transaction is open
            while rows.one(state_sql, job.pk)[2] != 1:
                assert time.monotonic() < deadline, "no progress seen while the job ran"
                time.sleep(0.1)
        else:
            time.sleep(1.0)  # well inside the body's 120 s sleep
        if recovery == "standby":
            standby = _worker(url)
            time.sleep(1.0)  # started, idle: the only task is running in the first worker
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert rows.one(state_sql, job.pk)[:2] == (
            "running",
            1,
        )  # killed: still "running", nobody finishing it
        audit_sql = "SELECT COUNT(*) FROM audit_auditevent WHERE object_type = 'jobs.test' AND object_id = %s"
        assert rows.one(audit_sql, str(job.pk)) == (0,)  # the killed attempt's write was rolled back
        if standby is None:
            time.sleep(1.5)  # the lease (1 s) runs out
            restarted = _worker(url, "--batch")
            assert restarted.wait(timeout=120) == 0
        else:
            deadline = time.monotonic() + 60
            while rows.one(state_sql, job.pk)[0] != "done":
                assert time.monotonic() < deadline, "the standby worker never took the job over"
                assert standby.poll() is None, "the standby worker exited"
                time.sleep(0.2)
    finally:
        for proc in (worker, standby):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    assert rows.one(state_sql, job.pk) == ("done", 2, 2)  # finished: done = total
    assert (
        rows.one("SELECT result, message FROM jobs_job WHERE id = %s", job.pk)[1] == "Finished on attempt 2"
    )
    assert rows.one(audit_sql, str(job.pk)) == (1,)  # exactly once
    statuses = rows.one(
        "SELECT SUM(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'SUCCESSFUL' THEN 1 ELSE 0 END), COUNT(*) FROM " + DBTaskResult._meta.db_table
    )
    assert tuple(int(x) for x in statuses) == (
        1,
        1,
        2,
    )  # the killed attempt's task marked failed, one success
