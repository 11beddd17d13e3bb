"""Large downloads as files built once per data version, by the job worker (issue 18, row 3: one anonymous
`/schools/export.xlsx` of the whole register held a web worker for 11-12 s; ten at once timed workers out).

A view that may export many rows counts them first. Up to EXPORT_ROW_BUDGET rows it answers in the request
(`schoolpartners.exports`); beyond, `serve_large` answers from a file in EXPORT_CACHE_DIR named by the export,
its normalised parameters and the public data version (audit.version): the first request queues one build
task (a cache lock makes it one however many ask at once) and every request until the file exists gets a short
"being prepared" page (202, Retry-After, refreshing itself); once written (atomically: a temporary file renamed)
the file is served as it is, so the whole register costs one build per data version and then a file read.
New builds are limited across all clients (EXPORT_BUILD_THROTTLE), and every download per client address
(EXPENSIVE_THROTTLE, schoolpartners.ratelimit). Files of an older data version are deleted when a newer one
is written.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render

from schoolpartners import exports, ratelimit

LOCK_SECONDS = 900  # a build that died leaves its lock this long at most
PREPARING_RETRY = 5  # seconds


def export_dir() -> Path:
    return Path(getattr(settings, "EXPORT_CACHE_DIR", Path(settings.BASE_DIR) / ".cache" / "exports"))


def _tag(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def path_for(name: str, fmt: str, key: str, version: str) -> Path:
    """The file of export `name` in `fmt` for normalised parameters `key` at data version `version`."""
    if fmt not in exports.FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    return export_dir() / f"{exports.safe_base(name)}.{_tag(version)}.{_tag(key)}.{fmt}"


def write(
    path: Path, rows: Iterable[Mapping[str, Any]], spec: exports.ColumnSpec, fmt: str, sheet: str
) -> None:
    """Write the export to `path` atomically (a temporary file in the same folder, renamed), then delete the same
    export's files of other data versions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".building-", suffix=f".{fmt}")
    try:
        with os.fdopen(fd, "wb") as fh:
            if fmt == "csv":
                for line in exports.csv_lines(rows, spec):
                    fh.write(line.encode("utf-8"))
            else:
                exports.write_xlsx(fh, rows, spec, sheet=sheet)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    stem, version_tag = path.name.split(".")[0], path.name.split(".")[1]
    for old in path.parent.glob(f"{stem}.*.{fmt}"):
        if old.name.split(".")[1] != version_tag:
            old.unlink(missing_ok=True)


def file_response(path: Path, name: str, fmt: str) -> FileResponse:
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=exports.filename_for(name, fmt),
        content_type="text/csv; charset=utf-8" if fmt == "csv" else exports.XLSX_TYPE,
    )
    return response


def _lock(path: Path) -> str:
    return f"export-build:{path.name}"


def release(path: Path) -> None:
    cache.delete(_lock(path))


def serve_large(
    request: HttpRequest, *, path: Path, name: str, fmt: str, rows: int, enqueue: Callable[[], Any]
) -> HttpResponse | FileResponse:
    """The cached file at `path` if built; otherwise queue its build once (`enqueue()`) and answer 202."""
    if path.exists():
        return file_response(path, name, fmt)
    if cache.add(_lock(path), 1, LOCK_SECONDS):
        retry = ratelimit.hit("export-builds", getattr(settings, "EXPORT_BUILD_THROTTLE", ""))
        if retry is not None:
            release(path)
            return ratelimit.too_many(request, retry)
        try:
            enqueue()
        except BaseException:
            release(path)
            raise
    response = render(
        request,
        "schoolpartners/export_preparing.html",
        {"rows": rows, "fmt": fmt.upper(), "retry": PREPARING_RETRY, "url": request.get_full_path()},
        status=202,
    )
    response["Retry-After"] = str(PREPARING_RETRY)
    response["Cache-Control"] = "no-store"
    return response
