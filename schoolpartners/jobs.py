"""Background jobs: the one API the domains use (ADR 0009).

The queue is django-tasks with its database backend (`django_tasks_db`): a task is a function decorated with
`django_tasks.task` and run by `schoolpartners db_worker`. A `jobs.models.Job` is the progress record people
see (page `/jobs/<id>/`, API `GET /api/jobs/{id}`, owner or staff only).

    job = jobs.create("support.import", owner=user, title="acts.csv", payload=data)
    jobs.enqueue(job, my_task)                  # my_task(job_id) runs in the worker
    ...inside the task:
    job = jobs.claim(job_id)                    # None when already finished: a re-run does nothing
    jobs.progress(job_id, done=1000, total=None, message="Checking rows")
    jobs.finish(job_id, result={...})           # or jobs.fail(job_id, detail, **members)

`jobs_ready()` is the job queue's readiness check (for `/readyz`).

Retries and recovery (issue 13, ADR 0009): most tasks are one line around `run()`:

    @task()
    def my_task(job_id: int) -> dict:
        return jobs.run(job_id, body, task=my_task)   # body(job, report) -> (result dict, message)

`run` claims the job (one conditional UPDATE from `queued`: two workers never run the same attempt), keeps a
heartbeat while the body runs, runs the body and marks the job done in ONE transaction, fenced on the attempt
number (a worker whose attempt was taken over rolls back instead of finishing), and on an unexpected exception
queues the job again with exponential backoff until `max_attempts`, then fails it. `JobFailed` fails at once
(bad input: retrying cannot help). A worker killed midway leaves the job `running` with a stale heartbeat:
`reap()` (run by every `schoolpartners db_worker` as it starts) queues it again, so it completes exactly once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from jobs.models import Job, JobState
from notifications.services import notify
from schoolpartners.decompress import DecompressionLimit
from schoolpartners.types import Actor, User

log = logging.getLogger(__name__)

__all__ = [
    "Job",
    "JobFailed",
    "JobState",
    "claim",
    "heartbeat",
    "reap",
    "retry_or_fail",
    "run",
    "visible_jobs",
    "create",
    "enqueue",
    "fail",
    "finish",
    "jobs_ready",
    "progress",
    "reporter",
    "visible_job",
]


def create(
    kind: str, *, owner: Actor | None, title: str = "", payload: bytes | None = None, total: int | None = None
) -> Job:
    user = owner if isinstance(owner, User) else None
    return Job.objects.create(
        kind=kind,
        owner=user,
        title=title[:200],
        payload=payload,
        total=total,
        message="Waiting for a worker",
        max_attempts=max(1, settings.JOB_MAX_ATTEMPTS),
    )


def enqueue(job: Job, task: Any, run_after: dt.datetime | None = None) -> Job:
    """Queue `task(job.pk)` (a django-tasks Task) and remember its id on the job."""
    if run_after is not None:
        task = task.using(run_after=run_after)
    result = task.enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.task_id = str(result.id)
    return job


def claim(job_id: int) -> Job | None:
    """Start the job's next attempt and return it, or None when it is not queued (finished, or running in
    another worker): one conditional UPDATE, so only one worker wins an attempt."""
    now = timezone.now()
    won = Job.objects.filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.RUNNING,
        started_at=now,
        heartbeat_at=now,
        run_after=None,
        attempts=F("attempts") + 1,
        message="Started",
    )
    if not won:
        return None
    return Job.objects.get(pk=job_id)


class JobFailed(Exception):
    """Raised by a job body for a failure that retrying cannot mend (bad input); `members` go to job.error."""

    def __init__(self, detail: str, **members: Any) -> None:
        super().__init__(detail)
        self.members = members


class JobLost(Exception):
    """This worker's attempt was taken over (it was presumed dead): its work is rolled back."""


Outcome = tuple[dict[str, Any], str]
Report = Callable[[int, int | None, str], None]
Body = Callable[[Job, Report], Outcome]


def run(job_id: int, body: Body, *, task: Any, atomic: bool = True) -> dict[str, Any]:
    """Run one attempt of a job (see the module docstring). Returns the task's return value."""
    job = claim(job_id)
    if job is None:
        return {"job": job_id, "skipped": "not queued (finished, or running elsewhere)"}
    attempt = job.attempts
    with heartbeat(job_id, attempt) as report:
        try:
            if atomic:
                with transaction.atomic():
                    result, message = body(job, report)
                    _finish_attempt(job_id, attempt, result, message, getattr(report, "last", {}))
            else:
                result, message = body(job, report)
                _finish_attempt(job_id, attempt, result, message, getattr(report, "last", {}))
        except JobLost:
            return {"job": job_id, "lost": attempt}
        except JobFailed as exc:
            fail(job_id, str(exc), **exc.members)
            return {"job": job_id, "failed": str(exc)}
        except DecompressionLimit as exc:  # input over a cap: running it again would only blow up again
            fail(job_id, str(exc), file=exc.name)
            return {"job": job_id, "failed": str(exc)}
        except Exception as exc:
            retry_or_fail(job, task, exc)
            raise
    return {"job": job_id, **result}


def _finish_attempt(
    job_id: int, attempt: int, result: dict[str, Any], message: str, reached: dict[str, Any] | None = None
) -> None:
    """Mark the attempt done (a finished job with a known total is at 100%); JobLost when taken over."""
    reached = reached or {}
    counts = {}
    if reached.get("total"):
        counts = {"done": reached["total"], "total": reached["total"]}
    elif "done" in reached:
        counts = {"done": reached["done"]}
    done = Job.objects.filter(pk=job_id, state=JobState.RUNNING, attempts=attempt).update(
        **counts,
        state=JobState.DONE,
        result=result,
        message=message[:1000],
        finished_at=timezone.now(),
        payload=None,
        error=None,
    )
    if not done:
        raise JobLost(f"job {job_id} attempt {attempt} was taken over")


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: JOB_RETRY_BACKOFF_SECONDS doubled per failed attempt (max 1 h)."""
    return float(min(3600.0, settings.JOB_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempt - 1)))


def retry_or_fail(job: Job, task: Any, exc: BaseException) -> bool:
    """After attempt `job.attempts` failed with `exc`: queue the next attempt after a backoff (True), or fail
    the job when it has had `max_attempts` (False)."""
    attempt, bound = job.attempts, job.max_attempts
    detail = f"{exc.__class__.__name__}: {exc}"[:500]
    if attempt >= bound:
        fail(job.pk, f"Failed after {attempt} attempt(s): {detail}", attempts=attempt)
        return False
    delay = backoff(attempt)
    when = timezone.now() + dt.timedelta(seconds=delay)
    queued = Job.objects.filter(pk=job.pk, state=JobState.RUNNING, attempts=attempt).update(
        state=JobState.QUEUED,
        run_after=when,
        heartbeat_at=None,
        error={"detail": detail, "attempt": attempt},
        message=f"Attempt {attempt} of {bound} failed ({exc.__class__.__name__}); retrying in {delay:g} s",
    )
    if queued:
        enqueue(job, task, run_after=when)
    return True


@contextmanager
def heartbeat(job_id: int, attempt: int) -> Iterator[Report]:
    """Keep the running attempt's lease: a thread with its own database connection refreshes `heartbeat_at`
    every JOB_LEASE_SECONDS / 4 and writes the progress reported through the yielded `report(done, total,
    message)` at once. Being outside the body's transaction, both are visible while the body's transaction is
    open (on PostgreSQL; SQLite has one writer at a time, so there they wait for the body's commit)."""
    stop, wake = threading.Event(), threading.Event()
    interval = max(0.2, settings.JOB_LEASE_SECONDS / 4)
    latest: dict[str, Any] = {}
    lock = threading.Lock()

    def report(done: int, total: int | None, message: str) -> None:
        with lock:
            latest.update(done=done, total=total, message=message[:1000])
            last.update(done=done, total=total)
        wake.set()

    last: dict[str, Any] = {}
    report.last = last  # type: ignore[attr-defined]  # what the job reached, for its finish

    def beat() -> None:
        try:
            while not stop.is_set():
                wake.wait(interval)
                wake.clear()
                with lock:
                    fields = dict(latest)
                    latest.clear()
                try:
                    Job.objects.filter(pk=job_id, state=JobState.RUNNING, attempts=attempt).update(
                        heartbeat_at=timezone.now(), **fields
                    )
                except DatabaseError as exc:  # e.g. SQLite busy: try again next beat
                    log.info("job %s heartbeat skipped: %s", job_id, exc)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield report
    finally:
        stop.set()
        wake.set()
        thread.join(timeout=35)


def reap(now: dt.datetime | None = None) -> list[int]:
    """Queue again every job whose attempt is `running` without a heartbeat for JOB_LEASE_SECONDS (its worker
    was killed): its task result is marked failed and the same task is enqueued for the job, or the job fails
    when it has had `max_attempts`. Returns the ids queued again. Run by `schoolpartners db_worker` at start."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.JOB_LEASE_SECONDS)
    stale = Job.objects.filter(state=JobState.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    queued: list[int] = []
    for job in stale.defer("payload"):
        old = DBTaskResult.objects.filter(pk=job.task_id).first() if job.task_id else None
        if old is not None and old.status == "RUNNING":
            DBTaskResult.objects.filter(pk=old.pk, status="RUNNING").update(
                status="FAILED",
                finished_at=now,
                exception_class_path="schoolpartners.jobs.WorkerLost",
                traceback=f"The worker running job {job.pk} stopped (no heartbeat since {job.heartbeat_at}).",
            )
        if old is None or job.attempts >= job.max_attempts:
            Job.objects.filter(pk=job.pk, state=JobState.RUNNING, attempts=job.attempts).update(
                state=JobState.FAILED,
                message=f"The worker stopped during attempt {job.attempts} of {job.max_attempts}.",
                error={"detail": "worker stopped", "attempts": job.attempts},
                finished_at=now,
                payload=None,
            )
            continue
        taken = Job.objects.filter(pk=job.pk, state=JobState.RUNNING, attempts=job.attempts).update(
            state=JobState.QUEUED,
            heartbeat_at=None,
            message=f"The worker stopped during attempt {job.attempts}; queued again",
        )
        if taken:
            enqueue(job, import_string(old.task_path))
            queued.append(job.pk)
    if queued:
        log.warning("re-queued %d job(s) whose worker stopped: %s", len(queued), queued)
    return queued


def progress(job_id: int, done: int, total: int | None = None, message: str = "") -> None:
    """Report progress from inside a task (visible at once unless called inside a transaction)."""
    Job.objects.filter(pk=job_id).update(
        done=done, total=total, message=message[:1000], heartbeat_at=timezone.now()
    )


def reporter(job_id: int) -> Callable[[int, int | None, str], None]:
    """A `progress(done, total, message)` callback bound to one job."""

    def report(done: int, total: int | None, message: str) -> None:
        progress(job_id, done, total, message)

    return report


def _tell_owner(job_id: int, outcome: str) -> None:
    """The person who started a job learns that it finished (in-app and by email, after commit)."""
    job = Job.objects.select_related("owner").defer("payload").filter(pk=job_id).first()
    if job is None or job.owner is None:
        return
    what = f"“{job.title}”" if job.title else f"job {job.pk}"
    noun = "import" if "import" in job.kind else "job"
    notify([job.owner], f"Your {noun} {what} {outcome}", f"/jobs/{job.pk}/")


def finish(job_id: int, result: dict[str, Any], message: str = "Done") -> None:
    Job.objects.filter(pk=job_id).update(
        state=JobState.DONE, result=result, message=message, finished_at=timezone.now(), payload=None
    )
    _tell_owner(job_id, f"finished: {message}.")


def fail(job_id: int, detail: str, **members: Any) -> None:
    Job.objects.filter(pk=job_id).update(
        state=JobState.FAILED,
        error={"detail": detail, **members},
        message=detail[:1000],
        finished_at=timezone.now(),
        payload=None,
    )
    _tell_owner(job_id, f"failed and nothing was saved: {detail[:300]}")


def visible_job(user: Actor, job_id: int) -> Job | None:
    """The job if `user` owns it or is staff; None otherwise (callers answer 404, not 403: no oracle)."""
    if not getattr(user, "is_authenticated", False):
        return None
    qs = Job.objects.defer("payload").filter(pk=job_id)
    if not (user.is_active and user.is_staff):
        qs = qs.filter(owner_id=user.pk)
    return qs.first()


def visible_jobs(user: Actor, everyone: bool = False) -> Any:
    """The jobs `user` may see, newest first: their own, or every job for staff asking for `everyone`."""
    qs = Job.objects.defer("payload").select_related("owner")
    if not getattr(user, "is_authenticated", False):
        return qs.none()  # never the jobs without an owner (system jobs) to anonymous callers
    if everyone and getattr(user, "is_staff", False) and user.is_active:
        return qs
    return qs.filter(owner_id=getattr(user, "pk", None))


def jobs_ready() -> tuple[bool, str]:
    """Readiness of the job queue: the task table and the job table answer a query.

    Returns (ok, detail). A worker is not required to be running (`make run` may start one later); the detail
    says how many tasks are waiting so an operator can see a stalled queue.
    """
    try:
        from django_tasks_db.models import DBTaskResult

        waiting = DBTaskResult.objects.ready().count()
        Job.objects.exists()
    except DatabaseError as exc:
        return False, f"job queue unreachable: {exc.__class__.__name__}"
    return True, f"{waiting} task(s) waiting"
