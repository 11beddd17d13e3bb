"""Tasks used only by the job tests (a real worker imports them by path, like any task).

`flaky_job` fails its first `fail_times` attempts, then succeeds; `slow_job` writes an audit event (inside the
attempt's transaction), reports progress, then on its first attempt sleeps so that a test can SIGKILL the worker
midway; a later attempt finishes at once. Both return the attempt number."""

from __future__ import annotations

import json
import time
from typing import Any

from django_tasks import task

from audit.kinds import EventKind
from audit.services import record
from schoolpartners import jobs
from schoolpartners.decompress import DecompressionLimit


def params(job: jobs.Job) -> dict[str, Any]:
    return dict(json.loads(bytes(job.payload or b"{}")))


def _flaky(job: jobs.Job, report: jobs.Report) -> jobs.Outcome:
    p = params(job)
    if p.get("bad_input"):
        raise jobs.JobFailed("This input can never work", field="x")
    if p.get("bomb"):
        raise DecompressionLimit("bomb.csv.xz", "refused as a possible decompression bomb")
    record(EventKind.PARTNERSHIPS_RECOMPUTE, object_type="jobs.test", object_id=job.pk)
    if job.attempts <= p.get("fail_times", 0):
        raise ConnectionError(f"flaky service (attempt {job.attempts})")
    return {"attempt": job.attempts}, f"Succeeded on attempt {job.attempts}"


@task()
def flaky_job(job_id: int) -> dict[str, Any]:
    return jobs.run(job_id, _flaky, task=flaky_job)


def _slow(job: jobs.Job, report: jobs.Report) -> jobs.Outcome:
    record(EventKind.PARTNERSHIPS_RECOMPUTE, object_type="jobs.test", object_id=job.pk)
    report(1, 2, f"Halfway (attempt {job.attempts})")
    if job.attempts == 1:
        time.sleep(params(job).get("sleep", 60))  # the test kills the worker here
    return {"attempt": job.attempts}, f"Finished on attempt {job.attempts}"


@task()
def slow_job(job_id: int) -> dict[str, Any]:
    return jobs.run(job_id, _slow, task=slow_job)
