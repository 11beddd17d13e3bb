"""`schoolpartners import`: load files of the DfE/GIAS/Ofsted data pack (or newer files of the same formats).

    schoolpartners import --all [--source bundle|pack|DIR] [--force]
    schoolpartners import FILE [FILE ...] [--kind KIND] [--year 2019] [--as-of 2024-06-17] [--force]

Each file is validated completely before anything is written, then written in one transaction (all or
nothing). A file already imported with the same sha256 is skipped unless --force.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError, connection
from tqdm import tqdm

from schools.importers.kinds import KINDS
from schools.importers.runner import FileResult, import_file, import_many, plan


@contextmanager
def deferred_checkpoint() -> Iterator[None]:
    """SQLite (WAL): checkpoint once after all files instead of after every file's commit (pages rewritten by
    several files are then copied back to the database file once)."""
    if (
        connection.vendor != "sqlite"
        or connection.in_atomic_block
        or getattr(connection, "is_in_memory_db", lambda: True)()
    ):
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("PRAGMA wal_autocheckpoint = 1000")
            try:
                cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except OperationalError:  # a reader holds the WAL: SQLite checkpoints later by itself
                pass


class Command(BaseCommand):
    help = "Import data pack files (school register, census, results, Ofsted, links, coordinates, MATs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", help="files to import (.csv, .json, .xlsx, optionally .xz)")
        parser.add_argument(
            "--all", action="store_true", help="import every file of --source in dependency order"
        )
        parser.add_argument(
            "--source", default="", help="bundle | pack | a folder (default: pack if present, else bundle)"
        )
        parser.add_argument(
            "--kind", choices=sorted(KINDS), help="force the file kind instead of detecting it"
        )
        parser.add_argument(
            "--force", action="store_true", help="re-import files already imported with the same sha256"
        )
        parser.add_argument(
            "--year", type=int, help="academic year end (2019 = 2018/19) when the file name does not say"
        )
        parser.add_argument(
            "--as-of", dest="as_of", type=dt.date.fromisoformat, help="date of a register/coordinates file"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["all"] == bool(opts["files"]):
            raise CommandError("give either --all or one or more FILEs")
        results: list[FileResult] = []
        with deferred_checkpoint():
            self._run(results, opts)
        self.stdout.write("Summary:")
        self._report(results)

    def _run(self, results: list[FileResult], opts: dict[str, Any]) -> None:
        if opts["all"]:
            folder = self._source(opts["source"])
            chosen, ignored = plan(folder)
            self.stderr.write(f"Importing {len(chosen)} files from {folder}")
            with tqdm(total=len(chosen), file=sys.stderr, unit="file", dynamic_ncols=True) as bar:

                def progress(name: str) -> None:
                    if bar.n or bar.desc:
                        bar.update(1)
                    bar.set_description(name[:40])

                results.extend(import_many(chosen, force=opts["force"], progress=progress))
                bar.update(len(chosen) - bar.n)
            results.extend(ignored)
        else:
            bar = tqdm([Path(f) for f in opts["files"]], file=sys.stderr, unit="file", dynamic_ncols=True)
            for path in bar:
                if not path.exists():
                    raise CommandError(f"{path}: no such file")
                bar.set_description(path.name[:40])
                results.append(
                    import_file(
                        path, kind=opts["kind"], force=opts["force"], year=opts["year"], as_of=opts["as_of"]
                    )
                )

    def _report(self, results: list[FileResult]) -> None:
        for r in results:
            self.stdout.write(("  " if r.status != "failed" else "! ") + r.line())
        done = [r for r in results if r.status == "imported"]
        self.stdout.write(
            f"Total: {len(done)} imported, {sum(r.status == 'skipped' for r in results)} skipped, "
            f"{sum(r.status == 'failed' for r in results)} refused; rows read {sum(r.rows_read for r in done):,}, "
            f"inserted {sum(r.inserted for r in done):,}, updated {sum(r.updated for r in done):,}, "
            f"unchanged {sum(r.unchanged for r in done):,}; {sum(r.seconds for r in results):.1f} s"
        )
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise CommandError(f"{len(failed)} file(s) refused: " + "; ".join(r.error for r in failed))

    def _source(self, source: str) -> Path:
        if source in ("", "pack"):
            pack = Path(settings.SCHOOLPARTNERS_DATA)
            if pack.is_dir() and any(pack.iterdir()):
                return pack
            if source == "pack":
                raise CommandError(f"data pack not found at {pack}")
            source = "bundle"
        if source == "bundle":
            return Path(settings.BUNDLE_DIR)
        folder = Path(source)
        if not folder.is_dir():
            raise CommandError(f"{folder}: not a folder")
        return folder
