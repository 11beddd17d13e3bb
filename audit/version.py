"""The public data version: one row (audit.DataVersion, pk 1) read by the whole-page cache.

`record()` of a public event kind calls `bump_on_commit()`: the counter moves when (and only if) the
transaction commits, so a rolled-back write never invalidates cached pages, and a private write (marking
notifications read) never does either.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audit.models import DataVersion

ROW = 1


def bump() -> None:
    """Move the version on now (one UPDATE; the row is created when missing, e.g. after a flush)."""
    now = timezone.now()
    if DataVersion.objects.filter(pk=ROW).update(version=F("version") + 1, changed_at=now):
        return
    DataVersion.objects.bulk_create([DataVersion(pk=ROW, version=1, changed_at=now)], ignore_conflicts=True)


def bump_on_commit() -> None:
    transaction.on_commit(bump)


def current() -> str:
    """'<version>:<changed_at>' in one primary-key query ('0:' before the first public write)."""
    return stamp()[0]


def stamp() -> tuple[str, dt.datetime | None]:
    """(current(), the time of the last public write as an aware datetime or None) in one primary-key query."""
    table = DataVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version, changed_at FROM {table} WHERE id = %s", [ROW])
        row = cursor.fetchone()
    if not row:
        return "0:", None
    changed = row[1]
    if isinstance(changed, str):  # SQLite returns text for a raw query
        changed = dt.datetime.fromisoformat(changed)
    if changed is not None and timezone.is_naive(changed):
        changed = changed.replace(tzinfo=dt.UTC)
    return f"{row[0]}:{row[1] or ''}", changed
