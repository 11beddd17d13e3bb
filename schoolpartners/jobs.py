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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

from jobs.models import Job, JobState
from notifications.services import notify
from schoolpartners.types import Actor, User

__all__ = [
    "Job",
    "JobState",
    "claim",
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
        kind=kind, owner=user, title=title[:200], payload=payload, total=total, message="Waiting for a worker"
    )


def enqueue(job: Job, task: Any) -> Job:
    """Queue `task(job.pk)` (a django-tasks Task) and remember its id on the job."""
    result = task.enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.task_id = str(result.id)
    return job


def claim(job_id: int) -> Job | None:
    """Mark the job running and return it, or None when it is already finished (exactly once)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.finished:
        return None
    now = timezone.now()
    Job.objects.filter(pk=job_id).update(state=JobState.RUNNING, started_at=now, message="Started")
    job.state, job.started_at = JobState.RUNNING, now
    return job


def progress(job_id: int, done: int, total: int | None = None, message: str = "") -> None:
    """Report progress from inside a task (visible at once unless called inside a transaction)."""
    Job.objects.filter(pk=job_id).update(done=done, total=total, message=message[:1000])


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
