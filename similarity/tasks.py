"""Background task of the similarity domain (ADR 0009): the national recompute, started by staff
(the staff recompute page, /jobs/recompute/). Idempotent: a run of the same method replaces the previous one."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from schoolpartners import jobs
from similarity import services

KIND = "similarity.recompute"
STEPS = ("read", "compute", "write")


def _body(job: jobs.Job, report: jobs.Report) -> jobs.Outcome:
    def progress(step: str, done: int, total: int) -> None:
        report(done, total, f"{step.capitalize()}: {done:,} of {total:,}")

    rep = services.recompute(progress=progress, actor=job.owner)
    return {"run": rep.run.pk, "seconds": rep.seconds, "replaced": rep.replaced}, (
        f"Stored similarity run {rep.run.pk}"
    )


@task()
def recompute_job(job_id: int) -> dict[str, Any]:
    # Not one outer transaction: the recompute writes its run in its own transaction, and its progress
    # (visible at once) matters more than the fence for an idempotent replace.
    return jobs.run(job_id, _body, task=recompute_job, atomic=False)
