"""Append-only audit trail (every multi-model write records one event) and the public data version.

AuditEvent is append-only, enforced twice:
- in Python: `save()` of an existing row, `delete()`, and queryset `update()`/`delete()` raise
  `AppendOnlyError` (the default manager's queryset refuses them; bulk_create is allowed).
- in the database (triggers from migration 0002, chosen by `connection.vendor`):
  - PostgreSQL: a row-level BEFORE UPDATE OR DELETE trigger raises, so raw SQL cannot rewrite or remove an
    event. TRUNCATE is deliberately not refused: it fires no row triggers, and Django's flush (the test
    teardown of TransactionTestCase / live-server tests, `manage.py flush`) truncates every table.
  - SQLite: a BEFORE UPDATE trigger raises; DELETE is refused only in Python. Django's SQLite flush empties
    tables with a plain `DELETE FROM`, which a row trigger cannot tell apart from any other delete, so a
    DELETE trigger would break every transactional test teardown. SQLite serves development and tests;
    production runs on PostgreSQL, where both are refused.
  SQLite rebuilds a table (and silently drops its triggers) when a migration alters it: a later migration that
  alters audit_auditevent must recreate the triggers (copy `TRIGGERS` from `audit/migrations/0002_audit_v2.py`);
  `audit/tests` prove raw UPDATE fails on both backends.

The actor is a snapshot (`actor_id`, `actor_username`), not a foreign key: deleting a user rewrites nothing.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models


class AppendOnlyError(RuntimeError):
    """An attempt to change or remove an audit event."""


def _refuse(what: str) -> NoReturn:
    raise AppendOnlyError(f"audit events are append-only: {what} is refused")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        _refuse("update()")

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse("delete()")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        _refuse("bulk_update()")

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        _refuse("update_or_create()")


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=60, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # the client address of the request that made the change (schoolpartners.clientaddr); NULL for commands/jobs
    client_address = models.CharField(max_length=45, null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} by {self.actor_username or 'system'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("saving an existing event")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        _refuse("delete()")


class DataVersion(models.Model):
    """One row: a counter moved on by every committed write that changes public data (audit.version).

    The whole-page cache (schoolpartners.pagecache) keys pages by it; `changed_at` keeps keys distinct when the
    counter restarts (a flushed or recreated database).
    """

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"data version {self.version}"
