"""Background tasks of the partnerships domain (ADR 0009, issue 13).

- `recompute_trust_job`: one trust's figures after a membership change (queued by `start_trust_recompute`, e.g.
  on the commit of an approved join or leave). it runs `partnerships.services.recompute_trust`, the same
  single-trust recompute the approval itself runs (so the counts are right at once; the job re-checks them).
- `recompute_trusts_job`: every trust's figures (the staff recompute page; same as `partnerships recompute`).
Both are idempotent (the figures are recomputed from the register, not incremented) and write with their audit
event in one transaction, fenced by the job's attempt (schoolpartners.jobs.run), so each completes once.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django_tasks import task

from audit.kinds import EventKind
from audit.services import record
from partnerships import services
from partnerships.models import Partnership, TrustAggregate
from schoolpartners import jobs
from schoolpartners.types import Actor

TRUST_KIND = "partnerships.recompute_trust"
ALL_KIND = "partnerships.recompute"

_FIELDS = [f.name for f in TrustAggregate._meta.concrete_fields if f.name != "partnership"]


def recompute_trust(partnership_id: int) -> dict[str, Any]:
    """Recompute and store one trust's figures (partnerships.services.recompute_trust: mapping of new members,
    counts, pupils, Ofsted mix, both attribution rules; the other trusts' rows are left alone); audited."""
    with transaction.atomic():
        existed = TrustAggregate.objects.filter(partnership_id=partnership_id).exists()
        agg = services.recompute_trust(partnership_id)
        members = agg.members if agg is not None else 0
        outcome = "deleted" if agg is None else "updated" if existed else "inserted"
        record(
            EventKind.PARTNERSHIPS_RECOMPUTE,
            object_type="partnerships.Partnership",
            object_id=partnership_id,
            data={"trusts": 1, "members": members, "outcome": outcome},
        )
    return {"partnership": partnership_id, "members": members, "outcome": outcome}


def start_trust_recompute(partnership_id: int, actor: Actor | None = None) -> jobs.Job:
    name = Partnership.objects.filter(pk=partnership_id).values_list("name", flat=True).first() or ""
    job = jobs.create(
        TRUST_KIND,
        owner=actor,
        title=f"Figures for {name or f'trust {partnership_id}'}",
        payload=json.dumps({"partnership_id": partnership_id}).encode(),
    )
    return jobs.enqueue(job, recompute_trust_job)


def recompute_trust_on_commit(partnership_id: int, actor: Actor | None = None) -> None:
    """Queue the trust's recompute once the caller's transaction commits (nothing when it rolls back)."""
    transaction.on_commit(lambda: start_trust_recompute(partnership_id, actor))


def _trust_body(job: jobs.Job, report: jobs.Report) -> jobs.Outcome:
    pid = int(json.loads(bytes(job.payload or b"{}"))["partnership_id"])
    report(0, 1, "Recomputing the trust's figures")
    result = recompute_trust(pid)
    return result, f"Figures recomputed ({result['members']:,} members)"


@task()
def recompute_trust_job(job_id: int) -> dict[str, Any]:
    return jobs.run(job_id, _trust_body, task=recompute_trust_job)


def _all_body(job: jobs.Job, report: jobs.Report) -> jobs.Outcome:
    report(0, 2, "Mapping members to their results")
    summary = services.recompute()
    record(
        EventKind.PARTNERSHIPS_RECOMPUTE,
        actor=job.owner,
        object_type="partnerships.TrustAggregate",
        data={"trusts": summary.trusts, "members": summary.members, "seconds": summary.seconds},
    )
    return {"trusts": summary.trusts, "members": summary.members}, (
        f"Stored figures for {summary.trusts:,} trusts ({summary.members:,} members)"
    )


@task()
def recompute_trusts_job(job_id: int) -> dict[str, Any]:
    return jobs.run(job_id, _all_body, task=recompute_trusts_job)
