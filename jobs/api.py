"""`GET /api/jobs/{id}`: state and progress of a background job (owner or staff; anyone else 404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from schoolpartners import jobs
from schoolpartners.access import SIGNED_IN
from schoolpartners.apikit import operation
from schoolpartners.errors import NotFound
from schoolpartners.params import Id

router = Router(tags=["jobs"])


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
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


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
