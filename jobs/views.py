"""Job pages: `/jobs/<id>/` (state and progress of one job; owner or staff, others 404), `/jobs/` (my jobs;
staff may add `?all=1` for everyone's) and `/jobs/recompute/` (staff: buttons that queue the national
recomputes as jobs, settings.STAFF_RECOMPUTES). While a job runs its page refreshes itself with
a static script (jobs/static/jobs/job-progress.js) polling `GET /api/jobs/{id}` (no `<meta refresh>`: WCAG
2.2.1; no inline script: the CSP); without script, a "Refresh now" link."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.module_loading import import_string

from schoolpartners import jobs
from schoolpartners.access import signed_in, staff_only
from schoolpartners.exports import Column, export_response

REFRESH_SECONDS = 2
LIST_LIMIT = 100

COLUMNS = [
    Column("id", "Job"),
    Column("kind", "Kind"),
    Column("title", "Title"),
    Column("owner", "Started by"),
    Column("state", "State"),
    Column("done", "Done"),
    Column("total", "Total"),
    Column("percent", "Per cent"),
    Column("attempts", "Attempts"),
    Column("message", "Message"),
    Column("created_at", "Queued at"),
    Column("finished_at", "Finished at"),
]


def _no_store(response: Any) -> Any:
    response["Cache-Control"] = "private, no-store"
    return response


@signed_in
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    job = jobs.visible_job(request.user, job_id)
    if job is None:
        raise Http404("No such job")
    response = render(
        request, "jobs/job.html", {"job": job, "refresh": None if job.finished else REFRESH_SECONDS}
    )
    return _no_store(response)


def _listed(request: HttpRequest) -> tuple[Any, bool]:
    everyone = request.GET.get("all") == "1" and bool(request.user.is_staff)
    return jobs.visible_jobs(request.user, everyone=everyone)[:LIST_LIMIT], everyone


def _row(job: jobs.Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "title": job.title,
        "owner": job.owner.get_username() if job.owner else "",
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "attempts": job.attempts,
        "message": job.message,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


@signed_in
def job_list(request: HttpRequest) -> HttpResponse:
    listed, everyone = _listed(request)
    running = any(not j.finished for j in listed)
    query = "?all=1" if everyone else ""
    return _no_store(
        render(
            request,
            "jobs/list.html",
            {
                "jobs": listed,
                "everyone": everyone,
                "refresh": REFRESH_SECONDS * 2 if running else None,
                "poll": f"/api/jobs?limit={LIST_LIMIT}" + ("&all=true" if everyone else ""),
                "signature": ",".join(f"{j.pk}:{j.state}:{j.done}" for j in listed),
                "exports": {fmt: f"/jobs.{fmt}{query}" for fmt in ("csv", "xlsx")},
            },
        )
    )


@signed_in
def job_list_export(request: HttpRequest, fmt: str) -> Any:
    listed, everyone = _listed(request)
    return _no_store(
        export_response([_row(j) for j in listed], COLUMNS, "all-jobs" if everyone else "my-jobs", fmt)
    )


@staff_only
def recompute(request: HttpRequest) -> HttpResponse:
    choices = settings.STAFF_RECOMPUTES
    if request.method == "POST":
        key = request.POST.get("recompute", "")
        if key not in choices:
            messages.error(request, "Choose one of the recomputes.")
            return redirect("jobs:recompute")
        label, path = choices[key]
        job = jobs.create(f"recompute.{key}", owner=request.user, title=label)
        jobs.enqueue(job, import_string(path))
        return redirect("jobs:job", job_id=job.pk)
    recent = jobs.visible_jobs(request.user, everyone=True).filter(kind__startswith="recompute.")[:10]
    return _no_store(
        render(
            request,
            "jobs/recompute.html",
            {"choices": [(k, label) for k, (label, _) in choices.items()], "recent": recent},
        )
    )
