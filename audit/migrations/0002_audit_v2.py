"""Audit v2: the actor as a snapshot (id, username) instead of a foreign key, append-only triggers, and the
public data version row.

The snapshot is copied from the existing foreign key before it is dropped; the triggers come last (SQLite
rebuilds the table for the field changes, which would drop earlier triggers). See audit.models for why SQLite
refuses only UPDATE in the database and PostgreSQL refuses UPDATE and DELETE.
"""

from typing import Any

from django.db import migrations, models

MESSAGE = "audit events are append-only"

TRIGGERS = {
    "postgresql": (
        [
            f"""CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = '{MESSAGE}: ' || TG_OP || ' refused';
            END; $$ LANGUAGE plpgsql""",
            """CREATE TRIGGER audit_auditevent_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
            FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only()""",
        ],
        [
            "DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent",
            "DROP FUNCTION IF EXISTS audit_auditevent_append_only()",
        ],
    ),
    "sqlite": (
        [
            f"""CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END""",
        ],
        ["DROP TRIGGER IF EXISTS audit_auditevent_no_update"],
    ),
}


def _run(schema_editor: Any, forwards: bool) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in TRIGGERS:
        return
    create, drop = TRIGGERS[vendor]
    for sql in create if forwards else drop:
        schema_editor.execute(sql)


def create_triggers(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, True)


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, False)


def snapshot_actors(apps: Any, schema_editor: Any) -> None:
    AuditEvent = apps.get_model("audit", "AuditEvent")
    User = apps.get_model("auth", "User")
    names = dict(User.objects.values_list("pk", "username"))
    for actor in AuditEvent.objects.filter(actor__isnull=False).values_list("actor", flat=True).distinct():
        AuditEvent.objects.filter(actor=actor).update(actor_ref=actor, actor_username=names.get(actor, ""))


def restore_actors(apps: Any, schema_editor: Any) -> None:
    AuditEvent = apps.get_model("audit", "AuditEvent")
    User = apps.get_model("auth", "User")
    existing = set(User.objects.values_list("pk", flat=True))
    for ref in AuditEvent.objects.filter(actor_ref__isnull=False).values_list("actor_ref", flat=True).distinct():
        if ref in existing:
            AuditEvent.objects.filter(actor_ref=ref).update(actor=ref)


def create_version_row(apps: Any, schema_editor: Any) -> None:
    apps.get_model("audit", "DataVersion").objects.get_or_create(pk=1, defaults={"version": 0})


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="actor_ref",
            field=models.BigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="actor_username",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.RunPython(snapshot_actors, restore_actors),
        migrations.RemoveField(model_name="auditevent", name="actor"),
        migrations.RenameField(model_name="auditevent", old_name="actor_ref", new_name="actor_id"),
        migrations.CreateModel(
            name="DataVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.BigIntegerField(default=0)),
                ("changed_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.RunPython(create_version_row, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
