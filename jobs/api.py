"""`GET /api/jobs/{id}`: state and progress of a background job (owner or staff; anyone else 404)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from schoolpartners import jobs
from schoolpartners.access import SIGNED_IN
from schoolpartners.apikit import operation
from schoolpartners.errors import NotFound
from schoolpartners.params import Id

router = Router(tags=["jobs"])

Limit = Annotated[int, Field(ge=1, le=100)]


class JobOut(Schema):
    id: int
    kind: str
    title: str
    state: str
    done: int
    total: int | None
    percent: int | None
    message: str
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    url: str
    page: str
    attempts: int
    max_attempts: int
    run_after: dt.datetime | None
    heartbeat_at: dt.datetime | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


def job_out(job: jobs.Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "title": job.title,
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "url": f"/api/jobs/{job.pk}",
        "page": f"/jobs/{job.pk}/",
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "run_after": job.run_after,
        "heartbeat_at": job.heartbeat_at,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


@router.get(
    "",
    **operation(
        SIGNED_IN,
        list[JobOut],
        summary="Background jobs",
        description="Your background jobs, newest first (at most `limit`). Staff may pass `all=true` for "
        "everyone's. Each has its state, progress and attempts (`attempts` of `max_attempts`: a failing job is "
        "retried with growing delays, `run_after` is when its next attempt may start).",
        who="any signed-in user (their own jobs); staff with `all=true` see every job.",
    ),
)
def list_jobs(request: HttpRequest, all: bool = False, limit: Limit = 50) -> Any:
    return [job_out(j) for j in jobs.visible_jobs(request.user, everyone=all)[:limit]]


@router.get(
    "/{job_id}",
    **operation(
        SIGNED_IN,
        JobOut,
        summary="A background job",
        description="State (`queued`, `running`, `done`, `failed`), progress (`done` of `total`; `total` "
        "is null while unknown), message, and the result or error of a background job, e.g. a large import "
        "answered 202 by POST /api/support/import. Poll until `state` is `done` or `failed`.",
        who="the user who started the job, or staff; anyone else (also anonymous callers) gets 404.",
        problems=(404,),
    ),
)
def get_job(request: HttpRequest, job_id: Id) -> Any:
    job = jobs.visible_job(request.user, job_id)
    if job is None:
        raise NotFound(f"No job {job_id}")
    return job_out(job)
