"""Background tasks of the support domain (ADR 0009): a large import runs in `schoolpartners db_worker`.

The uploaded file travels in the job's payload (the database), so a worker on another machine can run it. The
import is the same as in a request: checked whole, then written in one transaction; the job is marked done
inside that transaction, so a re-run (a worker killed after the commit) finds the job finished and does
nothing, and a re-run before the commit imports once. Re-importing the same file changes nothing anyway.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django_tasks import task

from schoolpartners import jobs
from schoolpartners.types import Actor
from support.importer import ImportFailed, ImportReport, import_file

KIND = "support.import"


def summary(rep: ImportReport) -> dict[str, Any]:
    return {
        "file": rep.file,
        "kind": rep.kind,
        "rows": rep.rows,
        "inserted": rep.inserted,
        "updated": rep.updated,
        "unchanged": rep.unchanged,
    }


def failure(exc: ImportFailed) -> dict[str, Any]:
    return {
        "file": exc.file,
        "row": exc.row,
        "column": exc.column,
        "value": None if exc.value is None else str(exc.value),
    }


def start_import(path: Path, actor: Actor, name: str) -> jobs.Job:
    """Queue the import of `path` (named `name`) as a background job owned by `actor`."""
    job = jobs.create(KIND, owner=actor, title=name, payload=path.read_bytes())
    return jobs.enqueue(job, import_job)


@task()
def import_job(job_id: int) -> dict[str, Any]:
    job = jobs.claim(job_id)
    if job is None:
        return {"job": job_id, "skipped": "already finished"}
    with jobs.heartbeat(job_id, job.attempts):  # the lease: a killed worker's job is queued again (jobs.reap)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"upload{Path(job.title).suffix.lower()}"
                path.write_bytes(bytes(job.payload or b""))
                rep = import_file(
                    path,
                    job.owner,
                    display_name=job.title,
                    progress=jobs.reporter(job_id),
                    on_written=lambda rep: jobs.finish(
                        job_id, summary(rep), message=f"Imported {rep.rows:,} rows"
                    ),
                )
        except ImportFailed as exc:
            jobs.fail(job_id, str(exc), **failure(exc))
            return {"job": job_id, "failed": str(exc)}
        except Exception as exc:
            # Nothing was saved (one transaction); retried with backoff up to JOB_MAX_ATTEMPTS, then failed.
            jobs.retry_or_fail(job, import_job, exc)
            raise
    return {"job": job_id, **summary(rep)}
