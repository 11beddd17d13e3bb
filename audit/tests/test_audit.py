"""Audit v2: typed kinds, actor snapshot, append-only (model and database), transaction required, and the
public data version used by the whole-page cache."""

from __future__ import annotations

import ast
import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import version
from audit.kinds import PUBLIC, EventKind
from audit.models import AppendOnlyError, AuditEvent
from audit.services import record
from schoolpartners.pagecache import data_version

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _event(kind: EventKind | str = EventKind.IMPORT, **kw: object) -> AuditEvent:
    with transaction.atomic():
        return record(kind, **kw)  # type: ignore[arg-type]


def test_record_accepts_members_and_registered_strings_and_refuses_unknown_kinds():
    assert _event(EventKind.SIMILARITY_RECOMPUTE).action == "similarity.recompute"
    assert _event("notifications.read").action == "notifications.read"
    with pytest.raises(ValueError, match="unknown audit event kind"), transaction.atomic():
        record("similarity.recomputed")
    assert EventKind.IMPORT.public and not EventKind.NOTIFICATIONS_READ.public
    assert PUBLIC <= set(EventKind)


def test_every_literal_kind_in_the_code_is_registered():
    """Callers that pass a string (partnerships/services.py, brokerage, similarity...) use registered kinds."""
    found: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if "node_modules" in path.parts or ".venv" in path.parts or "tests" in path.parts:
            continue
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(call, ast.Call)
                and getattr(call.func, "id", getattr(call.func, "attr", "")) == "record"
                and call.args
            ):
                arg = call.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
                elif isinstance(arg, ast.JoinedStr):  # f"partnerships.{kind}.registered": check the shape
                    pattern = "".join(
                        re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z_]+(?:\\.[a-z_]+)*"
                        for v in arg.values
                    )
                    assert any(re.fullmatch(pattern, k) for k in EventKind), pattern
    assert "import" in found and "notifications.read" in found
    assert found <= {k.value for k in EventKind}, found - {k.value for k in EventKind}


def test_record_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        record(EventKind.IMPORT)
    assert not AuditEvent.objects.exists()


def test_the_actor_is_a_snapshot_and_deleting_the_user_rewrites_nothing():
    user = get_user_model().objects.create_user("auditor", password=None)
    event = _event(EventKind.NOTIFICATIONS_READ, actor=user)
    assert (event.actor_id, event.actor_username) == (user.pk, "auditor")
    system = _event(EventKind.IMPORT)
    assert (system.actor_id, system.actor_username) == (None, "")
    pk = user.pk
    user.delete()  # no foreign key: no SET NULL, and the database triggers would refuse one
    event.refresh_from_db()
    assert (event.actor_id, event.actor_username) == (pk, "auditor")


def test_the_model_refuses_update_and_delete():
    event = _event()
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get().action == "import"


def test_the_database_refuses_raw_update():
    event = _event()
    table = AuditEvent._meta.db_table
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET action = %s WHERE id = %s", ["changed", event.pk])
    assert AuditEvent.objects.get().action == "import"


def test_the_database_refuses_raw_delete_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's flush deletes rows with DELETE: only PostgreSQL refuses it (audit.models)")
    event = _event()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_transactional_tests_still_flush_the_audit_table():
    """A TransactionTestCase-style test writes events; its teardown (flush: TRUNCATE on PostgreSQL, DELETE on
    SQLite) must still empty the table, which the next test checks."""
    _event()
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_table_is_empty_after_a_transactional_test():
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_record_refuses_autocommit_for_real():
    with pytest.raises(RuntimeError):
        record(EventKind.IMPORT)


@pytest.mark.django_db(transaction=True)
def test_public_kinds_move_the_data_version_on_commit_only():
    before = data_version()
    _event(EventKind.NOTIFICATIONS_READ)  # private: cached public pages stay
    assert data_version() == before
    with transaction.atomic():
        record(EventKind.IMPORT)
        assert data_version() == before  # not before the commit
    after_import = data_version()
    assert after_import != before
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        record(EventKind.SIMILARITY_RECOMPUTE)
        raise ZeroDivisionError  # rolled back: no event, no new version
    assert data_version() == after_import
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["import", "notifications.read"]


def test_data_version_is_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        data_version()


def test_data_version_row_is_recreated_when_missing():
    from audit.models import DataVersion

    DataVersion.objects.all().delete()
    assert version.current() == "0:"
    version.bump()
    version.bump()
    assert version.current().startswith("2:")


@pytest.mark.django_db(transaction=True)
def test_partnerships_commands_record_one_event_each():
    call_command("partnerships", "map-members", "--json", stdout=StringIO())
    call_command("partnerships", "recompute", "--json", stdout=StringIO())
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["partnerships.map_members", "partnerships.recompute"]
    assert AuditEvent.objects.get(action="partnerships.recompute").data["trusts"] == 0


def test_pagecache_imports_only_the_kernel():
    tree = ast.parse((ROOT / "schoolpartners" / "pagecache.py").read_text(encoding="utf-8"))
    modules = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0
    } | {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    domains = {"schools", "partnerships", "similarity", "brokerage", "support", "evaluation"}
    assert not modules & domains, modules & domains
