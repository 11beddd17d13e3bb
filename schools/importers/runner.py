"""Import one file, or a whole folder in dependency order: skip-by-checksum, one transaction per file,
an ImportRun row and an audit event per imported file, and a summary per file."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from schoolpartners import decompress
from schools.importers import db
from schools.importers.kinds import IGNORED, KINDS, METADATA, Ctx, Kind, detect, guess_from_name
from schools.importers.reading import Source, StructuralError, decode, header_of, year_from_name
from schools.models import ImportRun


@dataclass
class FileResult:
    path: str
    name: str
    kind: str = ""
    status: str = "imported"  # imported | skipped | failed | ignored
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    def line(self) -> str:
        head = f"{self.name} [{self.kind or '?'}]"
        if self.status == "skipped":
            return f"{head}: already imported, skipped"
        if self.status == "ignored":
            return f"{head}: not imported ({self.error})"
        if self.status == "failed":
            return f"{head}: REFUSED, nothing written: {self.error}"
        rej = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.rejected.items())) or "none"
        return (
            f"{head}: read {self.rows_read:,}, inserted {self.inserted:,}, updated {self.updated:,}, "
            f"unchanged {self.unchanged:,}, rejected {rej} ({self.seconds:.1f} s)"
        )


def resolve_kind(src: Source, kind: str | None) -> Kind:
    if kind:
        if kind not in KINDS:
            raise StructuralError(
                src.name, None, None, kind, f"unknown --kind; choose from {', '.join(sorted(KINDS))}"
            )
        return KINDS[kind]
    header = header_of(src)
    found = detect(src, header) or guess_from_name(src.name)
    if found is None and src.name.lower().endswith(".csv"):
        decode(src)  # binary junk or an undecodable file gets its precise, located error first
    if found is None:
        raise StructuralError(
            src.name,
            1,
            None,
            ",".join(header)[:120],
            "the header matches no known file format (pass --kind to force one)",
        )
    return found


Prepared = tuple[Ctx, Callable[[], db.Counts]]


def already_imported(sha256: str) -> bool:
    return ImportRun.objects.filter(sha256=sha256, ok=True).exists()


def import_file(
    path: Path,
    *,
    kind: str | None = None,
    force: bool = False,
    year: int | None = None,
    as_of: dt.date | None = None,
    src: Source | None = None,
    prepared: Future[Prepared] | None = None,
) -> FileResult:
    t0 = time.perf_counter()
    res = FileResult(path=str(path), name=decompress.plain_name(path.name))
    try:
        src = src or Source.open(path)
        k = resolve_kind(src, kind)
        res.kind = k.name
        if not force and already_imported(src.sha256):
            res.status = "skipped"
            return res
        started = timezone.now()
        if prepared is not None:
            ctx, write = prepared.result()  # parsed in the background while the previous file was written
        else:
            ctx = Ctx(year=year, as_of=as_of, kind_label=k.label)
            write = k.prepare(src, ctx)  # reads and validates everything; touches no database
        with transaction.atomic():
            db.fast_session()
            counts = write()
            res.rows_read, res.inserted, res.updated, res.unchanged = (
                ctx.rows_read,
                counts.inserted,
                counts.updated,
                counts.unchanged,
            )
            res.rejected, res.details = dict(ctx.rejected), ctx.details
            res.seconds = time.perf_counter() - t0
            run = ImportRun.objects.create(
                kind=k.name,
                path=str(path)[:500],
                sha256=src.sha256,
                started_at=started,
                finished_at=timezone.now(),
                ok=True,
                rows_read=res.rows_read,
                inserted=res.inserted,
                updated=res.updated,
                unchanged=res.unchanged,
                rejected=res.rejected,
                details=_jsonable(res.details),
            )
            audit.record(
                "import",
                object_type="ImportRun",
                object_id=run.pk,
                data={
                    "file": src.name,
                    "kind": k.name,
                    "sha256": src.sha256,
                    "rows_read": res.rows_read,
                    "inserted": res.inserted,
                    "updated": res.updated,
                    "unchanged": res.unchanged,
                    "rejected": res.rejected,
                    "forced": force,
                },
            )
    except StructuralError as exc:
        res.status, res.error = "failed", str(exc)
    res.seconds = time.perf_counter() - t0
    return res


def import_many(
    items: list[tuple[Path, Source, Kind]],
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[FileResult]:
    """Import files in the given order, one transaction each. While one file is written, the next one is read
    and validated in a background thread (prepare() never touches the database; SQLite and psycopg release the
    GIL while the database works), so the two cores overlap parsing and writing."""
    todo = [t for t in items if force or not already_imported(t[1].sha256)]
    futures: dict[int, Future[Prepared]] = {}
    results: list[FileResult] = []

    def prep(src: Source, k: Kind) -> Prepared:
        ctx = Ctx(kind_label=k.label)
        return ctx, k.prepare(src, ctx)

    # Only with PostgreSQL: sqlite3 releases the GIL around every row's step, so a busy parsing thread would
    # convoy the writer (measured: slower overall); COPY releases it for whole chunks.
    workers = 1 if db.is_postgres() and not os.environ.get("IMPORT_NO_PIPELINE") else 0
    with ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="import-prepare") as pool:
        ids = {id(t): i for i, t in enumerate(todo)} if workers else {id(t): -1 for t in todo}
        if todo and workers:
            futures[0] = pool.submit(prep, todo[0][1], todo[0][2])
        for item in items:
            path, src, k = item
            if progress:
                progress(src.name)
            i = ids.get(id(item))
            if i is None:
                results.append(FileResult(str(path), src.name, k.name, status="skipped"))
                continue
            if i < 0:  # sequential
                results.append(import_file(path, kind=k.name, force=force, src=src))
                continue
            if i + 1 < len(todo):
                futures[i + 1] = pool.submit(prep, todo[i + 1][1], todo[i + 1][2])
            results.append(import_file(path, kind=k.name, force=force, src=src, prepared=futures.pop(i)))
    return results


def _jsonable(d: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out[k] = _jsonable(v)
        elif isinstance(v, list | tuple):
            out[k] = [x if isinstance(x, str | int | float) else str(x) for x in v]
        elif isinstance(v, str | int | float | bool) or v is None:
            out[k] = v
        else:
            out[k] = int(v) if hasattr(v, "__int__") else str(v)
    return out


DATA_EXTS = (".csv", ".json", ".xlsx", ".csv.xz", ".json.xz", ".xlsx.xz", ".csv.gz", ".json.gz")


def plan(folder: Path) -> tuple[list[tuple[Path, Source, Kind]], list[FileResult]]:
    """Files under `folder` in dependency order, plus the ones not imported and why."""
    chosen: list[tuple[Path, Source, Kind]] = []
    skipped: list[FileResult] = []
    files = sorted(folder.rglob("*"), key=lambda p: (".xlsx" in p.name.lower(), str(p)))  # workbooks last
    for p in files:
        if not p.is_file() or not p.name.lower().endswith(DATA_EXTS):
            continue
        name = decompress.plain_name(p.name)
        if IGNORED.search(name):
            continue
        if name.lower().endswith(".xlsx") and any(k.name == "spine" for _, _, k in chosen):
            # The spine workbook duplicates the spine CSV: use it only when there is no CSV.
            skipped.append(
                FileResult(str(p), name, "spine", status="ignored", error="same sheet as the spine CSV")
            )
            continue
        try:
            src = Source.open(p)
            k = resolve_kind(src, None)
        except StructuralError as exc:
            why = (
                "reference metadata, nothing to load"
                if METADATA.search(name)
                else "alternative spine format (renamed columns); the spine CSV holds the same schools"
                if "school_details" in name
                else f"no importer for this format: {exc.problem}"
            )
            skipped.append(FileResult(str(p), name, status="ignored", error=why))
            continue
        chosen.append((p, src, k))
    chosen.sort(key=lambda t: (t[2].order, year_from_name(t[1].name) or 0, t[1].name))
    return chosen, skipped
