"""Background task of the schools domain (issue 13): one national data file uploaded by staff through the web
(`/imports/upload/`), imported by `schools.importers.runner.import_file` in a worker.

The file travels in the job's payload. The import is the command line's: kind detected from the header (or the
name), one transaction per file with its ImportRun row and audit event, and skipped when a file with the same
checksum was already imported, so a retry after a worker died, before or after the commit, imports it once.
A file the importer refuses fails the job at once (no retry), with the importer's located error.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from django_tasks import task

from schoolpartners import jobs
from schoolpartners.types import Actor
from schools.importers.runner import import_file

KIND = "schools.import"


def safe_name(name: str) -> str:
    """The uploaded file's own name (the importer reads the year and kind from it), made safe for a path."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).lstrip(".")
    return base[:150] or "upload.csv"


def start_import(data: bytes, name: str, actor: Actor) -> jobs.Job:
    job = jobs.create(KIND, owner=actor, title=safe_name(name), payload=data)
    return jobs.enqueue(job, import_job)


def _body(job: jobs.Job, report: jobs.Report) -> jobs.Outcome:
    report(0, 1, f"Reading {job.title}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe_name(job.title)
        path.write_bytes(bytes(job.payload or b""))
        res = import_file(path)
    if res.status == "failed":
        raise jobs.JobFailed(f"{res.name}: {res.error}. Nothing was saved.", file=res.name)
    result = {
        "file": res.name,
        "kind": res.kind,
        "status": res.status,
        "rows_read": res.rows_read,
        "inserted": res.inserted,
        "updated": res.updated,
        "unchanged": res.unchanged,
        "rejected": res.rejected,
    }
    if res.status == "skipped":
        return result, f"{res.name} was already imported: nothing to do"
    return result, (
        f"Imported {res.name} ({res.kind}): {res.rows_read:,} rows read, {res.inserted:,} new, "
        f"{res.updated:,} updated, {res.unchanged:,} unchanged"
    )


@task()
def import_job(job_id: int) -> dict[str, Any]:
    # Not one outer transaction: the importer commits the file in its own, and skips it by checksum next time.
    return jobs.run(job_id, _body, task=import_job, atomic=False)


@task()
def build_search_export(query: str, fmt: str, version: str) -> dict[str, Any]:
    """Write the file of a large search export (schools.views.search_export; schoolpartners.exportcache)."""
    from django.http import QueryDict

    from schoolpartners import exportcache
    from schools.forms import SearchForm
    from schools.queries import search_all
    from schools.views import search_export_key, search_export_spec

    params = SearchForm(QueryDict(query) or None).params()
    columns, fields = search_export_spec(params)
    path = exportcache.path_for("schools", fmt, search_export_key(params), version)
    try:
        if not path.exists():
            rows = search_all(params).values(*fields).iterator(chunk_size=2000)
            exportcache.write(path, rows, columns, fmt, sheet="Schools")
    finally:
        exportcache.release(path)
    return {"file": path.name, "bytes": path.stat().st_size}
