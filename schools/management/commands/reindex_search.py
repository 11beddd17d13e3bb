"""`schoolpartners reindex_search`: recompute the schools' search columns and rebuild the full-text index.

Migration 0004 builds the index for an existing database and the register importers keep it in step in each
import's transaction; this command repairs a database written by other means (e.g. raw SQL)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from schools import search


class Command(BaseCommand):
    help = "Recompute the schools' search columns and rebuild the full-text search index."

    def handle(self, *args: Any, **opts: Any) -> None:
        with transaction.atomic():
            changed = search.rebuild()
        self.stdout.write(f"search index rebuilt; {changed:,} schools' search text changed")
