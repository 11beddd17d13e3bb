"""The job page `/jobs/<id>/`: state and progress of one background job (owner or staff; others get 404).
While the job runs the page refreshes itself with `<meta http-equiv="refresh">` (no script: the CSP forbids
inline script)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from schoolpartners import jobs
from schoolpartners.access import signed_in

REFRESH_SECONDS = 2


@signed_in
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    job = jobs.visible_job(request.user, job_id)
    if job is None:
        raise Http404("No such job")
    response = render(
        request, "jobs/job.html", {"job": job, "refresh": None if job.finished else REFRESH_SECONDS}
    )
    response["Cache-Control"] = "private, no-store"
    return response
