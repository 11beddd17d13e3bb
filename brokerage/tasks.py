"""Background tasks of the brokerage domain (ADR 0009, issue 13).

- `matching_job`: a national or what-if matching for a region, run as the broker who started it (their role is
  checked again in the worker). The run's rows and the job's `done` state commit in one transaction fenced by
  the attempt, so a worker killed midway leaves no half run behind and the retry stores exactly one.
- `derive_job`: derive needs and offers from the register (staff recompute page).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django_tasks import task

from brokerage import services
from schoolpartners import jobs
from schoolpartners.types import Actor

MATCHING_KIND = "brokerage.matching"
DERIVE_KIND = "brokerage.derive"


def start_matching(user: Actor, region: str, options: dict[str, Any]) -> jobs.Job:
    what_if = any(options.get(k) for k in ("max_radius", "extra_capacity", "exclude_offers")) or (
        "national" in options and not options["national"]
    )
    what = "What-if matching" if what_if else "National matching" if options.get("national") else "Matching"
    job = jobs.create(
        MATCHING_KIND,
        owner=user,
        title=f"{what}: {region}",
        payload=json.dumps({"region": region, "options": options}, cls=DjangoJSONEncoder).encode(),
    )
    return jobs.enqueue(job, matching_job)


def _matching_body(job: jobs.Job, report: jobs.Report) -> jobs.Outcome:
    data = json.loads(bytes(job.payload or b"{}"))
    if job.owner is None:
        raise jobs.JobFailed("The broker who started this matching no longer exists.")
    report(0, 1, f"Solving {data['region']}")
    try:
        run = services.run_matching(job.owner, data["region"], data.get("options") or {})
    except (PermissionDenied, ValidationError) as exc:
        raise jobs.JobFailed(str(exc)) from exc
    summary = run.summary or {}
    return {
        "run": run.pk,
        "page": f"/brokerage/runs/{run.pk}/",
        **{k: summary.get(k) for k in ("needs", "served", "unserved")},
    }, f"Matching {run.pk}: {summary.get('served', 0):,} of {summary.get('needs', 0):,} needs matched"


@task()
def matching_job(job_id: int) -> dict[str, Any]:
    return jobs.run(job_id, _matching_body, task=matching_job)


def _derive_body(job: jobs.Job, report: jobs.Report) -> jobs.Outcome:
    report(0, 1, "Deriving needs and offers from the register")
    counts = services.derive_from_register(job.owner)
    return dict(counts), "Derived needs and offers: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())


@task()
def derive_job(job_id: int) -> dict[str, Any]:
    return jobs.run(job_id, _derive_body, task=derive_job)
