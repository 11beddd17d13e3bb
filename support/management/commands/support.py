"""`schoolpartners support import FILE [FILE ...]`: bulk import of support activities, converter pledges or
survey responses (CSV or XLSX; columns in docs/support-import.md). Each file is checked completely before
anything is written and written in one transaction; a re-import changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from support.importer import ImportFailed, import_file


class Command(BaseCommand):
    help = "Support ledger: import activities, pledges or survey responses from CSV/XLSX."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import}")
        imp = sub.add_parser("import", help="import CSV/XLSX files (all-or-nothing per file)")
        imp.add_argument("files", nargs="+")

    def handle(self, *args: Any, **opts: Any) -> None:
        for f in opts["files"]:
            try:
                rep = import_file(f)
            except ImportFailed as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{rep.file}: {rep.kind}, {rep.rows} rows: {rep.inserted} inserted, "
                f"{rep.updated} updated, {rep.unchanged} unchanged"
            )
