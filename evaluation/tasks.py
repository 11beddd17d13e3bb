"""Background task of the evaluation domain (ADR 0009): the national evaluation run, started by staff."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from evaluation import services
from schoolpartners import jobs

KIND = "evaluation.run"


def _body(job: jobs.Job, report: jobs.Report) -> jobs.Outcome:
    report(0, 1, "Evaluating")
    rep = services.run_national(actor=job.owner)
    return {"run": rep.run.pk, "estimates": rep.estimates}, (
        f"Stored evaluation run {rep.run.pk} ({rep.estimates:,} estimates)"
    )


@task()
def run_job(job_id: int) -> dict[str, Any]:
    return jobs.run(job_id, _body, task=run_job)
